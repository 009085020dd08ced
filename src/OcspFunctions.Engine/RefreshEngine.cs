using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Engine;

/// <summary>
/// One refresh run (the timer function's job). Per issuer: read and validate every input first — CA and
/// responder certificates, signer, CRLs (signature, expiry, CRL number), issued serials (shrink check), local
/// revocations — and only then sign, most urgent first (<see cref="WorkPlan"/>), into packs written once each, and write
/// the index only after the packs it refers to, within Timing:MaxRunTime (<see cref="RunBudget"/>). Any failure leaves
/// that issuer's published responses as they were. This class orders the steps; each is its own class:
/// <see cref="IssuerInputReader"/>, <see cref="IssuerPlanner"/>, <see cref="IssuerRun"/> (signing), publishing here,
/// <see cref="IssuerAccounting"/> and <see cref="PackRetirement"/>.
/// </summary>
public sealed class RefreshEngine(
    OcspOptions options,
    IObjectStore store,
    ISourceReader sources,
    ISignerFactory signers,
    TimeProvider time,
    ILogger<RefreshEngine> logger)
{
    /// <summary>Signing work is done in batches; the index is saved between them so a killed run keeps its progress.</summary>
    public int BatchSize { get; init; } = 20_000;

    /// <summary>
    /// Serials in a tier's first batch, published as soon as it is signed: a tier is ordered most urgent first (new serials
    /// newest first), so a certificate issued during a bulk load is served after one small batch — seconds even at Key
    /// Vault's 200 signatures/s — rather than after a whole batch or checkpoint interval.
    /// </summary>
    public int FirstBatchSize { get; init; } = 1_000;

    public int CheckpointEvery { get; init; } = 100_000;

    /// <summary>
    /// Checkpoints are also at least this far apart, and at least <see cref="CheckpointSpacing"/> times as far as the last one
    /// took: a checkpoint rewrites every shard a bulk load touched (at 10M serials all 2,048), so on a fast signer they are
    /// spaced by time — bounding what a killed run loses to about this much signing — and never cost more than about a
    /// tenth of the run.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(60);

    public int CheckpointSpacing { get; init; } = 10;

    public IProgress<RefreshProgress>? Progress { get; init; }

    /// <summary>A pack is stored once it holds this many bytes (and at every checkpoint and the end of the run).</summary>
    public int PackBytes { get; init; } = 16 << 20;

    /// <summary>
    /// How long a pack nothing refers to any more is kept before it is deleted: servers still holding the previous index
    /// (reloaded every <see cref="ServingOptions.IndexReloadInterval"/>) keep reading it meanwhile.
    /// </summary>
    public TimeSpan PackRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Below this many responses a run's rate is not recorded: fixed costs (a first token, a cold key) would understate it.</summary>
    public int MinimumRateSample { get; init; } = 1_000;

    private readonly IssuerInputReader _inputs = new(store, sources, signers, options.MaxSourceBytes);

    private readonly IssuerAccounting _accounting = new(options, time, logger);

    private readonly IssuerPlanner _planner = new(options, store, logger);

    /// <summary>
    /// Every issuer's inputs are read and its work planned first; then the work is signed tier by tier
    /// (<see cref="WorkPlan.Order"/>) across all issuers — every issuer's revocations before any issuer's new serials,
    /// and so on, re-signing last — each tier published as soon as it is signed, all within Timing:MaxRunTime.
    /// </summary>
    public async Task<RefreshReport> RunAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var report = new RefreshReport();
        await using var lease = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(15), cancellationToken)
            .ConfigureAwait(false);
        if (lease is null)
        {
            logger.LogWarning("Another refresh holds the store lease; nothing done");
            report.LockHeld = true;
            return report;
        }
        // Once the lease is lost another refresh may own the store: every write of this run stops.
        using var writes = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
        var budget = new RunBudget(time, options.Timing.MaxRunTime);
        var runs = new List<IssuerRun>();
        try
        {
            foreach (var issuer in options.Issuers)
            {
                var result = new IssuerRefreshResult { Name = issuer.Name };
                report.Issuers.Add(result);
                if (await PrepareAsync(issuer, result, writes.Token).ConfigureAwait(false) is { } run) runs.Add(run);
            }
            foreach (var tier in WorkPlan.Order)
            {
                foreach (var run in runs.Where(r => !r.Failed))
                    await GuardAsync(run, () => SignTierAsync(run, tier, budget, writes.Token), writes.Token).ConfigureAwait(false);
            }
            report.TimeLimitReached = budget.Exhausted && runs.Any(r => r.Plan.Total > r.SignedSerials);
            foreach (var run in runs.Where(r => !r.Failed))
                await GuardAsync(run, () => FinishAsync(run, writes.Token), writes.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lease.Lost.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Not a crash: what was published is consistent (packs before index before manifest); the next run continues.
            report.LeaseLost = true;
            logger.LogError("The store lease was lost; stopped without writing further");
            foreach (var result in report.Issuers)
            {
                result.Succeeded = false;
                result.Errors.Add("lease lost; stopped without writing further");
            }
        }
        finally
        {
            foreach (var run in runs) await run.Packs.DisposeAsync().ConfigureAwait(false);
        }
        report.Duration = stopwatch.Elapsed;
        return report;
    }

    /// <summary>Reads and checks one issuer's inputs and plans its work; null (and the failure recorded) when any is refused.</summary>
    private async Task<IssuerRun?> PrepareAsync(IssuerOptions issuer, IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        IssuerManifest? manifest = null;
        ManifestSlot? slot = null;
        try
        {
            var ca = await _inputs.ReadCaAsync(issuer, cancellationToken).ConfigureAwait(false);
            var ocspIssuer = new OcspIssuer(ca);
            string id = ocspIssuer.KeyHashHex;
            result.IssuerId = id;
            var storedManifest = await store.GetAsync(StoreLayout.Manifest(id), cancellationToken).ConfigureAwait(false);
            slot = new ManifestSlot(PutCondition.For(storedManifest));
            manifest = storedManifest is null ? new IssuerManifest() : IssuerManifest.Parse(storedManifest.Content, StoreLayout.Manifest(id));
            manifest.IssuerId = id;
            manifest.Name = issuer.Name;
            manifest.CaSubject = ca.Subject;
            manifest.LastRunStarted = now;
            manifest.Warnings = [];
            // Inputs before the index: the issued list's bytes (540 MB at 10M serials) are garbage once parsed, before the
            // index is loaded, so the two never peak together; and a refused input costs no index load.
            long started = Stopwatch.GetTimestamp();
            var inputs = await _inputs.ReadAsync(issuer, ca, manifest, now, result, cancellationToken).ConfigureAwait(false);
            long read = Stopwatch.GetTimestamp();
            var index = await ShardedIndexStore.LoadAsync(store, id, manifest, now, PackRetention, cancellationToken).ConfigureAwait(false);
            long loaded = Stopwatch.GetTimestamp();
            var run = await _planner.PlanAsync(issuer, ocspIssuer, inputs, manifest, slot, index, now, result, PackBytes, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Issuer {Issuer}: inputs read in {InputsSeconds:0.0} s, index of {Entries} entries loaded in {IndexSeconds:0.0} s, " +
                                  "{Planned} serials planned in {PlanSeconds:0.0} s", Printable.Escape(issuer.Name),
                Stopwatch.GetElapsedTime(started, read).TotalSeconds, index.Index.Entries.Count, Stopwatch.GetElapsedTime(read, loaded).TotalSeconds,
                run.Plan.Total, Stopwatch.GetElapsedTime(loaded).TotalSeconds);
            return run;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await FailAsync(issuer, result, manifest, slot, e, cancellationToken).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Runs one step of an issuer's run; a failure is recorded in its manifest and ends its part of the run.</summary>
    private async Task GuardAsync(IssuerRun run, Func<Task> step, CancellationToken cancellationToken)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            run.Failed = true;
            await FailAsync(run.Issuer, run.Result, run.Manifest, run.Slot, e, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Input or store failure: nothing (more) is published for this issuer; the previous responses stay.</summary>
    private async Task FailAsync(IssuerOptions issuer, IssuerRefreshResult result, IssuerManifest? manifest, ManifestSlot? slot, Exception e,
        CancellationToken cancellationToken)
    {
        result.Succeeded = false;
        result.Errors.Add(Printable.Escape(e.Message));
        LogFailure(issuer, e);
        if (manifest is null || slot is null || result.IssuerId is null) return;
        manifest.LastRunSucceeded = false;
        manifest.Errors = [.. result.Errors];
        await RecordManifestAsync(issuer, result, manifest, slot, cancellationToken).ConfigureAwait(false);
    }

    private async Task RecordManifestAsync(IssuerOptions issuer, IssuerRefreshResult result, IssuerManifest manifest, ManifestSlot slot,
        CancellationToken cancellationToken)
    {
        manifest.Warnings = [.. result.Warnings];
        manifest.LastRunFinished = time.GetUtcNow();
        try
        {
            await WriteManifestAsync(manifest.IssuerId, manifest, slot, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            result.Succeeded = false;
            result.Errors.Add(Printable.Escape(e.Message));
            logger.LogError(e, "Cannot record the manifest of issuer {Issuer}", Printable.Escape(issuer.Name));
        }
    }

    /// <summary>
    /// An expected input failure (a missing file, a bad CRL or list, a refused check, a source error) is one line naming the
    /// issuer and the input, with the exception only at Debug level (<c>refresh -v</c>); anything else keeps its stack trace.
    /// </summary>
    private void LogFailure(IssuerOptions issuer, Exception e)
    {
        string name = Printable.Escape(issuer.Name), error = Printable.Escape(e.Message);
        if (e is SourceException or CrlException)
        {
            logger.LogError("Refresh of issuer {Issuer} failed: {Error}", name, error);
            logger.LogDebug(e, "Refresh of issuer {Issuer}: details of the failure", name);
        }
        else
        {
            logger.LogError(e, "Refresh of issuer {Issuer} failed: {Error}", name, error);
        }
    }

    /// <summary>
    /// Writes the manifest only over the version this run knows (If-Match / create-only): a second writer that
    /// ignored the lease makes this run stop instead of overwriting newer data with older.
    /// </summary>
    private async Task WriteManifestAsync(string id, IssuerManifest manifest, ManifestSlot slot, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string? etag = await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), slot.Condition, cancellationToken).ConfigureAwait(false);
        slot.Condition = PutCondition.Matching(etag ?? throw new StoreException(
            $"{StoreLayout.Manifest(id)} was changed by another refresh during this one; stopping without overwriting it"));
    }

    /// <summary>Signs one tier of one issuer, then publishes it (packs, index, manifest) before the next tier starts.</summary>
    private async Task SignTierAsync(IssuerRun run, WorkTier tier, RunBudget budget, CancellationToken cancellationToken)
    {
        if (run.Plan.Tier(tier).Length == 0 || budget.Exhausted) return;
        var started = time.GetUtcNow();
        int sinceCheckpoint = 0;
        bool firstBatch = true;
        var lastCheckpoint = Stopwatch.StartNew();
        var gap = CheckpointInterval;
        int signed = await run.SignAsync(tier, budget, FirstBatchSize, BatchSize, Progress, async (count, more) =>
        {
            sinceCheckpoint += count;
            bool first = firstBatch;
            firstBatch = false;
            // The first (small, most urgent) batch is published at once; later ones at checkpoints spaced by count and time.
            if (!more || (!first && (sinceCheckpoint < CheckpointEvery || lastCheckpoint.Elapsed < gap))) return;
            // Packs, then the index, then the manifest that says how its entries were signed: a kill between any
            // two only costs work (an unreferenced pack is retired by a later run).
            long publishing = Stopwatch.GetTimestamp();
            await PublishAsync(run, cancellationToken).ConfigureAwait(false);
            var took = Stopwatch.GetElapsedTime(publishing);
            logger.LogInformation("Issuer {Issuer}: checkpoint after {Signed} serials: {Shards} index shards written, published in {Seconds:0.0} s",
                Printable.Escape(run.Issuer.Name), run.SignedSerials, run.Shards.LastSaved, took.TotalSeconds);
            gap = took * CheckpointSpacing > CheckpointInterval ? took * CheckpointSpacing : CheckpointInterval;
            sinceCheckpoint = 0;
            lastCheckpoint.Restart();
        }, cancellationToken).ConfigureAwait(false);
        run.SigningTime += time.GetUtcNow() - started;
        if (signed > 0 && tier != WorkTier.Due) await PublishAsync(run, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Issuer {Issuer}: {Tier}: {Signed} of {Planned} serials signed", Printable.Escape(run.Issuer.Name), tier, signed,
            run.Plan.Tier(tier).Length);
    }

    /// <summary>Stores the packs, then the index that refers to them, then the manifest that says how they were signed.</summary>
    private async Task PublishAsync(IssuerRun run, CancellationToken cancellationToken)
    {
        await StoreIndexAsync(run, cancellationToken).ConfigureAwait(false);
        run.Manifest.SigningFingerprint = run.Fingerprint;
        run.Manifest.HashAlgorithms = [.. run.Algorithms.Select(a => a.Name())];
        _accounting.RecordCounts(run);
        await WriteManifestAsync(run.Id, run.Manifest, run.Slot, cancellationToken).ConfigureAwait(false);
    }

    private async Task StoreIndexAsync(IssuerRun run, CancellationToken cancellationToken)
    {
        await run.Packs.FlushAsync().ConfigureAwait(false);
        run.Packs.ThrowIfFailed();
        cancellationToken.ThrowIfCancellationRequested();
        await run.Shards.SaveChangedAsync(run.Manifest, run.Now, cancellationToken).ConfigureAwait(false);
        run.IndexDirty = false;
    }

    /// <summary>The end of an issuer's run: the last index write, the counts and backlog, pack retirement, the manifest.</summary>
    private async Task FinishAsync(IssuerRun run, CancellationToken cancellationToken)
    {
        var (issuer, result, manifest, inputs) = (run.Issuer, run.Result, run.Manifest, run.Inputs);
        // Counted only now: responses in a pack that failed to store were not published.
        result.ResponsesSigned = run.SignedResponses;
        result.SigningFailures = run.Failures.Count;
        foreach (var failure in run.Failures.Take(20)) result.Errors.Add(failure);
        if (run.Failures.Count > 20) result.Errors.Add($"… and {run.Failures.Count - 20} more signing failures");

        if (run.IndexDirty || run.Shards.NeedsSave) await StoreIndexAsync(run, cancellationToken).ConfigureAwait(false);
        result.PacksWritten = run.Packs.Written;

        // The index is stored: from here on the manifest must describe it, whatever else fails.
        // Entries not re-signed (failures, the time limit) still carry the due marker, so the next run does them.
        manifest.SigningFingerprint = run.Fingerprint;
        manifest.HashAlgorithms = [.. run.Algorithms.Select(a => a.Name())];
        inputs.Crls.Record(manifest);
        manifest.StickyRevocations = result.StickyRevocations;
        manifest.IssuedSerialCount = inputs.Issued?.Serials.Count;
        manifest.Deterministic = inputs.Issued is not null;
        manifest.ResponderNotAfter = new DateTimeOffset(inputs.Responder.NotAfter.ToUniversalTime());
        _accounting.RecordCounts(run);
        _accounting.RecordBacklog(run, MinimumRateSample);

        var live = run.Index.Packs().ToHashSet(StringComparer.Ordinal);
        manifest.Packs = live.Count;
        try
        {
            await new PackRetirement(store, time, PackRetention).RetireAsync(run.Id, live, manifest, result, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            // Housekeeping only: what is published is complete; a later run retires and deletes what this one could not.
            result.Warnings.Add($"could not retire unused packs: {e.Message}");
            logger.LogWarning(e, "Issuer {Issuer}: could not retire unused packs", Printable.Escape(issuer.Name));
        }

        // An error recorded while publishing went ahead (a roll-over that cannot finish in time) still fails the issuer.
        result.Succeeded = result.SigningFailures == 0 && result.Errors.Count == 0;
        manifest.LastRunSucceeded = result.Succeeded;
        if (result.Succeeded) manifest.LastSuccess = run.Now;
        manifest.Errors = [.. result.Errors];
        await RecordManifestAsync(issuer, result, manifest, run.Slot, cancellationToken).ConfigureAwait(false);

        logger.LogInformation(
            "Issuer {Issuer}: {Changed} changed, {Refreshed} refreshed, {Unchanged} unchanged, {Removed} removed, {Signed} responses signed, {Failures} failures, {Backlog} left",
            Printable.Escape(issuer.Name), result.Changed, result.Refreshed, result.Unchanged, result.Removed, result.ResponsesSigned, result.SigningFailures,
            result.Backlog);
    }
}
