using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Engine;

/// <summary>Creates the signer for an issuer's responder key: a local key file here, remote keys in the adapters.</summary>
public interface ISignerFactory
{
    Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken);
}

/// <summary>The embedded default: the responder key is a PEM or DER PKCS#8 file.</summary>
public sealed class LocalKeySignerFactory : ISignerFactory
{
    public Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(issuer.Responder.Key))
            throw new ArgumentException($"issuer '{issuer.Name}': Responder:Key is not set");
        try
        {
            IOcspSigner signer = LocalKeySigner.FromFile(issuer.Responder.Key, issuer.Responder.UsePss, issuer.Responder.KeyPassword);
            return Task.FromResult(signer);
        }
        catch (ArgumentException e)
        {
            // A missing or unreadable key file is an input failure of this issuer, like a missing CRL.
            throw new Sources.SourceException(e.Message, e);
        }
    }
}

/// <summary>
/// Implemented by a signer that bounds its own concurrency (a remote key service's adaptive limiter): when
/// <see cref="OcspOptions.SigningConcurrency"/> is 0 the engine runs this many signing calls at once instead of one per processor.
/// </summary>
public interface ISigningConcurrencyHint
{
    int PreferredConcurrency { get; }
}

/// <summary>
/// Implemented by a signer whose key comes with its certificate (a Key Vault certificate: the newest enabled version and
/// its key): the refresh uses <see cref="ResponderCertificate"/> and reads <see cref="ResponderOptions.Certificate"/> only
/// when this is null.
/// </summary>
public interface IResponderCertificateSource
{
    X509Certificate2? ResponderCertificate { get; }

    /// <summary>Where the certificate came from, for messages (e.g. the certificate version's URL).</summary>
    string? ResponderCertificateLocation { get; }
}

/// <summary>
/// Implemented by a signer that knows its service's sustained signing rate (a Key Vault's documented quota), used when no
/// rate has been measured yet (<see cref="ResponderRollover"/>).
/// </summary>
public interface ISigningRateHint
{
    /// <summary>Signatures per second the service allows, or null when it has no stated limit.</summary>
    double? DeclaredSignaturesPerSecond { get; }
}
