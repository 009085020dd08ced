using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

/// <summary>
/// Reads and checks one issuer's inputs before anything is signed: the responder certificate and key, the CRLs, the
/// issued serials and the local revocations. Any refusal throws; the caller publishes nothing for the issuer.
/// </summary>
internal sealed class IssuerInputReader(IObjectStore store, ISourceReader sources, ISignerFactory signers, long maxSourceBytes)
{
    private readonly SourceFetcher _fetcher = new(store, sources, maxSourceBytes);

    /// <summary>The issuer's CA certificate, the first input: its key hash names the issuer in the store.</summary>
    public async Task<X509Certificate2> ReadCaAsync(IssuerOptions issuer, CancellationToken cancellationToken) =>
        CertificateFiles.Load(await _fetcher.FetchAsync(null, null, issuer.Certificate, cancellationToken).ConfigureAwait(false), SourceSupport.Display(issuer.Certificate));

    public async Task<IssuerInputs> ReadAsync(IssuerOptions issuer, X509Certificate2 ca, IssuerManifest manifest, DateTimeOffset now,
        IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        string id = manifest.IssuerId;

        // Responder certificate and key (RFC 6960 §4.2.2.2): the signer's own certificate (a Key Vault certificate) or the file.
        var signer = await signers.CreateAsync(issuer, cancellationToken).ConfigureAwait(false);
        var supplied = signer as IResponderCertificateSource;
        var responder = supplied?.ResponderCertificate ?? CertificateFiles.Load(
            await _fetcher.FetchAsync(id, manifest, issuer.Responder.Certificate, cancellationToken).ConfigureAwait(false), SourceSupport.Display(issuer.Responder.Certificate));
        string responderShown = supplied?.ResponderCertificate is not null ? supplied.ResponderCertificateLocation ?? "from the signer" : SourceSupport.Display(issuer.Responder.Certificate);
        var findings = ResponderCertificateCheck.Check(responder, ca, now, TimingPolicy.MinimumValidity);
        result.Warnings.AddRange(findings.Where(f => f.Severity == FindingSeverity.Warning).Select(f => Printable.Escape(f.ToString())));
        var errors = findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        if (errors.Count > 0)
            throw new SourceException($"responder certificate {responderShown} ('{responder.Subject}') is not usable: {string.Join("; ", errors)}");
        var spki = await signer.GetSubjectPublicKeyInfoAsync(cancellationToken).ConfigureAwait(false);
        if (!spki.AsSpan().SequenceEqual(responder.PublicKey.ExportSubjectPublicKeyInfo()))
            throw new SourceException($"the responder key does not match the responder certificate {responderShown} ('{responder.Subject}')");

        // CRLs: every one must verify with the CA key, be current and not go backwards in its scope.
        var decision = new StatusDecision();
        var crls = await CrlIngest.ReadAsync(issuer, ca, manifest, now, (location, ct) => _fetcher.FetchAsync(id, manifest, location, ct), decision,
            result.Warnings, cancellationToken).ConfigureAwait(false);

        IssuedSerials? issued = null;
        if (!string.IsNullOrEmpty(issuer.IssuedSerials))
        {
            issued = await ReadIssuedSerialsAsync(issuer, id, manifest, cancellationToken).ConfigureAwait(false);
            int count = issued.Serials.Count;
            InputChecks.EnsureNotShrunk(manifest.IssuedSerialCount, count, issuer.MaxSerialsShrink, SourceSupport.Display(issuer.IssuedSerials));
            decision.AddRevocations(issued.Revocations);
        }
        else
        {
            result.Warnings.Add("no issued-serials list: only revoked serials are pre-signed and all others get unauthorized (not deterministic)");
        }

        if (!string.IsNullOrEmpty(issuer.LocalRevocations))
        {
            var bytes = await _fetcher.FetchAsync(id, manifest, issuer.LocalRevocations, cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(new MemoryStream(bytes));
            decision.AddRevocations(LocalRevocationsParser.Parse(reader, issuer.LocalRevocations));
        }
        return new IssuerInputs(responder, signer, decision, issued, crls);
    }

    private async Task<IssuedSerials> ReadIssuedSerialsAsync(IssuerOptions issuer, string id, IssuerManifest manifest, CancellationToken cancellationToken)
    {
        string location = issuer.IssuedSerials!;
        // A location ending in '/' (a Blob prefix) or an existing directory is the Windows layout.
        bool directory = issuer.IssuedSerialsFormat == IssuedSerialsFormat.WindowsDirectory
                         || (issuer.IssuedSerialsFormat == IssuedSerialsFormat.Auto && (location.EndsWith('/') || Directory.Exists(location)));
        if (directory)
        {
            var names = new List<string>();
            await foreach (var name in sources.ListAsync(location, cancellationToken).ConfigureAwait(false)) names.Add(name);
            return IssuedSerialsParser.FromFileNames(names, location);
        }
        var content = await _fetcher.FetchAsync(id, manifest, location, cancellationToken).ConfigureAwait(false);
        return IssuedSerialsParser.Parse(content, issuer.IssuedSerialsFormat, location);
    }
}
