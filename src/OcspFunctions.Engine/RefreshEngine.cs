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
/// revocations — and only then sign what changed, then what is due, into packs written once each, and write the index
/// only after the packs it refers to. Any failure leaves that issuer's published responses as they were.
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

    public int CheckpointEvery { get; init; } = 100_000;

    /// <summary>
    /// Checkpoints are also at least this far apart: each one rewrites the whole index, so on a fast signer they are
    /// spaced by time, bounding what a killed run loses to about this much signing.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(60);

    public IProgress<RefreshProgress>? Progress { get; init; }

    /// <summary>A pack is stored once it holds this many bytes (and at every checkpoint and the end of the run).</summary>
    public int PackBytes { get; init; } = 16 << 20;

    /// <summary>
    /// How long a pack nothing refers to any more is kept before it is deleted: servers still holding the previous index
    /// (reloaded every <see cref="ServingOptions.IndexReloadInterval"/>) keep reading it meanwhile.
    /// </summary>
    public TimeSpan PackRetention { get; init; } = TimeSpan.FromHours(1);

    private readonly TimingPolicy _timing = new(options.Timing);

    private readonly SourceFetcher _sources = new(store, sources, options.MaxSourceBytes);

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
        foreach (var issuer in options.Issuers)
        {
            var result = new IssuerRefreshResult { Name = issuer.Name };
            report.Issuers.Add(result);
            await RefreshIssuerAsync(issuer, result, cancellationToken).ConfigureAwait(false);
        }
        report.Duration = stopwatch.Elapsed;
        return report;
    }

    private async Task RefreshIssuerAsync(IssuerOptions issuer, IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        IssuerManifest? manifest = null;
        ManifestSlot? manifestSlot = null;
        try
        {
            var ca = CertificateFiles.Load(await _sources.FetchAsync(null, null, issuer.Certificate, cancellationToken).ConfigureAwait(false), SourceSupport.Display(issuer.Certificate));
            var ocspIssuer = new OcspIssuer(ca);
            string id = ocspIssuer.KeyHashHex;
            result.IssuerId = id;
            var storedManifest = await store.GetAsync(StoreLayout.Manifest(id), cancellationToken).ConfigureAwait(false);
            manifestSlot = new ManifestSlot(PutCondition.For(storedManifest));
            manifest = storedManifest is null ? new IssuerManifest() : IssuerManifest.Parse(storedManifest.Content, StoreLayout.Manifest(id));
            manifest.IssuerId = id;
            manifest.Name = issuer.Name;
            manifest.CaSubject = ca.Subject;
            manifest.LastRunStarted = now;
            manifest.Warnings = [];
            var index = await ShardedIndexStore.LoadAsync(store, id, manifest, now, PackRetention, cancellationToken).ConfigureAwait(false);

            var inputs = await ReadInputsAsync(issuer, ca, manifest, now, result, cancellationToken).ConfigureAwait(false);
            await PublishAsync(issuer, ocspIssuer, inputs, manifest, manifestSlot, index, now, result, cancellationToken).ConfigureAwait(false);

            result.Succeeded = result.SigningFailures == 0;
            manifest.LastRunSucceeded = result.Succeeded;
            if (result.Succeeded) manifest.LastSuccess = now;
            manifest.Errors = [.. result.Errors];
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Input or store failure: nothing (more) is published for this issuer; the previous responses stay.
            result.Succeeded = false;
            result.Errors.Add(Printable.Escape(e.Message));
            LogFailure(issuer, e);
            if (manifest is not null)
            {
                manifest.LastRunSucceeded = false;
                manifest.Errors = [.. result.Errors];
            }
        }
        if (manifest is not null && manifestSlot is not null && result.IssuerId is { } issuerId)
        {
            manifest.Warnings = [.. result.Warnings];
            manifest.LastRunFinished = time.GetUtcNow();
            try
            {
                await WriteManifestAsync(issuerId, manifest, manifestSlot, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreException e)
            {
                result.Succeeded = false;
                result.Errors.Add(Printable.Escape(e.Message));
                logger.LogError(e, "Cannot record the manifest of issuer {Issuer}", Printable.Escape(issuer.Name));
            }
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

    private sealed record Inputs(
        X509Certificate2 Responder,
        IOcspSigner Signer,
        StatusDecision Decision,
        IssuedSerials? Issued,
        CrlIngest Crls);

    private async Task<Inputs> ReadInputsAsync(IssuerOptions issuer, X509Certificate2 ca, IssuerManifest manifest, DateTimeOffset now,
        IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        string id = manifest.IssuerId;

        // Responder certificate and key (RFC 6960 §4.2.2.2).
        var responder = CertificateFiles.Load(
            await _sources.FetchAsync(id, manifest, issuer.Responder.Certificate, cancellationToken).ConfigureAwait(false), SourceSupport.Display(issuer.Responder.Certificate));
        var findings = ResponderCertificateCheck.Check(responder, ca, now, TimingPolicy.MinimumValidity);
        result.Warnings.AddRange(findings.Where(f => f.Severity == FindingSeverity.Warning).Select(f => Printable.Escape(f.ToString())));
        var errors = findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        string responderShown = SourceSupport.Display(issuer.Responder.Certificate);
        if (errors.Count > 0)
            throw new SourceException($"responder certificate {responderShown} ('{responder.Subject}') is not usable: {string.Join("; ", errors)}");
        var signer = await signers.CreateAsync(issuer, cancellationToken).ConfigureAwait(false);
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
            if (manifest.IssuedSerialCount is { } previous && previous > 0)
            {
                if (count == 0 || count < previous * (1 - issuer.MaxSerialsShrink))
                    throw new SourceException($"issued-serials list {SourceSupport.Display(issuer.IssuedSerials)} shrank from {previous} to {count} serials " +
                                              $"(more than MaxSerialsShrink {issuer.MaxSerialsShrink:P0}); is it truncated?");
            }
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
        return new Inputs(responder, signer, decision, issued, crls);
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

    /// <summary>The manifest version this run last read or wrote; every write is conditional on it.</summary>
    private sealed class ManifestSlot(PutCondition condition)
    {
        public PutCondition Condition { get; set; } = condition;
    }

    /// <summary>
    /// Writes the manifest only over the version this run knows (If-Match / create-only): a second writer that
    /// ignored the lease makes this run stop instead of overwriting newer data with older.
    /// </summary>
    private async Task WriteManifestAsync(string id, IssuerManifest manifest, ManifestSlot slot, CancellationToken cancellationToken)
    {
        string? etag = await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), slot.Condition, cancellationToken).ConfigureAwait(false);
        slot.Condition = PutCondition.Matching(etag ?? throw new StoreException(
            $"{StoreLayout.Manifest(id)} was changed by another refresh during this one; stopping without overwriting it"));
    }

    private async Task PublishAsync(IssuerOptions issuer, OcspIssuer ocspIssuer, Inputs inputs, IssuerManifest manifest, ManifestSlot manifestSlot, ShardedIndexStore shards,
        DateTimeOffset now, IssuerRefreshResult result, CancellationToken cancellationToken)
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
        var producedAt = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var responderNotAfter = new DateTimeOffset(inputs.Responder.NotAfter.ToUniversalTime());
        var nextUpdate = _timing.NextUpdate(thisUpdate, responderNotAfter);
        if (nextUpdate - thisUpdate < TimingPolicy.MinimumValidity && !_timing.AllowPrivatePki)
            throw new SourceException($"responder certificate expires at {responderNotAfter:u}: responses would last under 8 hours; issue a new responder certificate");

        if (nextUpdate < thisUpdate + _timing.Validity)
            result.Warnings.Add($"responder certificate expires at {responderNotAfter:u}, inside one validity period: responses end there and are re-signed more often; issue a new responder certificate");

        // Anything that changes how responses are signed invalidates all of them.
        string fingerprint = $"{inputs.Responder.Thumbprint}|{inputs.Signer.Algorithm.Name}|{string.Join(",", algorithms.Select(a => a.Name()))}";
        bool resignAll = manifest.SigningFingerprint != fingerprint;

        // Withdraw responses that must no longer be served (expired past grace; no longer revoked without an issued list):
        // dropped from the index, their packs are retired once nothing refers to them.
        var removed = index.Entries.Keys.Where(s => !statuses.ContainsKey(s)).ToList();
        foreach (var serial in removed) index.Entries.Remove(serial);
        result.Removed = removed.Count;
        bool indexDirty = removed.Count > 0;

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
        // valid and listed until replaced; thisUpdate 0 marks them due, so a killed run resumes instead of starting over.
        if (resignAll && index.Entries.Count > 0)
        {
            foreach (var serial in index.Entries.Keys.ToList()) index.Entries[serial] = index.Entries[serial] with { ThisUpdate = 0 };
            indexDirty = true;
        }

        var changed = new List<(SerialNumber Serial, CertStatus Status)>();
        var due = new List<(SerialNumber Serial, CertStatus Status, DateTimeOffset Due)>();
        foreach (var (serial, status) in statuses)
        {
            if (!index.Entries.TryGetValue(serial, out var entry) || !entry.SameStatus(status))
            {
                changed.Add((serial, status));
                continue;
            }
            var refreshDue = RefreshDue(serial, entry);
            if (refreshDue <= now) due.Add((serial, status, refreshDue));
            else result.Unchanged++;
        }
        due.Sort((a, b) => a.Due.CompareTo(b.Due));
        result.Changed = changed.Count;
        result.Refreshed = due.Count;
        result.Deterministic = inputs.Issued is not null;

        var writer = new OcspResponseWriter(inputs.Responder, inputs.Signer,
            includeCertificate: !ocspIssuer.SubjectPublicKey.AsSpan().SequenceEqual(inputs.Responder.PublicKey.EncodedKeyValue.RawData));
        // One array for the whole run: no per-batch large-object allocations (each counts towards a full GC over the
        // million-entry index).
        var work = changed.Concat(due.Select(d => (d.Serial, d.Status))).ToArray();
        index.Entries.EnsureCapacity(statuses.Count);
        int concurrency = options.SigningConcurrency > 0 ? options.SigningConcurrency
            : inputs.Signer is ISigningConcurrencyHint { PreferredConcurrency: > 0 } hint ? hint.PreferredConcurrency
            : Environment.ProcessorCount;
        int done = 0, sinceCheckpoint = 0, signedResponses = 0;
        var failures = new ConcurrentQueue<string>();
        long thisUpdateSeconds = thisUpdate.ToUnixTimeSeconds(), nextUpdateSeconds = nextUpdate.ToUnixTimeSeconds();

        // Packs are stored in the background while the next batch is signed; the index is written only after every
        // pack it refers to is stored, so a reader never follows the index to a pack that is not there.
        var packs = new PackQueue(store, id, PackBytes, ResponsePacks.EncodeHeader(writer.CertificatesField.Span), cancellationToken);
        var lastCheckpoint = Stopwatch.StartNew();
        try
        {
            for (int start = 0; start < work.Length; start += BatchSize)
            {
                int count = Math.Min(BatchSize, work.Length - start);
                var batch = new ArraySegment<(SerialNumber Serial, CertStatus Status)>(work, start, count);
                await Parallel.ForEachAsync(Enumerable.Range(0, count),
                    new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
                    async (i, ct) =>
                    {
                        var (serial, status) = batch[i];
                        try
                        {
                            var responses = new byte[algorithms.Length][];
                            for (int a = 0; a < algorithms.Length; a++)
                            {
                                var single = new SingleResponse(ocspIssuer.CertIdFor(serial, algorithms[a]), status, thisUpdate, nextUpdate);
                                bool extendedRevoke = status.Kind == CertStatusKind.Revoked && status.RevocationTime == DateTimeOffset.UnixEpoch
                                                      && status.Reason == RevocationReason.CertificateHold;
                                responses[a] = await writer.WriteStoredFormAsync([single], producedAt, extendedRevoke, ct).ConfigureAwait(false);
                            }
                            // Into the pack and the index as soon as signed: the responses die young (gen0), and no serial
                            // step is left between batches. The index is stored only after its packs (below).
                            var (pack, offset, length) = await packs.AppendAsync(responses, now).ConfigureAwait(false);
                            var entry = new IndexEntry(status.Kind,
                                status.Kind == CertStatusKind.Revoked ? status.RevocationTime.ToUnixTimeSeconds() : -1, status.Reason,
                                thisUpdateSeconds, nextUpdateSeconds, pack, offset, length);
                            lock (index)
                            {
                                index.Entries[serial] = entry;
                                signedResponses += algorithms.Length;
                            }
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            // A failed signature publishes nothing for this serial; the next run retries it.
                            failures.Enqueue($"serial {serial}: {e.Message}");
                        }
                        Progress?.Report(new RefreshProgress(issuer.Name, Interlocked.Increment(ref done), work.Length));
                    }).ConfigureAwait(false);
                packs.ThrowIfFailed();
                indexDirty |= signedResponses > 0;
                sinceCheckpoint += count;
                if (sinceCheckpoint >= CheckpointEvery && start + count < work.Length && lastCheckpoint.Elapsed >= CheckpointInterval)
                {
                    // Packs, then the index, then the manifest that says how its entries were signed: a kill between any
                    // two only costs work (an unreferenced pack is retired by a later run).
                    await packs.FlushAsync().ConfigureAwait(false);
                    await shards.SaveChangedAsync(manifest, now, cancellationToken).ConfigureAwait(false);
                    manifest.SigningFingerprint = fingerprint;
                    manifest.HashAlgorithms = [.. algorithms.Select(a => a.Name())];
                    await WriteManifestAsync(id, manifest, manifestSlot, cancellationToken).ConfigureAwait(false);
                    sinceCheckpoint = 0;
                    lastCheckpoint.Restart();
                }
            }
            await packs.FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            await packs.DisposeAsync().ConfigureAwait(false);
        }
        // Counted only now: responses in a pack that failed to store were not published.
        result.ResponsesSigned = signedResponses;
        result.PacksWritten = packs.Written;

        result.SigningFailures = failures.Count;
        foreach (var failure in failures.Take(20)) result.Errors.Add(failure);
        if (failures.Count > 20) result.Errors.Add($"… and {failures.Count - 20} more signing failures");

        if (indexDirty || shards.NeedsSave) await shards.SaveChangedAsync(manifest, now, cancellationToken).ConfigureAwait(false);

        // The index is stored: from here on the manifest must describe it, whatever else fails.
        // Entries not re-signed (failures) still carry the due marker, so the next run retries them.
        manifest.SigningFingerprint = fingerprint;
        manifest.HashAlgorithms = [.. algorithms.Select(a => a.Name())];
        inputs.Crls.Record(manifest);
        manifest.StickyRevocations = sticky;
        manifest.IssuedSerialCount = inputs.Issued?.Serials.Count;
        manifest.Deterministic = inputs.Issued is not null;
        manifest.ResponderNotAfter = responderNotAfter;
        manifest.Good = result.Good = index.Entries.Values.Count(e => e.Status == CertStatusKind.Good);
        manifest.Revoked = result.Revoked = index.Entries.Values.Count(e => e.Status == CertStatusKind.Revoked);
        manifest.OldestNextUpdate = index.Entries.Count == 0 ? null
            : DateTimeOffset.FromUnixTimeSeconds(index.Entries.Values.Min(e => e.NextUpdate));
        manifest.NextRefreshDue = index.Entries.Count == 0 ? null : index.Entries.Min(kv => RefreshDue(kv.Key, kv.Value));

        var live = index.Packs().ToHashSet(StringComparer.Ordinal);
        manifest.Packs = live.Count;
        try
        {
            await RetirePacksAsync(id, live, manifest, result, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            // Housekeeping only: what is published is complete; a later run retires and deletes what this one could not.
            result.Warnings.Add($"could not retire unused packs: {e.Message}");
            logger.LogWarning(e, "Issuer {Issuer}: could not retire unused packs", Printable.Escape(issuer.Name));
        }

        logger.LogInformation(
            "Issuer {Issuer}: {Changed} changed, {Refreshed} refreshed, {Unchanged} unchanged, {Removed} removed, {Signed} responses signed, {Failures} failures",
            Printable.Escape(issuer.Name), result.Changed, result.Refreshed, result.Unchanged, result.Removed, result.ResponsesSigned, result.SigningFailures);
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

    /// <summary>
    /// Collects signed records into packs (from the signing workers, in turn) and stores each full pack in the background,
    /// one after another. At most <see cref="MaxStoring"/> full packs wait for the store: past that, signing waits (a slow or
    /// throttled store must not grow memory). Pack buffers are reused once stored.
    /// </summary>
    private sealed class PackQueue(IObjectStore store, string issuerId, int packBytes, byte[] header, CancellationToken cancellationToken)
        : IAsyncDisposable
    {
        private const int MaxStoring = 2;
        private readonly Lock _lock = new();
        private readonly SemaphoreSlim _storingSlots = new(MaxStoring, MaxStoring);
        private readonly ConcurrentBag<byte[]> _buffers = [];
        private ResponsePackWriter? _current;
        private Task _storing = Task.CompletedTask;
        private int _written;

        public int Written => _written;

        public async ValueTask<(string Pack, long Offset, int Length)> AppendAsync(byte[][] responses, DateTimeOffset now)
        {
            ResponsePackWriter? full = null;
            (string, long, int) location;
            lock (_lock)
            {
                // Room for the last record past the threshold, so the buffer never grows.
                _current ??= new ResponsePackWriter(ResponsePacks.NewName(now), _buffers.TryTake(out var buffer) ? buffer : new byte[packBytes + (64 << 10)], header);
                var (offset, length) = _current.Append(responses);
                location = (_current.Name, offset, length);
                if (_current.Length >= packBytes)
                {
                    full = _current;
                    _current = null;
                }
            }
            if (full is not null) await StoreAsync(full).ConfigureAwait(false);
            return location;
        }

        /// <summary>A pack that failed to store fails the issuer (not one serial): surfaced after each batch and at the flush.</summary>
        public void ThrowIfFailed()
        {
            if (_storing.IsFaulted) _storing.GetAwaiter().GetResult();
        }

        /// <summary>Waits for a free slot, then stores the pack in the background after those already being stored.</summary>
        private async Task StoreAsync(ResponsePackWriter pack)
        {
            await _storingSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                var previous = _storing;
                _storing = Task.Run(async () =>
                {
                    try
                    {
                        await previous.ConfigureAwait(false);
                        await store.PutAsync(StoreLayout.Pack(issuerId, pack.Name), pack.Content, cancellationToken).ConfigureAwait(false);
                        _buffers.Add(pack.Buffer);
                        Interlocked.Increment(ref _written);
                    }
                    finally
                    {
                        _storingSlots.Release();
                    }
                }, CancellationToken.None);
            }
        }

        /// <summary>Stores the partly filled pack too and waits until every pack is stored (no appends meanwhile).</summary>
        public async Task FlushAsync()
        {
            ResponsePackWriter? partial;
            lock (_lock)
            {
                partial = _current is { Length: > 0 } ? _current : null;
                _current = null;
            }
            if (partial is not null) await StoreAsync(partial).ConfigureAwait(false);
            await _storing.ConfigureAwait(false);
        }

        /// <summary>Waits for a store still running when the run fails; its failure was reported (or another one is on its way).</summary>
        public async ValueTask DisposeAsync()
        {
            try
            {
                await _storing.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Observed: the pack is unreferenced and a later run retires it.
            }
        }
    }

    private DateTimeOffset RefreshDue(SerialNumber serial, IndexEntry entry) =>
        _timing.RefreshDue(DateTimeOffset.FromUnixTimeSeconds(entry.ThisUpdate), DateTimeOffset.FromUnixTimeSeconds(entry.NextUpdate), Spread(serial));

    /// <summary>FNV-1a of the serial: a stable per-serial spread of refresh times.</summary>
    internal static uint Spread(SerialNumber serial)
    {
        uint hash = 2166136261;
        foreach (byte b in serial.Bytes) hash = (hash ^ b) * 16777619;
        return hash;
    }
}
