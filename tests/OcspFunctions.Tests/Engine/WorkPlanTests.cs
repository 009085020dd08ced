using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

/// <summary>The run's order of work: revocations, new serials, other changes, then due re-signing earliest due first.</summary>
public sealed class WorkPlanTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static SerialNumber Serial(int n) => SerialNumber.ParseHex($"{n:X4}");

    private static IndexEntry Entry(CertStatus status, long thisUpdate) => new(status.Kind,
        status.Kind == CertStatusKind.Revoked ? status.RevocationTime.ToUnixTimeSeconds() : -1, status.Reason, thisUpdate, thisUpdate + 86400, "p", 0, 1);

    [Fact]
    public void Work_is_sorted_into_tiers_and_due_work_earliest_first()
    {
        var revokedAt = new DateTimeOffset(2026, 1, 2, 0, 0, 0, TimeSpan.Zero);
        var good = CertStatus.Good;
        var revoked = CertStatus.Revoked(revokedAt, RevocationReason.KeyCompromise);
        var statuses = new Dictionary<SerialNumber, CertStatus>
        {
            [Serial(1)] = good,                                                     // new
            [Serial(2)] = revoked,                                                  // new and revoked
            [Serial(3)] = revoked,                                                  // was good: now revoked
            [Serial(4)] = good,                                                     // was on hold: lifted
            [Serial(5)] = good,                                                     // due (later)
            [Serial(6)] = good,                                                     // due (earlier)
            [Serial(7)] = good,                                                     // not due
            [Serial(8)] = CertStatus.Revoked(revokedAt, RevocationReason.Superseded), // reason changed
        };
        var index = new IssuerIndex(new Dictionary<SerialNumber, IndexEntry>
        {
            [Serial(3)] = Entry(good, 100),
            [Serial(4)] = Entry(CertStatus.Revoked(revokedAt, RevocationReason.CertificateHold), 100),
            [Serial(5)] = Entry(good, 500),
            [Serial(6)] = Entry(good, 200),
            [Serial(7)] = Entry(good, 900),
            [Serial(8)] = Entry(revoked, 100),
        });
        // Due at thisUpdate seconds (a stand-in for the timing policy); 900 is in the future.
        var now = DateTimeOffset.FromUnixTimeSeconds(800);
        var plan = WorkPlan.Build(statuses, index, now, (_, e) => DateTimeOffset.FromUnixTimeSeconds(e.ThisUpdate));

        Assert.Equal([Serial(2), Serial(3), Serial(8)], plan.Tier(WorkTier.Revocations).Select(w => w.Serial).Order());
        Assert.Equal([Serial(1)], plan.Tier(WorkTier.NewSerials).Select(w => w.Serial));
        Assert.Equal([Serial(4)], plan.Tier(WorkTier.OtherChanges).Select(w => w.Serial));
        Assert.Equal([Serial(6), Serial(5)], plan.Tier(WorkTier.Due).Select(w => w.Serial));
        Assert.Equal(1, plan.Unchanged);
        Assert.Equal(6, plan.Known); // 3 to 8 have entries: the index's six, so nothing is withdrawn
        Assert.Equal(5, plan.Changed);
        Assert.Equal(7, plan.Total);
        Assert.Equal(WorkTier.Due, WorkPlan.Order[^1]);
        Assert.Equal(WorkTier.Revocations, WorkPlan.Order[0]);
    }

    /// <summary>
    /// A certificate issued during a bulk load's backlog is signed at the next run, not after the backlog: lists are in
    /// issuance order (certutil by RequestID, index.txt appended), so new serials are signed from the list's end.
    /// </summary>
    [Fact]
    public void New_serials_are_signed_newest_listed_first()
    {
        var list = string.Join("\n", Enumerable.Range(1, 5).Select(n => $"{n:X4}")) + "\n";
        var issued = IssuedSerialsParser.Parse(System.Text.Encoding.UTF8.GetBytes(list), IssuedSerialsFormat.Text, "issued.txt");
        var statuses = new StatusDecision().Decide(issued, Now, TimeSpan.Zero);
        var index = new IssuerIndex(new Dictionary<SerialNumber, IndexEntry> { [Serial(2)] = Entry(CertStatus.Good, Now.ToUnixTimeSeconds()) });

        var plan = WorkPlan.Build(statuses, index, Now, (_, e) => DateTimeOffset.FromUnixTimeSeconds(e.ThisUpdate).AddDays(1));

        Assert.Equal([Serial(5), Serial(4), Serial(3), Serial(1)], plan.Tier(WorkTier.NewSerials).Select(w => w.Serial));
    }

    /// <summary>
    /// The shard-grouped plan (decided statuses over an issued list) is the per-serial plan, tier for tier and in order:
    /// random lists (serials of 1 to 21 bytes, some expired past the grace, revoked ones — holds, no reason, not listed —
    /// and kept statuses) against random indexes of 1, 4 and 64 shards with equal, changed, missing, extra and thisUpdate 0
    /// entries, some shards with an overlay of later sets and removals. The due times tie often (ties keep list order).
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 2)]
    [InlineData(64, 3)]
    [InlineData(64, 4)]
    [InlineData(4, 5)]
    public void The_shard_grouped_plan_is_the_per_serial_plan(int shardCount, int seed)
    {
        var random = new Random(seed);
        var grace = TimeSpan.FromDays(7);
        var revokedAt = Now.AddDays(-30);
        CertStatus RandomRevoked() => CertStatus.Revoked(revokedAt.AddSeconds(random.Next(3)),
            random.Next(4) switch { 0 => null, 1 => RevocationReason.CertificateHold, 2 => RevocationReason.KeyCompromise, _ => RevocationReason.Superseded });
        SerialNumber RandomSerial()
        {
            var bytes = new byte[random.Next(1, 22)];
            random.NextBytes(bytes);
            return SerialNumber.FromMagnitude(bytes);
        }

        var issued = new IssuedSerials();
        var listed = new List<SerialNumber>();
        while (listed.Count < 3000)
        {
            var serial = RandomSerial();
            DateTimeOffset? expiry = random.Next(5) switch { 0 => null, 1 => Now - grace - TimeSpan.FromDays(1), 2 => Now - grace + TimeSpan.FromHours(1), _ => Now.AddDays(90) };
            if (issued.Serials.TryAdd(serial, expiry)) listed.Add(serial);
        }
        var decision = new StatusDecision();
        var unlisted = Enumerable.Range(0, 60).Select(_ => RandomSerial()).Where(s => !issued.Serials.ContainsKey(s)).Distinct().ToList();
        decision.AddRevocations([.. listed.Where(_ => random.Next(10) == 0).Concat(unlisted).Select(s => RandomRevocation(s))]);
        var statuses = decision.Decide(issued, Now, grace);
        // Kept statuses (as StickyRevocations keeps them): over listed, expired, unlisted-revoked and unknown serials.
        foreach (var serial in listed.Where(_ => random.Next(50) == 0).Concat(unlisted.Take(10)).Concat(Enumerable.Range(0, 10).Select(_ => RandomSerial())))
            statuses.Keep(serial, random.Next(3) == 0 ? CertStatus.Good : RandomRevoked());

        // The index: per status an equal entry (due or not, or thisUpdate 0), a changed one, or none; and extra entries.
        long now = Now.ToUnixTimeSeconds();
        IndexEntry RandomEntry(CertStatus status) => Entry(status, random.Next(6) == 0 ? 0 : now - random.Next(4) * 1000);
        var entries = new Dictionary<SerialNumber, IndexEntry>();
        foreach (var (serial, status) in statuses)
        {
            switch (random.Next(8))
            {
                case 0: break;
                case 1: entries[serial] = RandomEntry(status.Kind == CertStatusKind.Good ? RandomRevoked() : CertStatus.Good); break;
                default: entries[serial] = RandomEntry(status); break;
            }
        }
        for (int i = 0; i < 200; i++) entries.TryAdd(RandomSerial(), RandomEntry(RandomRevoked()));
        var shards = Enumerable.Range(0, shardCount)
            .Select(k => IndexShard.FromEntries(entries.Where(e => IndexShards.ShardOf(e.Key, shardCount) == k))).ToArray();
        var index = new IssuerIndex(new IndexEntries(shards));
        // Overlays on a quarter of the shards (all of them with one shard): entries set, changed and removed since the load.
        var overlaid = Enumerable.Range(0, shardCount).Where(k => shardCount == 1 || k % 4 == 1).ToHashSet();
        foreach (var (serial, status) in statuses)
        {
            if (!overlaid.Contains(IndexShards.ShardOf(serial, shardCount)) || random.Next(4) != 0) continue;
            if (random.Next(2) == 0) index.Entries.Remove(serial);
            else index.Entries[serial] = RandomEntry(random.Next(2) == 0 ? status : RandomRevoked());
        }

        // Due at thisUpdate plus a little by the serial's bytes: ties are frequent.
        Func<ReadOnlySpan<byte>, IndexEntry, DateTimeOffset> due = (serial, e) =>
            DateTimeOffset.FromUnixTimeSeconds(e.ThisUpdate + TimingPolicy.SerialHash(serial) % 3 * 1000 + 1000);
        var sharded = WorkPlan.Build(statuses, index, Now, due);
        var perSerial = WorkPlan.BuildPerSerial(statuses, index, Now, due);
        var fromDictionary = WorkPlan.Build(new Dictionary<SerialNumber, CertStatus>(statuses), index, Now, due);

        foreach (var tier in WorkPlan.Order)
        {
            Assert.NotEmpty(perSerial.Tier(tier));
            Assert.Equal(perSerial.Tier(tier), sharded.Tier(tier));
            Assert.Equal(perSerial.Tier(tier), fromDictionary.Tier(tier));
        }
        Assert.True(perSerial.Unchanged > 0);
        Assert.Equal(perSerial.Unchanged, sharded.Unchanged);
        Assert.Equal(perSerial.Known, sharded.Known);
        Assert.Equal(perSerial.Unchanged, fromDictionary.Unchanged);
        Assert.Equal(perSerial.Known, fromDictionary.Known);
        Assert.Equal(statuses.Count, perSerial.Total + perSerial.Unchanged);
        // Some due serials tie: the order among them is the list's, in both.
        var dueTimes = perSerial.Tier(WorkTier.Due).Select(w => index.Entries[w.Serial].ThisUpdate + TimingPolicy.SerialHash(w.Serial.Bytes) % 3 * 1000).ToList();
        Assert.True(dueTimes.Distinct().Count() < dueTimes.Count);

        Revocation RandomRevocation(SerialNumber serial)
        {
            var status = RandomRevoked();
            return new Revocation(serial, status.RevocationTime, status.Reason);
        }
    }

    [Fact]
    public void The_budget_is_spent_on_the_injected_clock()
    {
        var clock = new ManualTime(Now);
        var budget = new RunBudget(clock, TimeSpan.FromMinutes(4));
        clock.Advance(TimeSpan.FromMinutes(4) - TimeSpan.FromTicks(1));
        Assert.False(budget.Exhausted);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.True(budget.Exhausted);
    }

    [Fact]
    public void Capacity_is_serials_times_algorithms_per_refresh_after_against_the_rate_for_the_run_share_of_the_interval()
    {
        var timing = new TimingOptions { Validity = TimeSpan.FromDays(4), MaxRunTime = TimeSpan.FromMinutes(4) };
        var capacity = new SigningCapacity(timing, TimeSpan.FromMinutes(5));
        // 1,000,000 serials × 2 every 2 days = 11.57/s; 200/s for 4 of 5 minutes = 160/s.
        Assert.True(capacity.Check(1_000_000, 2, null, 200)!.Value.Fits);
        // 20,000,000 × 2 / 2 days = 231/s > 160/s.
        Assert.False(capacity.Check(20_000_000, 2, null, 200)!.Value.Fits);
        // A measured rate wins over the declared one.
        Assert.False(capacity.Check(1_000_000, 2, 10, 200)!.Value.Fits);
        Assert.Null(capacity.Check(1_000_000, 2, null, null));
        Assert.Equal(12.5, capacity.TimeToClear(1000, 2, 200)!.Value.TotalSeconds, 6);
        Assert.Null(capacity.TimeToClear(1000, 2, null));
        Assert.Equal(TimeSpan.Zero, capacity.TimeToClear(0, 2, null));
    }
}
