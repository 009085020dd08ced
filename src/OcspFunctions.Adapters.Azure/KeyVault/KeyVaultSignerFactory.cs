using System.Collections.Concurrent;
using global::Azure.Core;
using global::Azure.Identity;
using global::Azure.Security.KeyVault.Certificates;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// Creates <see cref="KeyVaultSigner"/>s for issuers' <c>Responder:KeyVaultKeyId</c> (<see cref="KeyVaultSignerAdapter"/>): a
/// vault's or a Managed HSM's key. Signers of keys in the same vault or HSM share one AIMD limiter for the factory's
/// lifetime (the quota or capacity is per vault / HSM, and a long-lived Functions host keeps what it learnt between
/// runs); its settings follow the kind (<see cref="KeyVaultSignerOptions.LimiterFor"/>).
/// </summary>
public sealed class KeyVaultSignerFactory(TokenCredential credential, KeyVaultSignerOptions? options = null)
{
    private readonly KeyVaultSignerOptions _options = options ?? new KeyVaultSignerOptions();
    private readonly ConcurrentDictionary<string, AdaptiveConcurrencyLimiter> _limiters = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Production wiring: DefaultAzureCredential (managed identity when deployed; a user-assigned one by client id).</summary>
    public static KeyVaultSignerFactory CreateDefault(string? managedIdentityClientId = null, KeyVaultSignerOptions? options = null) =>
        new(new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId }), options);

    private readonly ConcurrentDictionary<string, CertificateClient> _certificateClients = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A signer for the newest enabled version of a Key Vault certificate (https://VAULT.vault.azure.net/certificates/NAME):
    /// its key (the certificate's kid, version pinned) with the certificate attached (<see cref="KeyVaultSigner.ResponderCertificate"/>).
    /// </summary>
    public async Task<IOcspSigner> CreateForCertificateAsync(string issuerName, string certificateUrl, bool usePss, CancellationToken cancellationToken)
    {
        try
        {
            var id = KeyVaultCertificateId.Parse(certificateUrl);
            var certificates = new KeyVaultResponderCertificates(CertificateClientFor(id.VaultUri), _options.Time);
            var version = await certificates.LoadNewestAsync(id.Name, cancellationToken).ConfigureAwait(false);
            var signer = (KeyVaultSigner)await CreateAsync(issuerName, version.KeyId, usePss, cancellationToken).ConfigureAwait(false);
            signer.ResponderCertificate = version.Certificate;
            signer.ResponderCertificateLocation = version.Location;
            return signer;
        }
        catch (KeyVaultException e) when (!e.Message.StartsWith("issuer '", StringComparison.Ordinal))
        {
            throw new KeyVaultException($"issuer '{issuerName}': {e.Message}", e.Status, e.ErrorCode, e);
        }
    }

    /// <summary>One official certificates client per vault, on the factory's credential and transport.</summary>
    public CertificateClient CertificateClientFor(Uri vault) => _certificateClients.GetOrAdd(vault.GetLeftPart(UriPartial.Authority), _ =>
    {
        var options = new CertificateClientOptions { DisableChallengeResourceVerification = !_options.VerifyChallengeResource };
        options.Diagnostics.ApplicationId = "OcspFunctions";
        if (_options.Transport is not null) options.Transport = _options.Transport;
        return KeyVaultResponderCertificates.CreateClient(vault, credential, options);
    });

    public async Task<IOcspSigner> CreateAsync(string issuerName, string? keyId, bool usePss, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(keyId)) throw new ArgumentException($"issuer '{issuerName}': Responder:KeyVaultKeyId is not set");
        var id = KeyVaultKeyId.Parse(keyId);
        var limiter = _options.SharedLimiter
                      ?? _limiters.GetOrAdd(id.VaultUri.Authority, _ => new AdaptiveConcurrencyLimiter(_options.LimiterFor(id.Kind), _options.Time));
        try
        {
            return await KeyVaultSigner.CreateAsync(keyId, credential, _options with { UsePss = usePss, SharedLimiter = limiter },
                cancellationToken).ConfigureAwait(false);
        }
        catch (KeyVaultException e)
        {
            throw new KeyVaultException($"issuer '{issuerName}': {e.Message}", e.Status, e.ErrorCode, e);
        }
    }
}
