using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

/// <summary>
/// Responder certificate life: the days-to-expiry thresholds shown by <c>status</c> and <c>/health</c>, and the roll-over
/// check. When a new responder certificate (a new Key Vault version, a new file) changes the signing fingerprint, every
/// stored response is re-signed; the responses still signed by the old certificate end at its notAfter at the latest
/// (nextUpdate is capped there), so the re-signing must finish before it. It is estimated from the responses to re-sign and
/// the signing rate the last runs measured (<see cref="IssuerManifest.SigningRate"/>), else the signer's declared limit
/// (<see cref="ISigningRateHint"/>); a signer with neither (a local key: thousands a second) is not checked.
/// </summary>
public static class ResponderRollover
{
    /// <summary><c>status</c> warns and <c>/health</c> shows the days from here on.</summary>
    public static readonly TimeSpan WarnBefore = ResponderCertificateCheck.DefaultExpiryWarning; // the refresh's own warning

    /// <summary><c>status</c> exits 1 and <c>/health</c> is not fresh from here on.</summary>
    public static readonly TimeSpan FailBefore = TimeSpan.FromDays(7);

    /// <summary>Days (with a fraction) until the responder certificate expires; negative once it has.</summary>
    public static double? DaysToExpiry(DateTimeOffset? notAfter, DateTimeOffset now) =>
        notAfter is { } n ? Math.Round((n - now).TotalDays, 2) : null;

    /// <summary>ok, warn (≤ 30 days) or fail (≤ 7 days, or expired).</summary>
    public static string ExpiryLevel(DateTimeOffset? notAfter, DateTimeOffset now) =>
        notAfter is not { } n ? "ok" : n - now <= FailBefore ? "fail" : n - now <= WarnBefore ? "warn" : "ok";

    /// <summary>
    /// The error for a roll-over that cannot finish in time, or null: <paramref name="oldNotAfter"/> is the certificate
    /// the stored responses were signed with (the manifest's), <paramref name="responses"/> how many must be re-signed.
    /// </summary>
    /// <param name="dutyCycle">The share of wall time runs sign (<see cref="SigningCapacity.DutyCycle"/>: MaxRunTime of every timer interval).</param>
    public static string? CheckRollover(DateTimeOffset? oldNotAfter, DateTimeOffset newNotAfter, long responses, double? measuredRate,
        double? declaredRate, DateTimeOffset now, double dutyCycle = 1)
    {
        if (oldNotAfter is not { } old || old == newNotAfter || old <= now || responses == 0) return null;
        double? rate = measuredRate is > 0 ? measuredRate : declaredRate is > 0 ? declaredRate : null;
        if (rate is not { } r) return null;
        var needed = TimeSpan.FromSeconds(responses / (r * Math.Clamp(dutyCycle, 0.01, 1)));
        var left = old - now;
        if (needed <= left) return null;
        string source = (measuredRate is > 0 ? "measured" : "the signer's declared limit") + (dutyCycle < 1 ? $", signing {Math.Round(dutyCycle * 100):0} % of the time" : "");
        return $"responder certificate roll-over cannot finish in time: {responses:N0} responses to re-sign at {r:N0}/s ({source}) take " +
               $"{needed.TotalHours:N1} h, but the previous responder certificate expires at {old:u}, in {left.TotalHours:N1} h; " +
               "responses it signed end there and become stale until re-signed (raise the signing rate, e.g. a Managed HSM, or roll over earlier)";
    }
}
