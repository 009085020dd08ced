using Microsoft.Extensions.Logging;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Engine;

/// <summary>
/// Turns one issuer's checked inputs and its stored index into a run: the statuses decided, sticky revocations kept,
/// responses that must go withdrawn, those that must be re-signed marked, the capacity checked, the work planned in
/// tiers (<see cref="WorkPlan"/>) and the writer and pack queue ready.
/// </summary>
internal sealed class IssuerPlanner(OcspOptions options, IObjectStore store, ILogger logger)
{
    private readonly TimingPolicy _timing = new(options.Timing);

    private readonly SigningCapacity _capacity = new(options.Timing, options.Serve.RefreshInterval);

    /// <summary>
    /// Decides every status, withdraws what must no longer be served, marks what must be re-signed, checks the capacity
    /// and plans the signing work (<see cref="WorkPlan"/>).
    /// </summary>
    public async Task<IssuerRun> PlanAsync(IssuerOptions issuer, OcspIssuer ocspIssuer, IssuerInputs inputs, IssuerManifest manifest, ManifestSlot manifestSlot,
        ShardedIndexStore shards, DateTimeOffset now, IssuerRefreshResult result, int packBytes, CancellationToken cancellationToken)
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
        var stored = await PackRetirement.ListAsync(store, id, cancellationToken).ConfigureAwait(false);
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

        var plan = WorkPlan.Build(statuses, index, now, _timing.RefreshDue);

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
            Packs = new PackQueue(store, id, packBytes, ResponsePacks.EncodeHeader(writer.CertificatesField.Span), cancellationToken),
        };
    }

    /// <summary>
    /// Fails the issuer (or, for a private PKI, warns) when the signer cannot keep the schedule fresh (<see cref="SigningCapacity"/>). The run still signs
    /// and publishes: holding back would keep revocations from being served and, with nothing signed, no faster rate could
    /// ever be measured again.
    /// </summary>
    public void CheckCapacity(IssuerOptions issuer, IOcspSigner signer, int serials, int algorithms, IssuerManifest manifest, IssuerRefreshResult result)
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
}
