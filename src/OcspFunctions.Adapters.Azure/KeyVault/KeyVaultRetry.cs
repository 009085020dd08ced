using System.Globalization;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>Retry timing: the server's Retry-After, else exponential back-off.</summary>
public static class KeyVaultRetry
{
    /// <summary>Status codes retried: throttling and transient server errors.</summary>
    public static bool IsRetryable(int status) => status is 408 or 429 or 500 or 502 or 503 or 504;

    /// <summary>
    /// The wait a server asked for: <c>retry-after-ms</c> / <c>x-ms-retry-after-ms</c> (milliseconds) first, then
    /// <c>Retry-After</c> as delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Null when absent or unreadable; a
    /// date in the past gives zero.
    /// </summary>
    public static TimeSpan? ParseRetryAfter(string? retryAfter, string? retryAfterMs, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(retryAfterMs)
            && double.TryParse(retryAfterMs.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) && ms >= 0)
            return TimeSpan.FromMilliseconds(ms);
        if (string.IsNullOrWhiteSpace(retryAfter)) return null;
        string value = retryAfter.Trim();
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
            return TimeSpan.FromSeconds(Math.Min(seconds, 86_400));
        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            || DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date))
        {
            var wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>Back-off before retry number <paramref name="retry"/> (0-based): first × 2^retry, capped, ±20 % jitter.</summary>
    public static TimeSpan Backoff(int retry, TimeSpan first, TimeSpan cap, Random? random = null)
    {
        double factor = Math.Pow(2, Math.Min(retry, 30));
        double ms = Math.Min(cap.TotalMilliseconds, first.TotalMilliseconds * factor);
        double jitter = 0.8 + 0.4 * (random ?? Random.Shared).NextDouble();
        return TimeSpan.FromMilliseconds(ms * jitter);
    }
}
