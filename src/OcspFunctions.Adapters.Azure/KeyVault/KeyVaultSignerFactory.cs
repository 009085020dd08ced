using System.Collections.Concurrent;
using global::Azure.Core;
using global::Azure.Identity;
using OcspFunctions.Engine;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// Creates <see cref="KeyVaultSigner"/>s from ResponderOptions.KeyVaultKeyId (a vault's or a Managed HSM's key). Signers
/// of keys in the same vault or HSM share one AIMD limiter for the factory's lifetime (the quota or capacity is per
/// vault / HSM, and a long-lived Functions host keeps what it learnt between runs); its settings follow the kind
/// (<see cref="KeyVaultSignerOptions.LimiterFor"/>).
/// </summary>
public sealed class KeyVaultSignerFactory(TokenCredential credential, KeyVaultSignerOptions? options = null) : ISignerFactory
{
    private readonly KeyVaultSignerOptions _options = options ?? new KeyVaultSignerOptions();
    private readonly ConcurrentDictionary<string, AdaptiveConcurrencyLimiter> _limiters = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Production wiring: DefaultAzureCredential (managed identity when deployed; a user-assigned one by client id).</summary>
    public static KeyVaultSignerFactory CreateDefault(string? managedIdentityClientId = null, KeyVaultSignerOptions? options = null) =>
        new(new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId }), options);

    public async Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken)
    {
        string keyId = issuer.Responder.KeyVaultKeyId is { Length: > 0 } k
            ? k
            : throw new ArgumentException($"issuer '{issuer.Name}': Responder:KeyVaultKeyId is not set");
        var id = KeyVaultKeyId.Parse(keyId);
        var limiter = _options.SharedLimiter
                      ?? _limiters.GetOrAdd(id.VaultUri.Authority, _ => new AdaptiveConcurrencyLimiter(_options.LimiterFor(id.Kind), _options.Time));
        try
        {
            return await KeyVaultSigner.CreateAsync(keyId, credential, _options with { UsePss = issuer.Responder.UsePss, SharedLimiter = limiter },
                cancellationToken).ConfigureAwait(false);
        }
        catch (KeyVaultException e)
        {
            throw new KeyVaultException($"issuer '{issuer.Name}': {e.Message}", e.Status, e.ErrorCode, e);
        }
    }
}

/// <summary>Per issuer: Key Vault when Responder:KeyVaultKeyId is set, else the local key file (Responder:Key).</summary>
public sealed class ResponderSignerFactory(ISignerFactory localKeys, ISignerFactory? keyVault) : ISignerFactory
{
    public ResponderSignerFactory(TokenCredential? credential, KeyVaultSignerOptions? options = null)
        : this(new LocalKeySignerFactory(), credential is null ? null : new KeyVaultSignerFactory(credential, options))
    {
    }

    public Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(issuer.Responder.KeyVaultKeyId)) return localKeys.CreateAsync(issuer, cancellationToken);
        if (keyVault is null)
            throw new InvalidOperationException($"issuer '{issuer.Name}': Responder:KeyVaultKeyId is set but no Azure credential is configured for Key Vault");
        return keyVault.CreateAsync(issuer, cancellationToken);
    }
}
