using System.Globalization;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

/// <summary>
/// Revocation is for good: only certificateHold can be lifted (RFC 5280 §3.3, §5.3.1). A serial the published index holds
/// revoked for any other reason (or none) stays revoked, with the same time and reason, when no source lists it any more
/// (a newer CRL dropped it, index.txt or the local revocations lost the line) or a source now calls it only a hold —
/// until the certificate is past its expiry plus the grace, when a source knows the expiry.
/// </summary>
internal static class StickyRevocations
{
    /// <summary>At most this many serials are named in the warning.</summary>
    private const int Named = 5;

    /// <summary>Puts the sticky revocations back into <paramref name="statuses"/>; returns a warning, or null when none.</summary>
    public static (int Count, string? Warning) Apply(DecidedStatuses statuses, IssuerIndex published, IssuedSerials? issued,
        DateTimeOffset now, TimeSpan expiredGrace)
    {
        var kept = new List<(SerialNumber Serial, IndexEntry Entry, CertStatus? Now)>();
        // Only revoked entries become serials (at 10M serials, a serial made for every entry cost more than the rest).
        published.Entries.Visit((ReadOnlySpan<byte> bytes, in IndexEntry entry) =>
        {
            if (entry.Status != CertStatusKind.Revoked || entry.Reason == RevocationReason.CertificateHold) return;
            var serial = SerialNumber.FromMagnitude(bytes);
            bool listed = statuses.TryGetValue(serial, out var current);
            bool stillRevoked = listed && current.Kind == CertStatusKind.Revoked && current.Reason != RevocationReason.CertificateHold;
            if (stillRevoked) return;
            if (issued is not null && issued.Serials.TryGetValue(serial, out var notAfter) && notAfter is { } expiry && now > expiry + expiredGrace)
                return; // expired past the grace: its responses may stop like any other expired certificate's
            kept.Add((serial, entry, listed ? current : null));
            statuses.Keep(serial, entry.ToCertStatus());
        });
        if (kept.Count == 0) return (0, null);
        kept.Sort((a, b) => a.Entry.RevocationTime.CompareTo(b.Entry.RevocationTime));
        var named = kept.Take(Named).Select(k => string.Create(CultureInfo.InvariantCulture,
            $"{k.Serial} ({Reason(k.Entry.Reason)} at {DateTimeOffset.FromUnixTimeSeconds(k.Entry.RevocationTime):yyyy-MM-dd'T'HH:mm:ss'Z'}; now {Describe(k.Now)})"));
        string warning = $"{kept.Count} serials kept revoked that the sources no longer revoke (only certificateHold can be lifted, RFC 5280 §3.3): " +
                         string.Join(", ", named) + (kept.Count > Named ? $", … and {kept.Count - Named} more" : "") +
                         "; they are kept until expiry plus ExpiredGrace, when the issued-serials list gives the expiry";
        return (kept.Count, warning);
    }

    private static string Describe(CertStatus? status) => status is not { } s ? "listed nowhere"
        : s.Kind == CertStatusKind.Revoked ? "listed as certificateHold"
        : "issued, not revoked";

    /// <summary>The RFC 5280 name of a CRLReason.</summary>
    private static string Reason(RevocationReason? reason) => reason switch
    {
        null => "no reason",
        RevocationReason.CaCompromise => "cACompromise",
        RevocationReason.AaCompromise => "aACompromise",
        RevocationReason.RemoveFromCrl => "removeFromCRL",
        { } r => char.ToLowerInvariant(r.ToString()[0]) + r.ToString()[1..],
    };
}
