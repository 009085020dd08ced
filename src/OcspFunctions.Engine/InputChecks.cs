using System.Globalization;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Crl;

namespace OcspFunctions.Engine;

/// <summary>
/// The refresh's input checks, for callers outside a refresh (the CA-side <c>publish</c> verb): the same code decides,
/// so a list the publisher uploads is one the refresh accepts.
/// </summary>
public static class InputChecks
{
    /// <summary>A location as messages show it: without URL credentials or query, control characters escaped.</summary>
    public static string Display(string location) => Printable.Escape(SourceSupport.Display(location));

    /// <summary>Refuses an issued-serials list that lost more than <paramref name="maxShrink"/> of <paramref name="previous"/> (a truncated list).</summary>
    public static void EnsureNotShrunk(int? previous, int count, double maxShrink, string shownLocation)
    {
        if (previous is not { } p || p <= 0) return;
        if (count == 0 || count < p * (1 - maxShrink))
            throw new SourceException($"issued-serials list {shownLocation} shrank from {p} to {count} serials " +
                                      $"(more than MaxSerialsShrink {maxShrink:P0}); is it truncated?");
    }

    /// <summary>
    /// Checks CRLs as the refresh does (<see cref="CrlIngest"/>): each verifies with the CA key, is current, and no CRL
    /// number goes back in its scope — here against <paramref name="published"/>, the CRLs currently at the destination
    /// (those that do not decode are ignored: they set no number). A delta needs a full CRL of its scope among
    /// <paramref name="crls"/>. Throws <see cref="SourceException"/>; returns the warnings.
    /// </summary>
    public static async Task<List<string>> CheckCrlsAsync(string issuerName, IReadOnlyList<(string Location, byte[] Content)> crls, X509Certificate2 ca,
        IEnumerable<(string Location, byte[] Content)> published, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var manifest = new IssuerManifest { Name = issuerName };
        foreach (var (location, content) in published)
        {
            CertificateRevocationList crl;
            try
            {
                crl = CertificateRevocationList.Decode((byte[])content.Clone()); // PEM is decoded in place
            }
            catch (CrlException)
            {
                continue;
            }
            if (crl.CrlNumber is not { } number) continue;
            string key = CrlIngest.ScopeKey(crl);
            if (manifest.CrlScopes.TryGetValue(key, out var old) && BigInteger.Parse(old.Number, CultureInfo.InvariantCulture) >= number) continue;
            manifest.CrlScopes[key] = new CrlScopeState(number.ToString(CultureInfo.InvariantCulture),
                Printable.Escape(SourceSupport.Display(location)), CrlIngest.ScopeName(crl));
        }
        // Copies: a PEM CRL is decoded in place, and the caller uploads the bytes it read.
        var contents = crls.ToDictionary(c => c.Location, c => (byte[])c.Content.Clone(), StringComparer.Ordinal);
        var issuer = new IssuerOptions { Name = issuerName, Crls = [.. crls.Select(c => c.Location)] };
        var warnings = new List<string>();
        await CrlIngest.ReadAsync(issuer, ca, manifest, now, (location, _) => Task.FromResult(contents[location]), new StatusDecision(), warnings,
            cancellationToken).ConfigureAwait(false);
        return warnings;
    }
}
