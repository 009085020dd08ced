using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// The public half of a Key Vault key from its JSON Web Key (RFC 7517/7518; Key Vault's kty EC, EC-HSM, RSA, RSA-HSM):
/// RSA n, e or EC crv P-256 / P-384 with x, y, as a .NET key and as SubjectPublicKeyInfo DER.
/// </summary>
public sealed class KeyVaultJsonWebKey
{
    private readonly RSAParameters? _rsa;
    private readonly ECParameters? _ec;

    private KeyVaultJsonWebKey(string kid, string kty, RSAParameters? rsa, ECParameters? ec, IReadOnlyList<string>? keyOps)
    {
        Kid = kid;
        KeyType = kty;
        _rsa = rsa;
        _ec = ec;
        KeyOperations = keyOps;
        using var key = CreatePublicKey();
        SubjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
        KeySize = key.KeySize;
    }

    public string Kid { get; }

    /// <summary>EC, EC-HSM, RSA or RSA-HSM.</summary>
    public string KeyType { get; }

    public bool IsRsa => _rsa is not null;

    public int KeySize { get; }

    /// <summary>key_ops, when the vault listed them.</summary>
    public IReadOnlyList<string>? KeyOperations { get; }

    public byte[] SubjectPublicKeyInfo { get; }

    /// <summary>Octets of an RSA signature (the modulus length); 0 for EC.</summary>
    public int RsaSignatureLength => _rsa is { } r ? r.Modulus!.Length : 0;

    /// <summary>A new .NET public key object (RSA or ECDsa); the caller disposes it.</summary>
    public AsymmetricAlgorithm CreatePublicKey()
    {
        if (_rsa is { } rsaParameters)
        {
            var rsa = RSA.Create();
            rsa.ImportParameters(rsaParameters);
            return rsa;
        }
        var ec = ECDsa.Create();
        ec.ImportParameters(_ec!.Value);
        return ec;
    }

    /// <summary>EC P-256 → ES256, P-384 → ES384; RSA → RS256, or PS256 with <paramref name="usePss"/>.</summary>
    public SignatureAlgorithm PickAlgorithm(bool usePss) => IsRsa
        ? (usePss ? SignatureAlgorithm.PS256 : SignatureAlgorithm.RS256)
        : KeySize == 384 ? SignatureAlgorithm.ES384 : SignatureAlgorithm.ES256;

    /// <summary>Reads the "key" member of a get-key answer (or a bare JWK).</summary>
    public static KeyVaultJsonWebKey Parse(JsonElement jwk, string source)
    {
        if (jwk.ValueKind != JsonValueKind.Object) throw new KeyVaultException($"{source}: the key is not a JSON object");
        string kid = Str(jwk, "kid") ?? throw new KeyVaultException($"{source}: the key has no kid");
        string kty = Str(jwk, "kty") ?? throw new KeyVaultException($"{source}: the key has no kty");
        List<string>? ops = null;
        if (jwk.TryGetProperty("key_ops", out var opsElement) && opsElement.ValueKind == JsonValueKind.Array)
            ops = [.. opsElement.EnumerateArray().Where(o => o.ValueKind == JsonValueKind.String).Select(o => o.GetString()!)];

        switch (kty)
        {
            case "RSA" or "RSA-HSM":
            {
                var n = TrimZeros(Bytes(jwk, "n", source));
                var e = TrimZeros(Bytes(jwk, "e", source));
                if (n.Length * 8 < 2048)
                    throw new KeyVaultException($"{source}: RSA key of {n.Length * 8} bits is too small (CA/B Forum BR §6.1.5: at least 2048)");
                return new KeyVaultJsonWebKey(kid, kty, new RSAParameters { Modulus = n, Exponent = e }, null, ops);
            }
            case "EC" or "EC-HSM":
            {
                string crv = Str(jwk, "crv") ?? throw new KeyVaultException($"{source}: EC key without crv");
                var (curve, size) = crv switch
                {
                    "P-256" => (ECCurve.NamedCurves.nistP256, 32),
                    "P-384" => (ECCurve.NamedCurves.nistP384, 48),
                    _ => throw new KeyVaultException($"{source}: EC curve {crv} is not supported (use P-256 or P-384)"),
                };
                var parameters = new ECParameters
                {
                    Curve = curve,
                    Q = new ECPoint { X = Fixed(Bytes(jwk, "x", source), size, source), Y = Fixed(Bytes(jwk, "y", source), size, source) },
                };
                return new KeyVaultJsonWebKey(kid, kty, null, parameters, ops);
            }
            default:
                throw new KeyVaultException($"{source}: key type {kty} cannot sign (use an EC, EC-HSM, RSA or RSA-HSM key)");
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static byte[] Bytes(JsonElement e, string name, string source)
    {
        string value = Str(e, name) ?? throw new KeyVaultException($"{source}: the key has no '{name}'");
        try
        {
            return Base64Url.DecodeFromChars(value);
        }
        catch (FormatException)
        {
            throw new KeyVaultException($"{source}: the key's '{name}' is not base64url");
        }
    }

    private static byte[] TrimZeros(byte[] value)
    {
        int i = 0;
        while (i < value.Length - 1 && value[i] == 0) i++;
        return i == 0 ? value : value[i..];
    }

    /// <summary>An EC coordinate as exactly <paramref name="size"/> octets (JWK requires it; tolerate a stripped or padded form).</summary>
    private static byte[] Fixed(byte[] value, int size, string source)
    {
        value = TrimZeros(value);
        if (value.Length > size) throw new KeyVaultException($"{source}: EC coordinate of {value.Length} octets for a {size * 8}-bit curve");
        if (value.Length == size) return value;
        var padded = new byte[size];
        value.CopyTo(padded, size - value.Length);
        return padded;
    }
}
