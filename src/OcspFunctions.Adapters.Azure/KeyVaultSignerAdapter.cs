using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Engine;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Adapters.Azure;

/// <summary>The Key Vault key of an issuer, under <c>Ocsp:Issuers:N:Responder</c>.</summary>
public sealed class KeyVaultResponderOptions
{
    /// <summary>The key that signs: https://VAULT.vault.azure.net/keys/NAME[/VERSION].</summary>
    public string? KeyVaultKeyId { get; set; }

    /// <summary>
    /// Or a Key Vault certificate, https://VAULT.vault.azure.net/certificates/NAME: each run signs with the newest enabled
    /// version's key and uses its certificate (no Responder:Certificate); a merged new version rolls over by itself.
    /// </summary>
    public string? KeyVaultCertificate { get; set; }
}

/// <summary>The identity used for Key Vault; the setting lives under <c>Ocsp:Store</c> (one identity for the app).</summary>
public sealed class AzureIdentityOptions
{
    public string? ManagedIdentityClientId { get; set; }
}

/// <summary>Registers Key Vault keys: selected by <c>Responder:KeyVaultKeyId</c> or <c>Responder:KeyVaultCertificate</c>; DefaultAzureCredential (the managed identity when deployed).</summary>
public sealed class KeyVaultSignerAdapter : SignerAdapter<KeyVaultResponderOptions>
{
    public override string SelectedBy => "KeyVaultKeyId (a Key Vault key) or KeyVaultCertificate (a Key Vault certificate)";

    public override Type? SharedOptionsType => typeof(AzureIdentityOptions);

    public override string? SharedSection => "Store";

    protected override bool Selects(KeyVaultResponderOptions options) =>
        !string.IsNullOrWhiteSpace(options.KeyVaultKeyId) || !string.IsNullOrWhiteSpace(options.KeyVaultCertificate);

    protected override bool SuppliesCertificate(KeyVaultResponderOptions options) => !string.IsNullOrWhiteSpace(options.KeyVaultCertificate);

    public override IResponderKeyFactory CreateFactory(object? sharedOptions) =>
        new Factory(new Lazy<KeyVaultSignerFactory>(() => KeyVaultSignerFactory.CreateDefault((sharedOptions as AzureIdentityOptions)?.ManagedIdentityClientId)));

    /// <summary>The credential and the per-vault limiters are created once, on the first Key Vault issuer.</summary>
    private sealed class Factory(Lazy<KeyVaultSignerFactory> keyVault) : IResponderKeyFactory
    {
        public Task<IOcspSigner> CreateAsync(IssuerOptions issuer, object options, CancellationToken cancellationToken)
        {
            var settings = (KeyVaultResponderOptions)options;
            if (string.IsNullOrWhiteSpace(settings.KeyVaultCertificate))
                return keyVault.Value.CreateAsync(issuer.Name, settings.KeyVaultKeyId, issuer.Responder.UsePss, cancellationToken);
            if (!string.IsNullOrWhiteSpace(settings.KeyVaultKeyId))
                throw new ArgumentException($"issuer '{issuer.Name}': set Responder:KeyVaultKeyId or Responder:KeyVaultCertificate, not both");
            return keyVault.Value.CreateForCertificateAsync(issuer.Name, settings.KeyVaultCertificate, issuer.Responder.UsePss, cancellationToken);
        }
    }
}
