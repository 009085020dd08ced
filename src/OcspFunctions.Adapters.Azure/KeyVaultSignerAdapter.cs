using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Engine;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Adapters.Azure;

/// <summary>The Key Vault key of an issuer, under <c>Ocsp:Issuers:N:Responder</c>.</summary>
public sealed class KeyVaultResponderOptions
{
    /// <summary>The key that signs: https://VAULT.vault.azure.net/keys/NAME[/VERSION].</summary>
    public string? KeyVaultKeyId { get; set; }
}

/// <summary>The identity used for Key Vault; the setting lives under <c>Ocsp:Store</c> (one identity for the app).</summary>
public sealed class AzureIdentityOptions
{
    public string? ManagedIdentityClientId { get; set; }
}

/// <summary>Registers Key Vault keys: selected by <c>Responder:KeyVaultKeyId</c>; DefaultAzureCredential (the managed identity when deployed).</summary>
public sealed class KeyVaultSignerAdapter : SignerAdapter<KeyVaultResponderOptions>
{
    public override string SelectedBy => "KeyVaultKeyId (a Key Vault key)";

    public override Type? SharedOptionsType => typeof(AzureIdentityOptions);

    public override string? SharedSection => "Store";

    protected override bool Selects(KeyVaultResponderOptions options) => !string.IsNullOrWhiteSpace(options.KeyVaultKeyId);

    public override IResponderKeyFactory CreateFactory(object? sharedOptions) =>
        new Factory(new Lazy<KeyVaultSignerFactory>(() => KeyVaultSignerFactory.CreateDefault((sharedOptions as AzureIdentityOptions)?.ManagedIdentityClientId)));

    /// <summary>The credential and the per-vault limiters are created once, on the first Key Vault issuer.</summary>
    private sealed class Factory(Lazy<KeyVaultSignerFactory> keyVault) : IResponderKeyFactory
    {
        public Task<IOcspSigner> CreateAsync(IssuerOptions issuer, object options, CancellationToken cancellationToken) =>
            keyVault.Value.CreateAsync(issuer.Name, ((KeyVaultResponderOptions)options).KeyVaultKeyId, issuer.Responder.UsePss, cancellationToken);
    }
}
