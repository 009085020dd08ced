using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Crl;

namespace OcspFunctions.Engine;

/// <summary>
/// An issuer's CRLs, read, checked and applied to its <see cref="StatusDecision"/>. Each must verify with the CA key and
/// be current. CRL numbers are tracked per CRL scope — full or delta, and the issuingDistributionPoint of a partitioned
/// CRL (RFC 5280 §5.2.3, §5.2.5) — not per location, so an older CRL is refused wherever it comes from. Of several CRLs
/// of one scope in a run the highest-numbered is used and the others are reported as superseded.
/// </summary>
internal sealed class CrlIngest
{
    private readonly Dictionary<string, CrlScopeState> _accepted = [];
    private readonly List<string> _locations = [];

    private sealed record Read(string Location, string Shown, CertificateRevocationList Crl, string Key, string Scope);

    private CrlIngest()
    {
    }

    /// <summary>The highest CRL number accepted this run per scope key.</summary>
    public IReadOnlyDictionary<string, CrlScopeState> Accepted => _accepted;

    public static async Task<CrlIngest> ReadAsync(IssuerOptions issuer, X509Certificate2 ca, IssuerManifest manifest, DateTimeOffset now,
        Func<string, CancellationToken, Task<byte[]>> fetch, StatusDecision decision, List<string> warnings, CancellationToken cancellationToken)
    {
        var ingest = new CrlIngest();
        string name = Printable.Escape(issuer.Name);
        var read = new List<Read>();
        foreach (var location in issuer.Crls)
        {
            string shown = Printable.Escape(SourceSupport.Display(location));
            var bytes = await fetch(location, cancellationToken).ConfigureAwait(false);
            CertificateRevocationList crl;
            try
            {
                crl = CertificateRevocationList.Decode(bytes);
                crl.EnsureIssuedBy(ca);
            }
            catch (CrlException e)
            {
                throw new SourceException($"CRL {shown}: {e.Message}", e);
            }
            if (crl.NextUpdate is { } next && next <= now)
                throw new SourceException($"CRL {shown} expired at {next:u}; refusing stale revocation data");
            if (crl.NextUpdate is null) warnings.Add($"CRL {shown} has no nextUpdate");
            // Numbers recorded per location before scopes were: still honoured for that location.
            if (manifest.CrlNumbers.TryGetValue(location, out var legacy) && BigInteger.TryParse(legacy, CultureInfo.InvariantCulture, out var legacyNumber)
                && (crl.CrlNumber is not { } n || n < legacyNumber))
                throw new SourceException($"issuer '{name}': CRL {shown} has CRL number {Number(crl.CrlNumber)}, lower than the {legacyNumber} already accepted from {shown} " +
                                          "(a replayed or rolled-back CRL); refused");
            read.Add(new Read(location, shown, crl, ScopeKey(crl), ScopeName(crl)));
            ingest._locations.Add(location);
        }

        var selected = new List<Read>();
        foreach (var group in read.GroupBy(r => r.Key, StringComparer.Ordinal))
            selected.AddRange(ingest.SelectInScope(name, group.ToList(), manifest, issuer, warnings));

        var fulls = selected.Where(r => !r.Crl.IsDelta).ToList();
        foreach (var full in fulls) decision.AddFullCrl(full.Crl);
        foreach (var delta in selected.Where(r => r.Crl.IsDelta))
        {
            // RFC 5280 §5.2.4: a delta applies to a complete CRL of the same scope whose number is at least its BaseCRLNumber.
            if (!fulls.Any(f => f.Crl.CrlNumber is { } n && n >= delta.Crl.DeltaCrlIndicator && SameScope(f.Crl, delta.Crl)))
                throw new SourceException($"delta CRL {delta.Shown} (base {delta.Crl.DeltaCrlIndicator}) has no matching full CRL of the same scope among the configured CRLs");
            decision.ApplyDeltaCrl(delta.Crl);
        }
        return ingest;
    }

    /// <summary>The CRLs of one scope to use: the highest-numbered, if not below the highest accepted before.</summary>
    private List<Read> SelectInScope(string name, List<Read> group, IssuerManifest manifest, IssuerOptions issuer, List<string> warnings)
    {
        var first = group[0];
        manifest.CrlScopes.TryGetValue(first.Key, out var recorded);
        BigInteger? recordedNumber = null;
        if (recorded is not null)
        {
            if (!BigInteger.TryParse(recorded.Number, CultureInfo.InvariantCulture, out var parsed))
                throw new StoreException($"the manifest's CRL number '{Printable.Escape(recorded.Number)}' for the {first.Scope} is not a number");
            recordedNumber = parsed;
        }

        var unnumbered = group.Where(r => r.Crl.CrlNumber is null).ToList();
        if (unnumbered.Count == group.Count && recordedNumber is null)
        {
            // A v1 CRL cannot be ordered: used, with a warning (RFC 5280 §5.2.3 requires the number).
            foreach (var r in group) warnings.Add($"{r.Scope} {r.Shown} has no CRL number: it cannot be checked against an older CRL");
            return group;
        }
        if (unnumbered.Count > 0)
        {
            var r = unnumbered[0];
            string against = recorded is not null ? $"CRL number {recorded.Number} was accepted from {recorded.Location}"
                : $"{group.First(g => g.Crl.CrlNumber is not null).Shown} of the same scope has one";
            throw new SourceException($"issuer '{name}': the {r.Scope} {r.Shown} has no CRL number, but {against}; refused");
        }

        var best = group.MaxBy(r => (r.Crl.CrlNumber!.Value, r.Crl.ThisUpdate))!;
        var number = best.Crl.CrlNumber!.Value;
        if (recordedNumber is { } last && number < last)
            throw new SourceException($"issuer '{name}': the {best.Scope} {best.Shown} has CRL number {number}, lower than the {last} already accepted " +
                                      $"from {recorded!.Location} (a replayed or rolled-back CRL); refused");
        if (recordedNumber is null)
        {
            // First CRL of this scope since numbers were recorded per location: a higher number from a location no longer
            // configured cannot be attributed to a scope, so it is reported rather than enforced.
            foreach (var (location, text) in manifest.CrlNumbers)
            {
                if (!issuer.Crls.Contains(location) && BigInteger.TryParse(text, CultureInfo.InvariantCulture, out var old) && old > number)
                    warnings.Add($"{best.Scope} {best.Shown} has CRL number {number}, lower than the {old} once accepted from " +
                                 $"{Printable.Escape(SourceSupport.Display(location))} (recorded before CRL scopes; not enforced)");
            }
        }
        foreach (var other in group.Where(r => r.Crl.CrlNumber < number))
            warnings.Add($"{other.Scope} {other.Shown} (CRL number {other.Crl.CrlNumber}) is superseded by {best.Shown} (CRL number {number}) and not used");
        _accepted[best.Key] = new CrlScopeState(number.ToString(CultureInfo.InvariantCulture), best.Shown, best.Scope);
        // Same number, same CRL (RFC 5280 §5.2.3); should two differ anyway, both apply (revocations add up).
        return [.. group.Where(r => r.Crl.CrlNumber == number)];
    }

    /// <summary>Raises the recorded numbers to those accepted this run; per-location numbers of the locations read are now covered.</summary>
    public void Record(IssuerManifest manifest)
    {
        foreach (var (key, state) in _accepted)
        {
            if (!manifest.CrlScopes.TryGetValue(key, out var old)
                || !BigInteger.TryParse(old.Number, CultureInfo.InvariantCulture, out var oldNumber)
                || BigInteger.Parse(state.Number, CultureInfo.InvariantCulture) >= oldNumber)
                manifest.CrlScopes[key] = state;
        }
        foreach (var location in _locations) manifest.CrlNumbers.Remove(location);
    }

    /// <summary>The key CRL numbers are recorded under: full or delta, and a partitioned CRL's issuingDistributionPoint.</summary>
    internal static string ScopeKey(CertificateRevocationList crl) =>
        (crl.IsDelta ? "delta" : "full")
        + (crl.IssuingDistributionPoint is { } idp ? "/" + Convert.ToHexStringLower(SHA256.HashData(idp.Encoded))[..16] : "");

    /// <summary>The scope in words ("full CRL", "delta CRL (…)").</summary>
    internal static string ScopeName(CertificateRevocationList crl) =>
        (crl.IsDelta ? "delta CRL" : "full CRL") + (crl.IssuingDistributionPoint is { } idp ? $" ({idp})" : "");

    private static bool SameScope(CertificateRevocationList a, CertificateRevocationList b) =>
        (a.IssuingDistributionPoint, b.IssuingDistributionPoint) switch
        {
            (null, null) => true,
            ({ } x, { } y) => x.Encoded.AsSpan().SequenceEqual(y.Encoded),
            _ => false,
        };

    private static string Number(BigInteger? number) => number?.ToString(CultureInfo.InvariantCulture) ?? "(none)";
}
