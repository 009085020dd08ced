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
/// Implemented by a signer with a documented throughput limit (a Key Vault's throttling): the capacity check uses it
/// instead of, or before there is, a rate measured by a refresh.
/// </summary>
public interface ISigningRateHint
{
    /// <summary>Signatures per second the key service allows; null when not known.</summary>
    double? DeclaredSignaturesPerSecond { get; }
}
