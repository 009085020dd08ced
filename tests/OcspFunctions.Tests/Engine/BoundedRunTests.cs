using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;
using OcspResponder.Cli;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// Timing:MaxRunTime, the order of the work (revocations, new serials, other changes, then re-signing) and its publication,
/// the backlog, the capacity check and a lost lease. Time is a <see cref="ManualTime"/> that the signer advances, so
/// a run's budget is spent by signatures, never by the test machine's speed.
/// </summary>
[Collection("pki")]
public sealed class BoundedRunTests(TestPki pki)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    /// <summary>Past RefreshAfter (12 h of the 1-day validity): every response is due.</summary>
    private static readonly TimeSpan AllDue = TimeSpan.FromHours(13);

    private RefreshSetup Create(string hint, out List<string> serials, TestCa? ca = null)
    {
        var s = RefreshSetup.Create(pki, hint, ca);
        serials = BoundedRuns.WriteSerialList(s, 40);
        s.Options.SigningConcurrency = 1; // one signature at a time: the order is exact
        return s;
    }

    /// <summary>Everything signed and published at the clock's time (a signer that takes no time).</summary>
    private static async Task PublishAllAsync(RefreshSetup s, ManualTime clock)
    {
        var report = await BoundedRuns.Engine(s, s.Store, new ClockedSignerFactory(clock, TimeSpan.Zero), clock).RunAsync(None);
        Assert.True(report.Succeeded, string.Join("; ", report.Issuers.SelectMany(i => i.Errors)));
        Assert.All(report.Issuers, i => Assert.Equal(0, i.Backlog));
    }

    private static SingleResponse Single(StoredResponse? stored) => OcspResponse.Decode(Assert.IsType<StoredResponse>(stored).Der).Basic!.Responses.Single();

    private static string LocalRevocation(RefreshSetup s, string serial, int issuer = 0)
    {
        string path = Path.Combine(s.Ca.Directory, $"local-{issuer}.txt");
        File.WriteAllText(path, $"{serial} 2026-01-02T03:04:05Z keyCompromise\n");
        s.Options.Issuers[issuer].LocalRevocations = path;
        return path;
    }

    [Fact]
    public async Task A_run_stops_cleanly_at_MaxRunTime_with_a_backlog_and_the_next_runs_converge()
    {
        var s = Create("bounded-converge", out var serials);
        s.Options.Timing.MaxRunTime = TimeSpan.FromSeconds(10);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        // Two signatures (sha1 and sha256 CertIDs) of one second each per serial: five serials fit in ten seconds.
        var signers = new ClockedSignerFactory(clock, Second);

        var report = await BoundedRuns.Engine(s, s.Store, signers, clock).RunAsync(None);
        var first = Assert.Single(report.Issuers);
        Assert.True(report.Succeeded, string.Join("; ", first.Errors));
        Assert.True(report.TimeLimitReached);
        Assert.Equal(10, first.ResponsesSigned);
        Assert.Equal(serials.Count - 5, first.Backlog);
        Assert.Equal(1.0, first.SigningRate!.Value, 3);
        // 35 serials × 2 responses at 1/s for 10 s of every 5 minutes.
        Assert.Equal((serials.Count - 5) * 2 * 30, first.BacklogTimeToClear!.Value.TotalSeconds, 3);
        var manifest = s.Manifest();
        Assert.True(manifest.LastRunSucceeded);
        Assert.Equal(first.Backlog, manifest.Backlog);
        Assert.Equal(1.0, manifest.SigningRate!.Value, 3);
        Assert.NotNull(manifest.BacklogClearsBy);

        int runs = 1, backlog = first.Backlog;
        while (backlog > 0 && runs < 20)
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            var next = Assert.Single((await BoundedRuns.Engine(s, s.Store, signers, clock).RunAsync(None)).Issuers);
            Assert.True(next.Succeeded, string.Join("; ", next.Errors));
            Assert.True(next.Backlog < backlog, $"run {runs + 1} left {next.Backlog} of {backlog}");
            backlog = next.Backlog;
            runs++;
        }
        Assert.Equal(0, backlog);
        Assert.Equal((serials.Count + 4) / 5, runs);
        foreach (var serial in serials) Assert.NotNull(await s.FindAsync(serial));
        Assert.Equal(0, s.Manifest().Backlog);
        Assert.Null(s.Manifest().BacklogClearsBy);
        Assert.Equal(serials.Count, s.Index().Entries.Count);
    }

    [Fact]
    public async Task A_revocation_and_a_new_serial_are_published_before_a_due_backlog_is_re_signed()
    {
        var s = Create("bounded-priority", out var serials);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        await PublishAllAsync(s, clock);
        int revokedBefore = s.Manifest().Revoked;

        clock.Advance(AllDue);
        string victim = serials[^1], issued = "7B00000001";
        LocalRevocation(s, victim);
        File.AppendAllLines(s.Options.Issuers[0].IssuedSerials!, [issued]);
        s.Options.Timing.MaxRunTime = TimeSpan.FromSeconds(20);

        // Seen by the first signature of re-signing (after the revocation's two and the new serial's two).
        StoredResponse? victimSeen = null, issuedSeen = null;
        IssuerManifest? manifestSeen = null;
        var signers = new ClockedSignerFactory(clock, Second, async n =>
        {
            if (n != 5) return;
            victimSeen = await s.FindAsync(victim);
            issuedSeen = await s.FindAsync(issued);
            manifestSeen = s.Manifest();
        });
        var store = new RecordingStore(s.Store, () => signers.Signatures);
        var result = Assert.Single((await BoundedRuns.Engine(s, store, signers, clock).RunAsync(None)).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(2, result.Changed);
        Assert.Equal(serials.Count - 1, result.Refreshed);
        Assert.Equal(serials.Count - 1 - 8, result.Backlog); // 20 s: 10 serials, of which 8 re-signed

        var revoked = Single(victimSeen);
        Assert.Equal(CertStatusKind.Revoked, revoked.Status.Kind);
        Assert.Equal(RevocationReason.KeyCompromise, revoked.Status.Reason);
        Assert.Equal(CertStatusKind.Good, Single(issuedSeen).Status.Kind);
        Assert.NotNull(manifestSeen);
        Assert.Equal(revokedBefore + 1, manifestSeen.Revoked);
        Assert.Equal(serials.Count - 1, manifestSeen.Backlog); // every due serial still to come

        // Packs, then the manifest after each urgent tier, and once more at the end: never a due serial before.
        var manifests = store.Writes.Where(w => w.Name == StoreLayout.Manifest(s.IssuerId)).Select(w => w.Signatures).ToList();
        Assert.Equal([2, 4, 20], manifests);
        Assert.Equal(2, store.Writes.First(w => w.Name.StartsWith(StoreLayout.Packs(s.IssuerId), StringComparison.Ordinal)).Signatures);
        // The re-signed ones are 8 of the due ones (which, earliest due first: WorkPlanTests).
        var index = s.Index();
        long runStart = TimingPolicy.ThisUpdate(clock.GetUtcNow().AddMinutes(-5)).ToUnixTimeSeconds();
        Assert.Equal(8, serials.Take(serials.Count - 1).Count(x => index.Entries[SerialNumber.ParseHex(x)].ThisUpdate >= runStart));
    }

    /// <summary>
    /// A certificate issued while a bulk load's new serials wait (the freshness benchmark's case) is served after the
    /// tier's first small batch — new serials are signed newest listed first and that batch is published at once — not
    /// after the rest of the tier or a checkpoint interval.
    /// </summary>
    [Fact]
    public async Task A_serial_issued_during_a_bulk_load_is_published_with_the_first_batch_of_new_serials()
    {
        var s = Create("bounded-bulk-newest", out var serials);
        string issued = "7B00000002";
        File.AppendAllLines(s.Options.Issuers[0].IssuedSerials!, [issued]);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        int firstSeenAt = 0;
        var signers = new ClockedSignerFactory(clock, Second, async n =>
        {
            if (firstSeenAt == 0 && await s.FindAsync(issued) is not null) firstSeenAt = n;
        });
        var engine = new RefreshEngine(s.Options, s.Store, new CompositeSourceReader([new FileSourceReader()]), signers, clock,
            NullLogger<RefreshEngine>.Instance) { MinimumRateSample = 1, FirstBatchSize = 3, CheckpointEvery = 1_000 };

        var result = Assert.Single((await engine.RunAsync(None)).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(0, result.Backlog);
        int revoked = s.Manifest().Revoked, total = signers.Signatures;
        Assert.True(total > 2 * (revoked + 30), $"{total} signatures");
        // The revocations' tier, then the first three new serials (the newest first): seen by the next signature.
        Assert.Equal(2 * (revoked + 3) + 1, firstSeenAt);
    }

    [Fact]
    public async Task Every_issuers_revocations_come_before_any_issuers_re_signing()
    {
        var s = Create("bounded-first", out _);
        var other = RefreshSetup.Create(pki, "bounded-second", pki.EcCa);
        var otherSerials = BoundedRuns.WriteSerialList(other, 5);
        s.Options.Issuers.Add(other.Options.Issuers[0]);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        await PublishAllAsync(s, clock);

        clock.Advance(AllDue);
        string victim = otherSerials[^1];
        LocalRevocation(s, victim, issuer: 1);
        StoredResponse? seen = null;
        var signers = new ClockedSignerFactory(clock, Second, async n =>
        {
            if (n == 3) seen = await StoredResponses.FindAsync(s.Store, other.Issuer, victim); // the first issuer's first re-signing
        });
        s.Options.Timing.MaxRunTime = TimeSpan.FromSeconds(30);
        var report = await BoundedRuns.Engine(s, s.Store, signers, clock).RunAsync(None);
        Assert.True(report.Succeeded, string.Join("; ", report.Issuers.SelectMany(i => i.Errors)));
        Assert.Equal(CertStatusKind.Revoked, Single(seen).Status.Kind);
        Assert.Equal([0, 1], report.Issuers.Select(i => i.Changed));
        Assert.True(report.Issuers[0].Backlog > 0); // the first issuer's re-signing took the rest of the time
    }

    [Fact]
    public async Task A_run_that_loses_its_lease_stops_without_writing_further()
    {
        var s = Create("bounded-lease", out var serials);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        await PublishAllAsync(s, clock);
        clock.Advance(AllDue);
        string victim = serials[^1];
        LocalRevocation(s, victim);

        RecordingStore? store = null;
        // Lost while the first due serials are re-signed, after the revocation was published.
        var signers = new ClockedSignerFactory(clock, Second, n =>
        {
            if (n == 7) store!.LeaseLost.Cancel();
            return Task.CompletedTask;
        });
        store = new RecordingStore(s.Store, () => signers.Signatures);
        var report = await BoundedRuns.Engine(s, store, signers, clock).RunAsync(None);
        var published = s.Snapshot();

        Assert.True(report.LeaseLost);
        Assert.False(report.Succeeded);
        var result = Assert.Single(report.Issuers);
        Assert.Contains("lease lost; stopped without writing further", result.Errors);
        Assert.Equal(0, store.WritesAfterLeaseLost);
        Assert.Contains(store.Writes, w => w.Name == StoreLayout.Manifest(s.IssuerId) && w.Signatures == 2); // the urgent publish happened
        Assert.Equal(CertStatusKind.Revoked, Single(await s.FindAsync(victim)).Status.Kind);

        // The next run (holding the lease) finishes the re-signing.
        clock.Advance(TimeSpan.FromMinutes(5));
        var next = Assert.Single((await BoundedRuns.Engine(s, s.Store, new ClockedSignerFactory(clock, TimeSpan.Zero), clock).RunAsync(None)).Issuers);
        Assert.True(next.Succeeded, string.Join("; ", next.Errors));
        Assert.Equal(serials.Count - 1, next.Refreshed);
        Assert.Equal(0, next.Backlog);
        Assert.NotEqual(published.Keys.Order(), s.Snapshot().Keys.Order());
    }

    [Fact]
    public async Task A_schedule_the_declared_signing_rate_cannot_keep_fresh_fails_the_issuer_unless_private_pki_but_still_publishes()
    {
        var s = Create("bounded-capacity", out var serials);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        // Needed: ~45 serials × 2 / 12 h ≈ 0.002 responses/s; 0.001/s for 4 of every 5 minutes sustains 0.0008/s.
        var slow = new ClockedSignerFactory(clock, TimeSpan.Zero, declaredRate: 0.001);
        var refused = Assert.Single((await BoundedRuns.Engine(s, s.Store, slow, clock).RunAsync(None)).Issuers);
        Assert.False(refused.Succeeded);
        Assert.Contains(refused.Errors, e => e.Contains("cannot keep every response fresh", StringComparison.Ordinal)
                                             && e.Contains("declared by the signer", StringComparison.Ordinal));
        // Failing loudly is not holding back: every serial (revocations first) is still signed and published.
        Assert.NotEmpty(s.PackNames());
        Assert.Equal(serials.Count, refused.Changed);
        Assert.Equal(0, refused.Backlog);

        s.Options.Timing.AllowPrivatePki = true;
        var allowed = Assert.Single((await BoundedRuns.Engine(s, s.Store, slow, clock).RunAsync(None)).Issuers);
        Assert.True(allowed.Succeeded, string.Join("; ", allowed.Errors));
        Assert.Contains(allowed.Warnings, w => w.Contains("cannot keep every response fresh", StringComparison.Ordinal));

        s.Options.Timing.AllowPrivatePki = false;
        var fast = new ClockedSignerFactory(clock, TimeSpan.Zero, declaredRate: 200);
        var fits = Assert.Single((await BoundedRuns.Engine(s, s.Store, fast, clock).RunAsync(None)).Issuers);
        Assert.True(fits.Succeeded, string.Join("; ", fits.Errors));
        Assert.StartsWith("fits: ", fits.Capacity, StringComparison.Ordinal);
        Assert.Contains($"{serials.Count} serials", fits.Capacity, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backlog_that_cannot_clear_before_responses_expire_warns_fails_status_and_fails_the_next_run_which_keeps_signing()
    {
        var s = Create("bounded-behind", out var serials);
        string config = WriteConfig(s);
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        await PublishAllAsync(s, clock);
        var output = new StringWriter();
        Assert.Equal(0, await StatusCommand.RunAsync(config, output, new StringWriter(), None));
        Assert.Contains("backlog: none", output.ToString(), StringComparison.Ordinal);

        // 13 h in, every response is due and expires 11 h later; one serial is re-signed per run at 0.001/s:
        // the other 44 need ~31 h at that rate for 4 of every 5 minutes.
        clock.Advance(AllDue);
        var slow = new ClockedSignerFactory(clock, TimeSpan.FromSeconds(1000));
        var result = Assert.Single((await BoundedRuns.Engine(s, s.Store, slow, clock).RunAsync(None)).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(serials.Count - 1, result.Backlog);
        Assert.Equal(0.001, result.SigningRate!.Value, 6);
        Assert.Contains(result.Warnings, w => w.Contains("after the oldest response expires", StringComparison.Ordinal));
        var manifest = s.Manifest();
        Assert.True(manifest.BacklogClearsBy >= manifest.OldestNextUpdate);

        output = new StringWriter();
        Assert.Equal(1, await StatusCommand.RunAsync(config, output, new StringWriter(), None));
        Assert.Contains(", BEHIND", output.ToString(), StringComparison.Ordinal);
        Assert.Contains($"backlog: {serials.Count - 1} serials left (rate 0.001 responses/s)", output.ToString(), StringComparison.Ordinal);

        // The measured rate is now on record: the next run says the schedule cannot be kept.
        clock.Advance(TimeSpan.FromMinutes(5));
        var next = Assert.Single((await BoundedRuns.Engine(s, s.Store, slow, clock).RunAsync(None)).Issuers);
        Assert.False(next.Succeeded);
        Assert.Contains(next.Errors, e => e.Contains("cannot keep every response fresh", StringComparison.Ordinal)
                                          && e.Contains("measured by the last run", StringComparison.Ordinal));
        // ... and still signs what it can: a slow signer is never a reason to stop publishing (nor to stop measuring).
        Assert.True(next.ResponsesSigned > 0);
    }

    [Theory]
    [InlineData(0, "must be positive")]
    [InlineData(300, "must be below Ocsp:Serve:RefreshInterval")]
    public void MaxRunTime_is_positive_and_below_the_timer_interval(int seconds, string error)
    {
        var options = new OcspOptions { Timing = { MaxRunTime = TimeSpan.FromSeconds(seconds) }, Issuers = { new IssuerOptions { Name = "x", Certificate = "c", Responder = { Certificate = "r" } } } };
        var (errors, _) = OcspOptionsValidator.Validate(options);
        Assert.Contains(errors, e => e.Contains("MaxRunTime", StringComparison.Ordinal) && e.Contains(error, StringComparison.Ordinal));
        options.Timing.MaxRunTime = TimeSpan.FromMinutes(4);
        Assert.DoesNotContain(OcspOptionsValidator.Validate(options).Errors, e => e.Contains("MaxRunTime", StringComparison.Ordinal));
    }

    /// <summary>The setup as a configuration file for the CLI verbs (a directory store).</summary>
    private static string WriteConfig(RefreshSetup s)
    {
        var issuer = s.Options.Issuers[0];
        string path = Path.Combine(s.Ca.Directory, "bounded.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Ocsp = new
            {
                Store = new { Path = s.StoreDir },
                Timing = new { Validity = "1.00:00:00" },
                Issuers = new[]
                {
                    new
                    {
                        issuer.Name, issuer.Certificate, issuer.Crls, issuer.IssuedSerials,
                        Responder = new { issuer.Responder.Certificate, issuer.Responder.Key },
                    },
                },
            },
        }));
        return path;
    }
}
