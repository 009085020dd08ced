using Microsoft.Extensions.Logging;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Engine;

/// <summary>
/// What a run reports about an issuer for <c>refresh</c>, <c>status</c> and /health: what the published index holds,
/// the signing rate achieved, and the backlog left with its time to clear.
/// </summary>
internal sealed class IssuerAccounting(OcspOptions options, TimeProvider time, ILogger logger)
{
    private readonly TimingPolicy _timing = new(options.Timing);

    private readonly SigningCapacity _capacity = new(options.Timing, options.Serve.RefreshInterval);

    /// <summary>What the published index holds: shards counted in parallel, no serial made (called after a save).</summary>
    public void RecordCounts(IssuerRun run)
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
                var due = _timing.RefreshDue(serial, entry);
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

    /// <summary>
    /// The rate achieved (recorded from <paramref name="minimumRateSample"/> responses up), the backlog's time to clear, and
    /// a warning when responses would expire before it does.
    /// </summary>
    public void RecordBacklog(IssuerRun run, int minimumRateSample)
    {
        var (result, manifest) = (run.Result, run.Manifest);
        if (run.SignedResponses > 0 && run.SigningTime > TimeSpan.Zero)
        {
            result.SigningRate = run.SignedResponses / run.SigningTime.TotalSeconds;
            if (run.SignedResponses >= minimumRateSample) manifest.SigningRate = result.SigningRate;
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
}
