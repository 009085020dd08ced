using global::Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>How <see cref="KeyVaultSigner"/> talks to Key Vault.</summary>
public sealed record KeyVaultSignerOptions
{
    /// <summary>RSA keys: sign with PS256 (RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32) instead of RS256.</summary>
    public bool UsePss { get; init; }

    /// <summary>The Key Vault REST api-version.</summary>
    public string ApiVersion { get; init; } = "7.5";

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

    /// <summary>The AIMD concurrency limiter's settings (used when <see cref="SharedLimiter"/> is null).</summary>
    public KeyVaultLimiterOptions Limiter { get; init; } = new();

    /// <summary>A limiter shared with other signers of the same vault (the vault's quota is shared too).</summary>
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
