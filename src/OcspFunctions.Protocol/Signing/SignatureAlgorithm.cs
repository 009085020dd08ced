using System.Security.Cryptography;

namespace OcspFunctions.Protocol.Signing;

public enum SignatureKeyType { Rsa, Ec }

/// <summary>
/// A response signature algorithm with its AlgorithmIdentifier DER, byte-exact as CA/B Forum BR §7.1.3.2
/// lists it (RSA: NULL parameters; ECDSA: parameters absent; PSS: the fixed SHA-256/MGF1/salt-32 form).
/// Names are the JOSE names Key Vault uses for its sign operation.
/// </summary>
public sealed class SignatureAlgorithm
{
    public static readonly SignatureAlgorithm RS256 = new("RS256", SignatureKeyType.Rsa, HashAlgorithmName.SHA256, 0,
        "300d06092a864886f70d01010b0500");
    public static readonly SignatureAlgorithm RS384 = new("RS384", SignatureKeyType.Rsa, HashAlgorithmName.SHA384, 0,
        "300d06092a864886f70d01010c0500");
    public static readonly SignatureAlgorithm PS256 = new("PS256", SignatureKeyType.Rsa, HashAlgorithmName.SHA256, 0,
        "304106092a864886f70d01010a3034a00f300d0609608648016503040201050" +
        "0a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120");
    public static readonly SignatureAlgorithm ES256 = new("ES256", SignatureKeyType.Ec, HashAlgorithmName.SHA256, 32,
        "300a06082a8648ce3d040302");
    public static readonly SignatureAlgorithm ES384 = new("ES384", SignatureKeyType.Ec, HashAlgorithmName.SHA384, 48,
        "300a06082a8648ce3d040303");

    public static IReadOnlyList<SignatureAlgorithm> All { get; } = [RS256, RS384, PS256, ES256, ES384];

    private SignatureAlgorithm(string name, SignatureKeyType keyType, HashAlgorithmName hash, int fieldSize, string algorithmIdentifierHex)
    {
        Name = name;
        KeyType = keyType;
        HashAlgorithm = hash;
        EcFieldSize = fieldSize;
        AlgorithmIdentifier = Convert.FromHexString(algorithmIdentifierHex);
    }

    /// <summary>JOSE / Key Vault name: RS256, PS256, ES256, ES384.</summary>
    public string Name { get; }

    public SignatureKeyType KeyType { get; }

    public HashAlgorithmName HashAlgorithm { get; }

    /// <summary>Octets per ECDSA coordinate (r and s in a raw r‖s signature); 0 for RSA.</summary>
    public int EcFieldSize { get; }

    public bool IsPss => ReferenceEquals(this, PS256);

    /// <summary>The DER AlgorithmIdentifier written into BasicOCSPResponse.signatureAlgorithm.</summary>
    public byte[] AlgorithmIdentifier { get; }

    public RSASignaturePadding RsaPadding => IsPss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;

    public byte[] HashData(ReadOnlySpan<byte> data) => CryptographicOperations.HashData(HashAlgorithm, data);

    public static SignatureAlgorithm FromName(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown signature algorithm '{name}' (use RS256, RS384, PS256, ES256 or ES384)");

    public override string ToString() => Name;
}
