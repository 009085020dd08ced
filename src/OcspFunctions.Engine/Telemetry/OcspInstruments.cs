using System.Diagnostics.Metrics;

namespace OcspFunctions.Engine.Telemetry;

/// <summary>What the per-issuer gauges read: the issuer's manifest as last loaded (README, Metrics).</summary>
public readonly record struct IssuerReading(string Issuer, DateTimeOffset? OldestNextUpdate, DateTimeOffset? ResponderNotAfter, long? Backlog);

/// <summary>
/// The product's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/> (System.Diagnostics.Metrics only:
/// the exporters are the host's business). One instance per responder/refresh host, disposed with it, so a stopped host
/// stops reporting. <see cref="Names"/> is what the infrastructure may refer to (a test holds it to the instruments
/// actually created and to the Bicep and Terraform).
/// </summary>
public sealed class OcspInstruments : IDisposable
{
    public const string MeterName = "OcspFunctions";

    // Counters: Prometheus shows them with "_" for "." and a "_total" suffix; Azure Monitor as customMetrics by this name.
    public const string Answers = "ocsp.answers";
    public const string ClientErrors = "ocsp.client_errors";
    public const string CacheHits = "ocsp.cache.hits";
    public const string StoreReads = "ocsp.store.reads";
    public const string StoreReadDuration = "ocsp.store.read.duration";
    public const string IndexReloads = "ocsp.index.reloads";
    public const string StaleRefused = "ocsp.stale.refused";
    public const string Freshness = "ocsp.freshness";
    public const string ResponderDaysToExpiry = "ocsp.responder.expiry";
    public const string Backlog = "ocsp.refresh.backlog";
    public const string RefreshRuns = "ocsp.refresh.runs";
    public const string RefreshDuration = "ocsp.refresh.duration";
    public const string Signatures = "ocsp.signatures";
    public const string SignerFailures = "ocsp.signer.failures";
    public const string SignerThrottled = "ocsp.signer.throttled";

    public static readonly IReadOnlyList<string> Names =
    [
        Answers, ClientErrors, CacheHits, StoreReads, StoreReadDuration, IndexReloads, StaleRefused, Freshness, ResponderDaysToExpiry,
        Backlog, RefreshRuns, RefreshDuration, Signatures, SignerFailures, SignerThrottled,
    ];

    private readonly Meter _meter;
    private readonly Counter<long> _answers, _clientErrors, _cacheHits, _storeReads, _indexReloads, _staleRefused, _refreshRuns, _signatures,
        _signerFailures, _signerThrottled;
    private readonly Histogram<double> _storeReadDuration, _refreshDuration;

    /// <param name="readings">The per-issuer state the gauges report (none: the gauges report nothing).</param>
    public OcspInstruments(Func<IEnumerable<IssuerReading>>? readings = null, TimeProvider? time = null)
    {
        _meter = new Meter(MeterName);
        time ??= TimeProvider.System;
        readings ??= () => [];
        _answers = _meter.CreateCounter<long>(Answers, "{answer}", "OCSP answers by status (good, revoked, unknown, notModified, unauthorized, malformedRequest, tryLater, internalError) and HTTP method");
        _clientErrors = _meter.CreateCounter<long>(ClientErrors, "{request}", "requests whose POST body never fully arrived (no answer)");
        _cacheHits = _meter.CreateCounter<long>(CacheHits, "{answer}", "responses served from the in-memory cache");
        _storeReads = _meter.CreateCounter<long>(StoreReads, "{read}", "responses read from the store (cache misses)");
        _storeReadDuration = _meter.CreateHistogram(StoreReadDuration, "s", "time to read one response from the store", null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _indexReloads = _meter.CreateCounter<long>(IndexReloads, "{reload}", "issuer indexes loaded after the refresh published a new manifest");
        _staleRefused = _meter.CreateCounter<long>(StaleRefused, "{answer}", "stored responses past their nextUpdate, refused with tryLater");
        _refreshRuns = _meter.CreateCounter<long>(RefreshRuns, "{run}", "refresh runs per issuer by outcome (succeeded, failed)");
        _refreshDuration = _meter.CreateHistogram(RefreshDuration, "s", "duration of a whole refresh run", null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800] });
        _signatures = _meter.CreateCounter<long>(Signatures, "{signature}", "responses signed by the refresh");
        _signerFailures = _meter.CreateCounter<long>(SignerFailures, "{signature}", "signing calls that failed");
        _signerThrottled = _meter.CreateCounter<long>(SignerThrottled, "{response}", "throttling answers (HTTP 429) from the remote signer");
        _meter.CreateObservableGauge(Freshness, () => Readings(readings, r => r.OldestNextUpdate is { } t ? (t - time.GetUtcNow()).TotalSeconds : null),
            "s", "per issuer: time until the earliest nextUpdate of its published responses (negative: stale)");
        _meter.CreateObservableGauge(ResponderDaysToExpiry, () => Readings(readings, r => r.ResponderNotAfter is { } t ? (t - time.GetUtcNow()).TotalDays : null),
            "d", "per issuer: days until the responder certificate expires (from the manifest the responder loaded)");
        _meter.CreateObservableGauge(Backlog, () => Readings(readings, r => r.Backlog),
            "{serial}", "per issuer: serials due for signing that the last refresh left for the next run");
    }

    public Meter Meter => _meter;

    private static IEnumerable<Measurement<double>> Readings(Func<IEnumerable<IssuerReading>> readings, Func<IssuerReading, double?> value)
    {
        foreach (var r in readings())
            if (value(r) is { } v) yield return new Measurement<double>(v, new KeyValuePair<string, object?>("issuer", r.Issuer));
    }

    // Two tags through the fixed-arity overload: no array, no boxing (the values are interned strings).
    public void Answer(string status, string method) =>
        _answers.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("method", method));

    public void ClientError() => _clientErrors.Add(1);
    public void CacheHit() => _cacheHits.Add(1);

    public void StoreRead(TimeSpan elapsed)
    {
        _storeReads.Add(1);
        _storeReadDuration.Record(elapsed.TotalSeconds);
    }

    public void IndexReload(string issuer) => _indexReloads.Add(1, new KeyValuePair<string, object?>("issuer", issuer));
    public void Stale(string issuer) => _staleRefused.Add(1, new KeyValuePair<string, object?>("issuer", issuer));

    /// <summary>One issuer's part of a refresh run.</summary>
    public void RefreshIssuer(string issuer, bool succeeded, long signed, long signingFailures)
    {
        var tag = new KeyValuePair<string, object?>("issuer", issuer);
        _refreshRuns.Add(1, tag, new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : "failed"));
        if (signed > 0) _signatures.Add(signed, tag);
        if (signingFailures > 0) _signerFailures.Add(signingFailures, tag);
    }

    public void RefreshRun(TimeSpan duration, bool succeeded) =>
        _refreshDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : "failed"));

    public void Throttled(long count, string signer)
    {
        if (count > 0) _signerThrottled.Add(count, new KeyValuePair<string, object?>("signer", signer));
    }

    public void Dispose() => _meter.Dispose();
}
