using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Engine;

/// <summary>The inputs of one issuer, read and validated before anything is signed.</summary>
internal sealed record IssuerInputs(
    X509Certificate2 Responder,
    IOcspSigner Signer,
    StatusDecision Decision,
    IssuedSerials? Issued,
    CrlIngest Crls);

/// <summary>The manifest version this run last read or wrote; every write is conditional on it.</summary>
internal sealed class ManifestSlot(PutCondition condition)
{
    public PutCondition Condition { get; set; } = condition;
}

/// <summary>
/// One issuer's part of a run, kept between the passes over the <see cref="WorkTier"/>s: its inputs, index, plan and
/// the pack queue, and the signing of one tier within the run's <see cref="RunBudget"/>.
/// </summary>
internal sealed class IssuerRun
{
    public required IssuerOptions Issuer { get; init; }
    public required IssuerRefreshResult Result { get; init; }
    public required IssuerManifest Manifest { get; init; }
    public required ManifestSlot Slot { get; init; }
    /// <summary>The index's shards as loaded; saving writes only those whose entries changed.</summary>
    public required ShardedIndexStore Shards { get; init; }

    public IssuerIndex Index => Shards.Index;
    public required IssuerInputs Inputs { get; init; }
    public required OcspIssuer OcspIssuer { get; init; }
    public required CertIdHashAlgorithm[] Algorithms { get; init; }
    public required string Fingerprint { get; init; }
    public required OcspResponseWriter Writer { get; init; }
    public required PackQueue Packs { get; init; }
    public required WorkPlan Plan { get; init; }
    public required DateTimeOffset Now { get; init; }
    public required DateTimeOffset ThisUpdate { get; init; }
    public required DateTimeOffset NextUpdate { get; init; }
    public required int Concurrency { get; init; }

    public string Id => Manifest.IssuerId;

    /// <summary>The index differs from the stored one (removals, due markers, signed entries).</summary>
    public bool IndexDirty { get; set; }

    /// <summary>Failed in an earlier pass: its manifest says why and it does nothing more.</summary>
    public bool Failed { get; set; }

    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Serials signed (all their responses) and responses signed, over every tier.</summary>
    public int SignedSerials;
    public int SignedResponses;

    /// <summary>Signing time on the run's clock, for the rate.</summary>
    public TimeSpan SigningTime { get; set; }

    private int _done;

    /// <summary>
    /// Signs one tier in batches: no signature starts once <paramref name="budget"/> is spent. Each entry goes into a pack
    /// as soon as it is signed and into the in-memory index a few at a time; <paramref name="checkpoint"/> stores them
    /// between batches. Returns how many serials of the tier were signed.
    /// </summary>
    public async Task<int> SignAsync(WorkTier tier, RunBudget budget, int firstBatchSize, int batchSize, IProgress<RefreshProgress>? progress,
        Func<int, bool, Task> checkpoint, CancellationToken cancellationToken)
    {
        var work = Plan.Tier(tier);
        int signed = 0;
        for (int start = 0, count; start < work.Length && !budget.Exhausted; start += count)
        {
            // The first batch is small and published on its own (RefreshEngine.FirstBatchSize): the tier's most urgent serials.
            count = Math.Min(start == 0 ? Math.Min(batchSize, firstBatchSize) : batchSize, work.Length - start);
            var batch = new ArraySegment<(SerialNumber Serial, CertStatus Status)>(work, start, count);
            // Workers take chunks of the batch: one lock on the index and one progress report a chunk, not a serial, and no
            // per-serial scheduling; chunks small enough that the workers finish the batch together.
            var next = new StrongBox<int>(0);
            int chunk = Math.Clamp(count / (Concurrency * 8), 1, 64);
            var workers = new Task<int>[Math.Min(Concurrency, (count + chunk - 1) / chunk)];
            for (int w = 0; w < workers.Length; w++)
                workers[w] = Task.Run(() => SignChunksAsync(batch, next, chunk, budget, progress, cancellationToken), cancellationToken);
            foreach (int n in await Task.WhenAll(workers).ConfigureAwait(false)) signed += n;
            Packs.ThrowIfFailed();
            IndexDirty |= signed > 0;
            await checkpoint(count, start + count < work.Length && !budget.Exhausted).ConfigureAwait(false);
        }
        return signed;
    }

    /// <summary>One signing worker: takes chunks of <paramref name="batch"/> until none is left; returns the serials it signed.</summary>
    private async Task<int> SignChunksAsync(ArraySegment<(SerialNumber Serial, CertStatus Status)> batch, StrongBox<int> next, int chunk,
        RunBudget budget, IProgress<RefreshProgress>? progress, CancellationToken cancellationToken)
    {
        long thisUpdateSeconds = ThisUpdate.ToUnixTimeSeconds(), nextUpdateSeconds = NextUpdate.ToUnixTimeSeconds();
        var producedAt = DateTimeOffset.FromUnixTimeSeconds(Now.ToUnixTimeSeconds());
        var done = new List<(SerialNumber Serial, IndexEntry Entry)>(chunk);
        int signed = 0;
        for (int from; (from = Interlocked.Add(ref next.Value, chunk) - chunk) < batch.Count;)
        {
            int to = Math.Min(from + chunk, batch.Count), attempted = 0;
            for (int i = from; i < to && !budget.Exhausted; i++) // once spent, the rest is left for the next run
            {
                cancellationToken.ThrowIfCancellationRequested();
                attempted++;
                var (serial, status) = batch[i];
                try
                {
                    var responses = new byte[Algorithms.Length][];
                    bool extendedRevoke = status.Kind == CertStatusKind.Revoked && status.RevocationTime == DateTimeOffset.UnixEpoch
                                          && status.Reason == RevocationReason.CertificateHold;
                    for (int a = 0; a < Algorithms.Length; a++)
                    {
                        var single = new SingleResponse(OcspIssuer.CertIdFor(serial, Algorithms[a]), status, ThisUpdate, NextUpdate);
                        responses[a] = await Writer.WriteStoredFormAsync([single], producedAt, extendedRevoke, cancellationToken).ConfigureAwait(false);
                    }
                    // Into the pack as soon as signed: the responses die young (gen0), and no serial step is left between
                    // batches. The index is stored only after its packs.
                    var (pack, offset, length) = await Packs.AppendAsync(responses, Now).ConfigureAwait(false);
                    done.Add((serial, new IndexEntry(status.Kind,
                        status.Kind == CertStatusKind.Revoked ? status.RevocationTime.ToUnixTimeSeconds() : -1, status.Reason,
                        thisUpdateSeconds, nextUpdateSeconds, pack, offset, length)));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failed signature publishes nothing for this serial; the next run retries it.
                    Failures.Enqueue($"serial {serial}: {e.Message}");
                }
            }
            if (done.Count > 0)
            {
                lock (Index)
                {
                    foreach (var (serial, entry) in done) Index.Entries[serial] = entry;
                    SignedResponses += done.Count * Algorithms.Length;
                    SignedSerials += done.Count;
                }
                signed += done.Count;
                done.Clear();
            }
            if (attempted > 0) progress?.Report(new RefreshProgress(Issuer.Name, Interlocked.Add(ref _done, attempted), Plan.Total));
            if (budget.Exhausted) break;
        }
        return signed;
    }
}
