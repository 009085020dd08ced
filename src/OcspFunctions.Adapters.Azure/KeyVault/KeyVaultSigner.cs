using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using global::Azure.Core;
using Microsoft.Extensions.Logging;
using OcspFunctions.Engine;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// Signs with a Key Vault or Managed HSM key over REST: the digest is computed here and sent to
/// <c>POST {vault}/keys/{name}/{version}/sign?api-version=2025-07-01</c>; the private key never leaves the vault / HSM.
/// At creation the key is read (<c>GET {vault}/keys/{name}[/{version}]</c>): its JWK gives the SubjectPublicKeyInfo
/// the engine compares with the responder certificate and the algorithm (EC P-256 → ES256, P-384 → ES384,
/// RSA → RS256 or PS256); the version is pinned from the returned kid, so a key rotated during a run cannot mix
/// signatures of two keys. Concurrency adapts to throttling (<see cref="AdaptiveConcurrencyLimiter"/>); every
/// signature's length is checked and, by default, verified with the public key.
/// </summary>
public sealed class KeyVaultSigner : DigestSigner, ISigningConcurrencyHint, ISigningRateHint, IResponderCertificateSource, IDisposable
{
    private readonly KeyVaultRestClient _client;
    private readonly KeyVaultSignerOptions _options;
    private readonly KeyVaultJsonWebKey _key;
    private readonly Uri _signUri;
    private readonly ConcurrentBag<AsymmetricAlgorithm> _verifiers = [];

    private KeyVaultSigner(KeyVaultRestClient client, KeyVaultSignerOptions options, KeyVaultKeyId keyId, KeyVaultJsonWebKey key)
    {
        _client = client;
        _options = options;
        KeyId = keyId;
        _key = key;
        Algorithm = key.PickAlgorithm(options.UsePss);
        _signUri = new Uri(keyId.Uri + "/sign?api-version=" + Uri.EscapeDataString(options.ApiVersion));
    }

    /// <summary>The key with its pinned version.</summary>
    public KeyVaultKeyId KeyId { get; }

    /// <summary>EC, EC-HSM, RSA or RSA-HSM.</summary>
    public string KeyType => _key.KeyType;

    public override SignatureAlgorithm Algorithm { get; }

    public KeyVaultSignerStatistics Statistics => _client.Statistics;

    public AdaptiveConcurrencyLimiter Limiter => _client.Limiter;

    /// <summary>The limiter's cap: the engine runs this many signing calls at once so the limiter, not the engine, is the bound.</summary>
    public int PreferredConcurrency => _client.Limiter.Maximum;

    /// <summary>The certificate whose key this is, when the signer was made from a Key Vault certificate (else null: Responder:Certificate).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ResponderCertificate { get; internal set; }

    /// <summary>The certificate version's URL, for messages.</summary>
    public string? ResponderCertificateLocation { get; internal set; }

    /// <summary>
    /// The service's documented sustained rate for this key, for the roll-over check before a rate is measured: a vault
    /// allows per 10 s 2,000 (HSM) / 4,000 (software) RSA-2048 or EC signatures, 500 RSA-3072 and 250 RSA-4096 (HSM); a
    /// Managed HSM is bound by its partitions (two of three up: ~660 P-256, ~320 P-384, ~1,800 RSA-2048 a second).
    /// </summary>
    public double? DeclaredSignaturesPerSecond => (KeyId.Kind, _key.IsRsa, _key.KeySize, _key.KeyType.EndsWith("-HSM", StringComparison.Ordinal)) switch
    {
        (KeyVaultKind.ManagedHsm, false, 256, _) => 660,
        (KeyVaultKind.ManagedHsm, false, _, _) => 320,
        (KeyVaultKind.ManagedHsm, true, 2048, _) => 1_800,
        (KeyVaultKind.ManagedHsm, _, _, _) => null,
        (_, _, _, false) => 400,
        (_, true, 3072, true) => 50,
        (_, true, > 3072, true) => 25,
        _ => 200,
    };

    /// <summary>Reads the key and returns a signer pinned to its current version.</summary>
    /// <param name="keyId">https://NAME.vault.azure.net/keys/KEY[/VERSION] or https://NAME.managedhsm.azure.net/keys/KEY[/VERSION]</param>
    /// <param name="credential">DefaultAzureCredential / ManagedIdentityCredential in production; the identity needs
    /// "Key Vault Crypto User" (vault RBAC) or "Managed HSM Crypto User" (HSM local RBAC) on the key.</param>
    public static async Task<KeyVaultSigner> CreateAsync(string keyId, TokenCredential credential, KeyVaultSignerOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(credential);
        options ??= new KeyVaultSignerOptions();
        var id = KeyVaultKeyId.Parse(keyId);
        var client = new KeyVaultRestClient(credential, options, id.Kind);
        var getUri = new Uri(id.Uri + "?api-version=" + Uri.EscapeDataString(options.ApiVersion));
        var body = await client.SendAsync(RequestMethod.Get, getUri, null, "get key", cancellationToken).ConfigureAwait(false);

        KeyVaultJsonWebKey key;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("key", out var jwk))
                throw new KeyVaultException($"Key Vault key {id}: the answer has no 'key'");
            key = KeyVaultJsonWebKey.Parse(jwk, $"Key Vault key {id}");
            CheckAttributes(root, id, options.Time.GetUtcNow());
        }
        catch (JsonException e)
        {
            throw new KeyVaultException($"Key Vault key {id}: the answer is not JSON ({e.Message})", inner: e);
        }
        if (key.KeyOperations is { } ops && !ops.Contains("sign", StringComparer.Ordinal))
            throw new KeyVaultException($"Key Vault key {id} does not allow 'sign' (key_ops: {string.Join(", ", ops)})");

        var pinned = id with { Version = id.VersionFromKid(key.Kid) };
        if (id.Version is not null && !string.Equals(id.Version, pinned.Version, StringComparison.OrdinalIgnoreCase))
            throw new KeyVaultException($"Key Vault returned version {pinned.Version} for {id}");
        var signer = new KeyVaultSigner(client, options, pinned, key);
        options.Logger?.LogInformation("{Kind} key {Key} ({Kty}, {Bits} bits) signs with {Algorithm}, up to {Concurrency} calls in flight",
            id.Kind == KeyVaultKind.ManagedHsm ? "Managed HSM" : "Key Vault", pinned, key.KeyType, key.KeySize, signer.Algorithm.Name,
            client.Limiter.Maximum);
        return signer;
    }

    /// <summary>attributes.enabled / nbf / exp (Unix seconds): Key Vault refuses to sign outside them, so say so now.</summary>
    private static void CheckAttributes(JsonElement root, KeyVaultKeyId id, DateTimeOffset now)
    {
        if (!root.TryGetProperty("attributes", out var attributes) || attributes.ValueKind != JsonValueKind.Object) return;
        if (attributes.TryGetProperty("enabled", out var enabled) && enabled.ValueKind == JsonValueKind.False)
            throw new KeyVaultException($"Key Vault key {id} is disabled");
        if (attributes.TryGetProperty("nbf", out var nbf) && nbf.TryGetInt64(out long notBefore) && DateTimeOffset.FromUnixTimeSeconds(notBefore) > now)
            throw new KeyVaultException($"Key Vault key {id} is not valid before {DateTimeOffset.FromUnixTimeSeconds(notBefore):u}");
        if (attributes.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out long expires) && DateTimeOffset.FromUnixTimeSeconds(expires) <= now)
            throw new KeyVaultException($"Key Vault key {id} expired at {DateTimeOffset.FromUnixTimeSeconds(expires):u}");
    }

    public override ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(_key.SubjectPublicKeyInfo);

    protected override async ValueTask<byte[]> SignDigestAsync(byte[] digest, CancellationToken cancellationToken)
    {
        var request = SignRequest(Algorithm.Name, digest);
        var answer = await _client.SendAsync(RequestMethod.Post, _signUri, request, "sign", cancellationToken).ConfigureAwait(false);
        byte[] signature;
        try
        {
            using var doc = JsonDocument.Parse(answer);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.String)
                throw new KeyVaultException($"Key Vault sign ({KeyId}): the answer has no 'value'");
            signature = Base64Url.DecodeFromChars(value.GetString()!);
            if (root.TryGetProperty("kid", out var kid) && kid.ValueKind == JsonValueKind.String
                && !string.Equals(KeyId.VersionFromKid(kid.GetString()!), KeyId.Version, StringComparison.OrdinalIgnoreCase))
                throw new KeyVaultException($"Key Vault sign ({KeyId}): signed with another key version ({kid.GetString()})");
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new KeyVaultException($"Key Vault sign ({KeyId}): unreadable answer ({e.Message})", inner: e);
        }

        int expected = Algorithm.KeyType == SignatureKeyType.Ec ? 2 * Algorithm.EcFieldSize : _key.RsaSignatureLength;
        if (signature.Length != expected)
            throw new KeyVaultException($"Key Vault sign ({KeyId}): {Algorithm.Name} signature of {signature.Length} octets, expected {expected}");
        if (_options.VerifySignatures && !Verify(digest, signature))
            throw new KeyVaultException($"Key Vault sign ({KeyId}): the {Algorithm.Name} signature does not verify with the key's public key");
        _client.Statistics.Signature();
        return signature;
    }

    private static byte[] SignRequest(string algorithm, byte[] digest)
    {
        using var buffer = new MemoryStream(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("alg", algorithm);
            json.WriteString("value", Base64Url.EncodeToString(digest));
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private bool Verify(byte[] digest, byte[] signature)
    {
        if (!_verifiers.TryTake(out var key)) key = _key.CreatePublicKey();
        try
        {
            return key switch
            {
                RSA rsa => rsa.VerifyHash(digest, signature, Algorithm.HashAlgorithm, Algorithm.RsaPadding),
                ECDsa ec => ec.VerifyHash(digest, signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
                _ => false,
            };
        }
        finally
        {
            _verifiers.Add(key);
        }
    }

    public void Dispose()
    {
        while (_verifiers.TryTake(out var key)) key.Dispose();
    }
}
