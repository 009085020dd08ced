using global::Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>How <see cref="KeyVaultSigner"/> talks to Key Vault or a Managed HSM.</summary>
public sealed record KeyVaultSignerOptions
{
    /// <summary>RSA keys: sign with PS256 (RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32) instead of RS256.</summary>
    public bool UsePss { get; init; }

    /// <summary>
    /// The keys REST api-version, for vaults and Managed HSMs alike. 2025-07-01 is the current one; the sign and get key
    /// request and answer shapes are those of 7.x (7.4–7.6 still work and can be set here).
    /// </summary>
    public string ApiVersion { get; init; } = DefaultApiVersion;

    /// <summary>The api-version used unless <see cref="ApiVersion"/> says otherwise.</summary>
    public const string DefaultApiVersion = "2025-07-01";

    /// <summary>Time-out of one HTTP attempt (request and buffered answer). A time-out is retried.</summary>
    public TimeSpan PerCallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries after the first attempt for 429, 500, 502, 503, 504, time-outs and connection failures.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>First back-off when the answer has no Retry-After; doubled per retry (1, 2, 4, 8, 16 s), ±20 % jitter.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of the exponential back-off.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(16);

    /// <summary>A Retry-After longer than this fails the call at once (the next refresh retries it) instead of stalling the run.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The AIMD concurrency limiter's settings for a key vault (used when <see cref="SharedLimiter"/> is null): start at
    /// 16 calls in flight, cap 64. A vault allows 2,000 (HSM) / 4,000 (software) RSA-2048 or EC signatures per 10 s and
    /// answers 429 above that, so the limit is found by backing off.
    /// </summary>
    public KeyVaultLimiterOptions Limiter { get; init; } = new();

    /// <summary>
    /// The limiter's settings for a Managed HSM: start at 64, cap 128. A Managed HSM does not throttle (no 429); its
    /// capacity is its three HSM partitions (per partition about 330 P-256, 160 P-384, 900 RSA-2048 signatures/s by
    /// Microsoft's scaling guidance, up to three times that with all three up), reached only with more calls in flight
    /// than a vault's quota would ever allow. Calls beyond its capacity queue in the HSM, so the cap bounds the wait
    /// rather than the rate; 503 still halves the limit.
    /// </summary>
    public KeyVaultLimiterOptions ManagedHsmLimiter { get; init; } = new() { Initial = 64, Maximum = 128 };

    /// <summary>The limiter settings for keys of <paramref name="kind"/>.</summary>
    public KeyVaultLimiterOptions LimiterFor(KeyVaultKind kind) => kind == KeyVaultKind.ManagedHsm ? ManagedHsmLimiter : Limiter;

    /// <summary>A limiter shared with other signers of the same vault or HSM (its quota or capacity is shared too).</summary>
    public AdaptiveConcurrencyLimiter? SharedLimiter { get; init; }

    /// <summary>The HTTP transport; null for Azure.Core's shared HttpClient transport.</summary>
    public HttpPipelineTransport? Transport { get; init; }

    /// <summary>Refuse a challenge whose resource/scope host is not a parent domain of the vault host (as the Key Vault SDK does).</summary>
    public bool VerifyChallengeResource { get; init; } = true;

    /// <summary>Verify every returned signature with the key's public half before it is used.</summary>
    public bool VerifySignatures { get; init; } = true;

    public ILogger? Logger { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>Counters of one signer (or of the calls sharing its REST client), for logs and the benchmark.</summary>
public sealed class KeyVaultSignerStatistics
{
    private long _requests, _signatures, _throttled, _serverErrors, _timeouts, _transportErrors, _retries, _failures;

    /// <summary>HTTP attempts sent (challenge round trips inside one attempt are not counted).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    public long Signatures => Interlocked.Read(ref _signatures);

    /// <summary>429 answers.</summary>
    public long Throttled => Interlocked.Read(ref _throttled);

    /// <summary>500, 502, 503, 504 answers.</summary>
    public long ServerErrors => Interlocked.Read(ref _serverErrors);

    public long Timeouts => Interlocked.Read(ref _timeouts);

    public long TransportErrors => Interlocked.Read(ref _transportErrors);

    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Calls that ended in an exception.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    internal void Request() => Interlocked.Increment(ref _requests);
    internal void Signature() => Interlocked.Increment(ref _signatures);
    internal void Throttle() => Interlocked.Increment(ref _throttled);
    internal void ServerError() => Interlocked.Increment(ref _serverErrors);
    internal void Timeout() => Interlocked.Increment(ref _timeouts);
    internal void TransportError() => Interlocked.Increment(ref _transportErrors);
    internal void Retry() => Interlocked.Increment(ref _retries);
    internal void Failure() => Interlocked.Increment(ref _failures);

    public override string ToString() =>
        $"requests {Requests}, signatures {Signatures}, 429 {Throttled}, 5xx {ServerErrors}, time-outs {Timeouts}, " +
        $"connection errors {TransportErrors}, retries {Retries}, failures {Failures}";
}
