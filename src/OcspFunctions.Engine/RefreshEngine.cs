using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
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
/// that issuer's published responses as they were.
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

    private readonly TimingPolicy _timing = new(options.Timing);

    private readonly SourceFetcher _sources = new(store, sources, options.MaxSourceBytes);

    private readonly SigningCapacity _capacity = new(options.Timing, options.Serve.RefreshInterval);

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
            var ca = CertificateFiles.Load(await _sources.FetchAsync(null, null, issuer.Certificate, cancellationToken).ConfigureAwait(false), SourceSupport.Display(issuer.Certificate));
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
            var inputs = await ReadInputsAsync(issuer, ca, manifest, now, result, cancellationToken).ConfigureAwait(false);
            long read = Stopwatch.GetTimestamp();
            var index = await ShardedIndexStore.LoadAsync(store, id, manifest, now, PackRetention, cancellationToken).ConfigureAwait(false);
            long loaded = Stopwatch.GetTimestamp();
            var run = await PlanAsync(issuer, ocspIssuer, inputs, manifest, slot, index, now, result, cancellationToken).ConfigureAwait(false);
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

    private async Task<IssuerInputs> ReadInputsAsync(IssuerOptions issuer, X509Certificate2 ca, IssuerManifest manifest, DateTimeOffset now,
        IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        string id = manifest.IssuerId;

        // Responder certificate and key (RFC 6960 §4.2.2.2): the signer's own certificate (a Key Vault certificate) or the file.
        var signer = await signers.CreateAsync(issuer, cancellationToken).ConfigureAwait(false);
        var supplied = signer as IResponderCertificateSource;
        var responder = supplied?.ResponderCertificate ?? CertificateFiles.Load(
            await _sources.FetchAsync(id, manifest, issuer.Responder.Certificate, cancellationToken).ConfigureAwait(false), SourceSupport.Display(issuer.Responder.Certificate));
        string responderShown = supplied?.ResponderCertificate is not null ? supplied.ResponderCertificateLocation ?? "from the signer" : SourceSupport.Display(issuer.Responder.Certificate);
        var findings = ResponderCertificateCheck.Check(responder, ca, now, TimingPolicy.MinimumValidity);
        result.Warnings.AddRange(findings.Where(f => f.Severity == FindingSeverity.Warning).Select(f => Printable.Escape(f.ToString())));
        var errors = findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        if (errors.Count > 0)
            throw new SourceException($"responder certificate {responderShown} ('{responder.Subject}') is not usable: {string.Join("; ", errors)}");
        var spki = await signer.GetSubjectPublicKeyInfoAsync(cancellationToken).ConfigureAwait(false);
        if (!spki.AsSpan().SequenceEqual(responder.PublicKey.ExportSubjectPublicKeyInfo()))
            throw new SourceException($"the responder key does not match the responder certificate {responderShown} ('{responder.Subject}')");

        // CRLs: every one must verify with the CA key, be current and not go backwards in its scope.
        var decision = new StatusDecision();
        var crls = await CrlIngest.ReadAsync(issuer, ca, manifest, now, (location, ct) => _sources.FetchAsync(id, manifest, location, ct), decision,
            result.Warnings, cancellationToken).ConfigureAwait(false);

        IssuedSerials? issued = null;
        if (!string.IsNullOrEmpty(issuer.IssuedSerials))
        {
            issued = await ReadIssuedSerialsAsync(issuer, id, manifest, cancellationToken).ConfigureAwait(false);
            int count = issued.Serials.Count;
            InputChecks.EnsureNotShrunk(manifest.IssuedSerialCount, count, issuer.MaxSerialsShrink, SourceSupport.Display(issuer.IssuedSerials));
            decision.AddRevocations(issued.Revocations);
        }
        else
        {
            result.Warnings.Add("no issued-serials list: only revoked serials are pre-signed and all others get unauthorized (not deterministic)");
        }

        if (!string.IsNullOrEmpty(issuer.LocalRevocations))
        {
            var bytes = await _sources.FetchAsync(id, manifest, issuer.LocalRevocations, cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(new MemoryStream(bytes));
            decision.AddRevocations(LocalRevocationsParser.Parse(reader, issuer.LocalRevocations));
        }
        return new IssuerInputs(responder, signer, decision, issued, crls);
    }

    private async Task<IssuedSerials> ReadIssuedSerialsAsync(IssuerOptions issuer, string id, IssuerManifest manifest, CancellationToken cancellationToken)
    {
        string location = issuer.IssuedSerials!;
        // A location ending in '/' (a Blob prefix) or an existing directory is the Windows layout.
        bool directory = issuer.IssuedSerialsFormat == IssuedSerialsFormat.WindowsDirectory
                         || (issuer.IssuedSerialsFormat == IssuedSerialsFormat.Auto && (location.EndsWith('/') || Directory.Exists(location)));
        if (directory)
        {
            var names = new List<string>();
            await foreach (var name in sources.ListAsync(location, cancellationToken).ConfigureAwait(false)) names.Add(name);
            return IssuedSerialsParser.FromFileNames(names, location);
        }
        var content = await _sources.FetchAsync(id, manifest, location, cancellationToken).ConfigureAwait(false);
        return IssuedSerialsParser.Parse(content, issuer.IssuedSerialsFormat, location);
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

    /// <summary>
    /// Decides every status, withdraws what must no longer be served, marks what must be re-signed, checks the capacity
    /// and plans the signing work (<see cref="WorkPlan"/>).
    /// </summary>
    private async Task<IssuerRun> PlanAsync(IssuerOptions issuer, OcspIssuer ocspIssuer, IssuerInputs inputs, IssuerManifest manifest, ManifestSlot manifestSlot,
        ShardedIndexStore shards, DateTimeOffset now, IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        string id = manifest.IssuerId;
        var index = shards.Index;
        var algorithms = issuer.EffectiveHashAlgorithms.Select(CertIdHashAlgorithms.Parse).Distinct().ToArray();
        var statuses = inputs.Decision.Decide(inputs.Issued, now, _timing.ExpiredGrace);
        var (sticky, stickyWarning) = StickyRevocations.Apply(statuses, index, inputs.Issued, now, _timing.ExpiredGrace);
        result.StickyRevocations = sticky;
        if (stickyWarning is not null)
        {
            result.Warnings.Add(stickyWarning);
            logger.LogWarning("Issuer {Issuer}: {Warning}", Printable.Escape(issuer.Name), stickyWarning);
        }

        var thisUpdate = TimingPolicy.ThisUpdate(now);
        var responderNotAfter = new DateTimeOffset(inputs.Responder.NotAfter.ToUniversalTime());
        var nextUpdate = _timing.NextUpdate(thisUpdate, responderNotAfter);
        if (nextUpdate - thisUpdate < TimingPolicy.MinimumValidity && !_timing.AllowPrivatePki)
            throw new SourceException($"responder certificate expires at {responderNotAfter:u}: responses would last under 8 hours; issue a new responder certificate");

        if (nextUpdate < thisUpdate + _timing.Validity)
            result.Warnings.Add($"responder certificate expires at {responderNotAfter:u}, inside one validity period: responses end there and are re-signed more often; issue a new responder certificate");

        CheckCapacity(issuer, inputs.Signer, statuses.Count, algorithms.Length, manifest, result);

        // Anything that changes how responses are signed invalidates all of them.
        string fingerprint = $"{inputs.Responder.Thumbprint}|{inputs.Signer.Algorithm.Name}|{string.Join(",", algorithms.Select(a => a.Name()))}";
        bool resignAll = manifest.SigningFingerprint != fingerprint;

        bool indexDirty = false;

        // Serials whose pack is gone (deleted by hand; lost by a crash of the machine before it reached the disk) are
        // re-signed now rather than answered internalError until they come due: thisUpdate 0 marks them due.
        var stored = await ListPacksAsync(id, cancellationToken).ConfigureAwait(false);
        var missing = index.Packs().Where(p => !stored.Contains(p)).ToHashSet(StringComparer.Ordinal);
        if (missing.Count > 0)
        {
            var lost = index.Entries.Where(kv => missing.Contains(kv.Value.Pack)).Select(kv => kv.Key).ToList();
            foreach (var serial in lost) index.Entries[serial] = index.Entries[serial] with { ThisUpdate = 0 };
            indexDirty = true;
            result.Warnings.Add($"{missing.Count} pack(s) the index refers to are missing ({string.Join(", ", missing.Take(5))}); " +
                                $"re-signing their {lost.Count} serials");
            logger.LogWarning("Issuer {Issuer}: {Packs} missing packs, re-signing {Serials} serials", Printable.Escape(issuer.Name), missing.Count, lost.Count);
        }

        // A new signing setup (responder certificate, key, hash algorithms) re-signs everything. The old responses stay
        // valid and listed until replaced; thisUpdate 0 marks them due, so a run stopped early resumes instead of starting over.
        if (resignAll && index.Entries.Count > 0)
        {
            foreach (var serial in index.Entries.Keys.ToList()) index.Entries[serial] = index.Entries[serial] with { ThisUpdate = 0 };
            indexDirty = true;
        }

        // A new responder certificate: the old one's remaining life must cover re-signing everything. Flagged as an issuer
        // error with the numbers; the re-signing still goes ahead (holding it back would only let more responses go stale).
        if (resignAll && manifest.SigningFingerprint is { } previous && !previous.StartsWith(inputs.Responder.Thumbprint + "|", StringComparison.Ordinal)
            && ResponderRollover.CheckRollover(manifest.ResponderNotAfter, responderNotAfter, (long)index.Entries.Count * algorithms.Length, manifest.SigningRate,
                (inputs.Signer as ISigningRateHint)?.DeclaredSignaturesPerSecond, now, _capacity.DutyCycle) is { } rollover)
        {
            result.Errors.Add(rollover);
            logger.LogError("Issuer {Issuer}: {Error}", Printable.Escape(issuer.Name), rollover);
        }

        var plan = WorkPlan.Build(statuses, index, now, RefreshDue);

        // Withdraw responses that must no longer be served (expired past grace; no longer revoked without an issued list):
        // dropped from the index, their packs are retired once nothing refers to them. They are the entries the plan did
        // not meet, so the index is walked for them only when there are some (at 10M serials the walk costs ~15 s).
        if (plan.Known < index.Entries.Count)
        {
            var removed = index.Entries.Keys.Where(s => !statuses.ContainsKey(s)).ToList();
            foreach (var serial in removed) index.Entries.Remove(serial);
            result.Removed = removed.Count;
            indexDirty |= removed.Count > 0;
        }
        result.Changed = plan.Changed;
        result.Refreshed = plan.Tier(WorkTier.Due).Length;
        result.Unchanged = plan.Unchanged;
        result.Deterministic = inputs.Issued is not null;
        index.Entries.EnsureCapacity(statuses.Count);
        shards.ExpectedEntries = statuses.Count;

        var writer = new OcspResponseWriter(inputs.Responder, inputs.Signer,
            includeCertificate: !ocspIssuer.SubjectPublicKey.AsSpan().SequenceEqual(inputs.Responder.PublicKey.EncodedKeyValue.RawData));
        int concurrency = options.SigningConcurrency > 0 ? options.SigningConcurrency
            : inputs.Signer is ISigningConcurrencyHint { PreferredConcurrency: > 0 } hint ? hint.PreferredConcurrency
            : Environment.ProcessorCount;
        // Packs are stored in the background while the next batch is signed; the index is written only after every
        // pack it refers to is stored, so a reader never follows the index to a pack that is not there.
        return new IssuerRun
        {
            Issuer = issuer, Result = result, Manifest = manifest, Slot = manifestSlot, Shards = shards, Inputs = inputs, OcspIssuer = ocspIssuer,
            Algorithms = algorithms, Fingerprint = fingerprint, Writer = writer, Plan = plan, Now = now, ThisUpdate = thisUpdate,
            NextUpdate = nextUpdate, Concurrency = concurrency, IndexDirty = indexDirty,
            Packs = new PackQueue(store, id, PackBytes, ResponsePacks.EncodeHeader(writer.CertificatesField.Span), cancellationToken),
        };
    }

    /// <summary>
    /// Fails the issuer (or, for a private PKI, warns) when the signer cannot keep the schedule fresh; see
    /// <see cref="SigningCapacity"/>. The run still signs and publishes: holding back would keep revocations from being
    /// served and, with nothing signed, no faster rate could ever be measured again.
    /// </summary>
    private void CheckCapacity(IssuerOptions issuer, IOcspSigner signer, int serials, int algorithms, IssuerManifest manifest, IssuerRefreshResult result)
    {
        var verdict = _capacity.Check(serials, algorithms, manifest.SigningRate, (signer as ISigningRateHint)?.DeclaredSignaturesPerSecond);
        if (verdict is not { } v)
        {
            logger.LogInformation("Issuer {Issuer}: capacity not known yet (no measured or declared signing rate)", Printable.Escape(issuer.Name));
            return;
        }
        result.Capacity = (v.Fits ? "fits: " : "too slow: ") + v.Line;
        logger.LogInformation("Issuer {Issuer}: capacity {Capacity}", Printable.Escape(issuer.Name), result.Capacity);
        if (v.Fits) return;
        const string advice = "a faster signer, fewer hash algorithms, a longer Timing:RefreshAfter or a longer Timing:MaxRunTime";
        if (_timing.AllowPrivatePki) result.Warnings.Add($"the schedule cannot keep every response fresh: {v.Line} — allowed by Timing:AllowPrivatePki; needs {advice}");
        else
        {
            string error = $"the schedule cannot keep every response fresh: {v.Line}; needs {advice} (or Timing:AllowPrivatePki=true for a private PKI)";
            result.Errors.Add(error);
            logger.LogError("Issuer {Issuer}: {Error}", Printable.Escape(issuer.Name), error);
        }
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
        RecordCounts(run);
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

    /// <summary>What the published index holds, for status and /health: shards counted in parallel, no serial made (called after a save).</summary>
    private void RecordCounts(IssuerRun run)
    {
        var entries = run.Index.Entries;
        var manifest = run.Manifest;
        var shards = new (int Good, int Revoked, long OldestNextUpdate, DateTimeOffset? NextDue)[entries.ShardCount];
        Parallel.For(0, shards.Length, k =>
        {
            var (goodHere, revokedHere, oldestHere, dueHere) = (0, 0, long.MaxValue, (DateTimeOffset?)null);
            entries.VisitShard(k, (ReadOnlySpan<byte> serial, in IndexEntry entry) =>
            {
                if (entry.Status == CertStatusKind.Good) goodHere++;
                else if (entry.Status == CertStatusKind.Revoked) revokedHere++;
                oldestHere = Math.Min(oldestHere, entry.NextUpdate);
                var due = RefreshDue(serial, entry);
                if (dueHere is not { } earliest || due < earliest) dueHere = due;
            });
            shards[k] = (goodHere, revokedHere, oldestHere, dueHere);
        });
        int good = shards.Sum(s => s.Good), revoked = shards.Sum(s => s.Revoked);
        long oldestNextUpdate = shards.Length == 0 ? long.MaxValue : shards.Min(s => s.OldestNextUpdate);
        var nextDue = shards.Select(s => s.NextDue).Min(); // null when no shard has an entry
        manifest.Good = run.Result.Good = good;
        manifest.Revoked = run.Result.Revoked = revoked;
        manifest.OldestNextUpdate = nextDue is null ? null : DateTimeOffset.FromUnixTimeSeconds(oldestNextUpdate); // null: no entry
        manifest.NextRefreshDue = nextDue;
        manifest.Backlog = run.Result.Backlog = run.Plan.Total - run.SignedSerials;
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
        RecordCounts(run);
        RecordBacklog(run);

        var live = run.Index.Packs().ToHashSet(StringComparer.Ordinal);
        manifest.Packs = live.Count;
        try
        {
            await RetirePacksAsync(run.Id, live, manifest, result, cancellationToken).ConfigureAwait(false);
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

    /// <summary>The rate achieved, the backlog's time to clear, and a warning when responses would expire before it does.</summary>
    private void RecordBacklog(IssuerRun run)
    {
        var (result, manifest) = (run.Result, run.Manifest);
        if (run.SignedResponses > 0 && run.SigningTime > TimeSpan.Zero)
        {
            result.SigningRate = run.SignedResponses / run.SigningTime.TotalSeconds;
            if (run.SignedResponses >= MinimumRateSample) manifest.SigningRate = result.SigningRate;
        }
        double? rate = manifest.SigningRate ?? result.SigningRate ?? (run.Inputs.Signer as ISigningRateHint)?.DeclaredSignaturesPerSecond;
        result.BacklogTimeToClear = _capacity.TimeToClear(result.Backlog, run.Algorithms.Length, rate);
        manifest.BacklogClearsBy = result.Backlog > 0 && result.BacklogTimeToClear is { } eta ? time.GetUtcNow() + eta : null;
        if (result.Backlog == 0) return;
        logger.LogWarning("Issuer {Issuer}: Timing:MaxRunTime reached with {Backlog} serials left for the next runs", Printable.Escape(run.Issuer.Name), result.Backlog);
        if (manifest.BacklogClearsBy is { } clears && manifest.OldestNextUpdate is { } oldest && clears >= oldest)
        {
            string warning = $"a backlog of {result.Backlog:N0} serials clears only by {clears:u} at {rate:0.#} responses/s, after the oldest response expires ({oldest:u}): " +
                             "sign faster or lengthen Timing:MaxRunTime";
            result.Warnings.Add(warning);
            logger.LogWarning("Issuer {Issuer}: {Warning}", Printable.Escape(run.Issuer.Name), warning);
        }
    }

    /// <summary>
    /// Retires the packs the index no longer refers to (all their responses were re-signed or withdrawn, or a killed run
    /// left them) and deletes those retired for <see cref="PackRetention"/>. Called only after the index is stored.
    /// </summary>
    private async Task RetirePacksAsync(string id, HashSet<string> live, IssuerManifest manifest, IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var listed = await ListPacksAsync(id, cancellationToken).ConfigureAwait(false);
        foreach (var pack in listed)
        {
            if (live.Contains(pack))
            {
                manifest.RetiredPacks.Remove(pack); // referred to again (a previous index write failed after retiring it)
                continue;
            }
            if (!manifest.RetiredPacks.TryGetValue(pack, out var since)) manifest.RetiredPacks[pack] = now;
            else if (now - since >= PackRetention)
            {
                await store.DeleteAsync(StoreLayout.Pack(id, pack), cancellationToken).ConfigureAwait(false);
                manifest.RetiredPacks.Remove(pack);
                result.PacksDeleted++;
            }
        }
        foreach (var gone in manifest.RetiredPacks.Keys.Where(p => !listed.Contains(p)).ToList()) manifest.RetiredPacks.Remove(gone);
    }

    /// <summary>The names of the packs stored for an issuer.</summary>
    private async Task<HashSet<string>> ListPacksAsync(string id, CancellationToken cancellationToken)
    {
        string prefix = StoreLayout.Packs(id);
        var packs = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var name in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false)) packs.Add(name[prefix.Length..]);
        return packs;
    }

    private DateTimeOffset RefreshDue(ReadOnlySpan<byte> serial, IndexEntry entry) =>
        _timing.RefreshDue(DateTimeOffset.FromUnixTimeSeconds(entry.ThisUpdate), DateTimeOffset.FromUnixTimeSeconds(entry.NextUpdate), Spread(serial));

    /// <summary>FNV-1a of the serial: a stable per-serial spread of refresh times.</summary>
    internal static uint Spread(SerialNumber serial) => Spread(serial.Bytes);

    /// <summary>The spread of the serial with these canonical bytes.</summary>
    internal static uint Spread(ReadOnlySpan<byte> serial)
    {
        uint hash = 2166136261;
        foreach (byte b in serial) hash = (hash ^ b) * 16777619;
        return hash;
    }
}
