using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

public sealed partial class WorkPlan
{
    /// <summary>
    /// The plan of <see cref="BuildPerSerial"/>, tier for tier and in the same order, with the listed issued serials looked
    /// up shard by shard: a counting sort of their entry numbers by index shard, so each shard is searched while it is in
    /// cache rather than one random shard a serial (at 10M serials that lookup was most of a nothing-to-do run). A serial
    /// is made only for work; revoked and kept statuses are found once each, not looked up per serial. The few statuses
    /// not from the list (revoked serials not listed, kept ones) go through the per-serial lookup, numbered after the list.
    /// </summary>
    private static WorkPlan BuildByShard(DecidedStatuses statuses, SerialExpiryMap issued, IndexEntries entries, DateTimeOffset now,
        Func<ReadOnlySpan<byte>, IndexEntry, DateTimeOffset> refreshDue)
    {
        var (order, starts) = ByShard(statuses, issued, entries);
        var notGood = statuses.ListedNotGood();
        bool[]? isNotGood = null;
        if (notGood.Count > 0)
        {
            isNotGood = new bool[issued.Count];
            foreach (int entry in notGood.Keys) isNotGood[entry] = true;
        }

        var work = new Work(now, refreshDue);
        for (int k = 0; k < entries.ShardCount; k++)
        {
            for (int i = starts[k]; i < starts[k + 1]; i++)
            {
                int number = order[i];
                var bytes = issued.BytesAt(number);
                var status = isNotGood is not null && isNotGood[number] ? notGood[number] : CertStatus.Good;
                bool known = entries.TryGetValue(k, bytes, out var entry);
                work.Add(number, bytes, null, status, known, entry);
            }
        }
        int next = issued.Count;
        foreach (var (serial, status) in statuses.Unlisted())
        {
            bool known = entries.TryGetValue(serial, out var entry);
            work.Add(next++, serial.Bytes, serial, status, known, entry);
        }
        return work.ToPlan(issued);
    }

    /// <summary>
    /// The listed entries' numbers grouped by shard, ascending within each: shard k's are <c>order[starts[k]..starts[k + 1]]</c>.
    /// Each serial's shard is hashed twice (count, then place) rather than kept: an int a serial is 40 MB at 10M serials.
    /// </summary>
    private static (int[] Order, int[] Starts) ByShard(DecidedStatuses statuses, SerialExpiryMap issued, IndexEntries entries)
    {
        var starts = new int[entries.ShardCount + 1];
        for (int entry = 0; entry < issued.Count; entry++)
            if (statuses.Listed(entry)) starts[entries.ShardOf(issued.BytesAt(entry)) + 1]++;
        for (int k = 0; k < entries.ShardCount; k++) starts[k + 1] += starts[k];
        var order = new int[starts[^1]];
        var next = starts[..^1];
        for (int entry = 0; entry < issued.Count; entry++)
            if (statuses.Listed(entry)) order[next[entries.ShardOf(issued.BytesAt(entry))]++] = entry;
        return (order, starts);
    }

    /// <summary>The tiers as they fill: each member numbered by its place in the statuses' order, sorted by it at the end.</summary>
    private sealed class Work(DateTimeOffset now, Func<ReadOnlySpan<byte>, IndexEntry, DateTimeOffset> refreshDue)
    {
        private readonly List<Member> _revocations = [];
        private readonly List<Member> _issued = [];
        private readonly List<Member> _other = [];
        private readonly List<(Member Member, DateTimeOffset Due)> _due = [];
        private int _unchanged, _known;

        /// <summary>One status, as <see cref="BuildPerSerial"/> sorts it; <paramref name="serial"/> is null for a listed entry.</summary>
        public void Add(int number, ReadOnlySpan<byte> bytes, SerialNumber? serial, CertStatus status, bool known, in IndexEntry entry)
        {
            if (known) _known++;
            if (!known || !entry.SameStatus(status))
            {
                var member = new Member(number, serial, status);
                if (status.Kind == CertStatusKind.Revoked) _revocations.Add(member);
                else if (!known) _issued.Add(member);
                else _other.Add(member);
                return;
            }
            var at = refreshDue(bytes, entry);
            if (at <= now) _due.Add((new Member(number, serial, status), at));
            else _unchanged++;
        }

        public WorkPlan ToPlan(SerialExpiryMap issued)
        {
            _revocations.Sort(ByNumber);
            _issued.Sort((a, b) => b.Number.CompareTo(a.Number)); // newest first: see WorkTier.NewSerials
            _other.Sort(ByNumber);
            _due.Sort((a, b) => a.Due != b.Due ? a.Due.CompareTo(b.Due) : ByNumber(a.Member, b.Member));
            return new WorkPlan([Tier(_revocations, issued), Tier(_issued, issued), Tier(_other, issued), Tier(_due.Select(d => d.Member), issued)],
                _unchanged, _known);
        }

        private static int ByNumber(Member a, Member b) => a.Number.CompareTo(b.Number);

        private static (SerialNumber, CertStatus)[] Tier(IEnumerable<Member> members, SerialExpiryMap issued) =>
            [.. members.Select(m => (m.Serial ?? issued.SerialAt(m.Number), m.Status))];
    }

    /// <summary>A status in a tier: <see cref="Number"/> is its issued entry, or past the list's end for one not listed.</summary>
    private readonly record struct Member(int Number, SerialNumber? Serial, CertStatus Status);
}
