using System.Security.Cryptography;

namespace OcspFunctions.Protocol;

/// <summary>The hash algorithm of a CertID (RFC 6960 §4.1.1). SHA-1 is what legacy clients send; RFC 9919 §3.1 wants SHA-256.</summary>
public enum CertIdHashAlgorithm
{
    /// <summary>A well-formed but unsupported algorithm: the request is valid, the answer is unauthorized.</summary>
    Unsupported = 0,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

public static class CertIdHashAlgorithms
{
    public static readonly IReadOnlyList<CertIdHashAlgorithm> All =
        [CertIdHashAlgorithm.Sha1, CertIdHashAlgorithm.Sha256, CertIdHashAlgorithm.Sha384, CertIdHashAlgorithm.Sha512];

    public static string Oid(this CertIdHashAlgorithm algorithm) => algorithm switch
    {
        CertIdHashAlgorithm.Sha1 => Oids.Sha1,
        CertIdHashAlgorithm.Sha256 => Oids.Sha256,
        CertIdHashAlgorithm.Sha384 => Oids.Sha384,
        CertIdHashAlgorithm.Sha512 => Oids.Sha512,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>The DER AlgorithmIdentifier with NULL parameters (as OpenSSL and Windows write it), encoded once per algorithm.</summary>
    public static ReadOnlySpan<byte> AlgorithmIdentifier(this CertIdHashAlgorithm algorithm) => EncodedAlgorithmIdentifiers[(int)algorithm];

    private static readonly byte[][] EncodedAlgorithmIdentifiers =
        [[], .. new[] { CertIdHashAlgorithm.Sha1, CertIdHashAlgorithm.Sha256, CertIdHashAlgorithm.Sha384, CertIdHashAlgorithm.Sha512 }.Select(EncodeAlgorithmIdentifier)];

    private static byte[] EncodeAlgorithmIdentifier(CertIdHashAlgorithm algorithm)
    {
        var w = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        w.PushSequence();
        w.WriteObjectIdentifier(algorithm.Oid());
        w.WriteNull();
        w.PopSequence();
        return w.Encode();
    }

    public static CertIdHashAlgorithm FromOid(string oid) => oid switch
    {
        Oids.Sha1 => CertIdHashAlgorithm.Sha1,
        Oids.Sha256 => CertIdHashAlgorithm.Sha256,
        Oids.Sha384 => CertIdHashAlgorithm.Sha384,
        Oids.Sha512 => CertIdHashAlgorithm.Sha512,
        _ => CertIdHashAlgorithm.Unsupported,
    };

    /// <summary>Parses the names operators write in configuration: sha1, SHA-256, sha384 …</summary>
    public static CertIdHashAlgorithm Parse(string name) =>
        name.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "sha1" => CertIdHashAlgorithm.Sha1,
            "sha256" => CertIdHashAlgorithm.Sha256,
            "sha384" => CertIdHashAlgorithm.Sha384,
            "sha512" => CertIdHashAlgorithm.Sha512,
            _ => throw new FormatException($"unknown CertID hash algorithm '{name}' (use sha1, sha256, sha384 or sha512)"),
        };

    public static string Name(this CertIdHashAlgorithm algorithm) => algorithm switch
    {
        CertIdHashAlgorithm.Sha1 => "sha1",
        CertIdHashAlgorithm.Sha256 => "sha256",
        CertIdHashAlgorithm.Sha384 => "sha384",
        CertIdHashAlgorithm.Sha512 => "sha512",
        _ => "unsupported",
    };

    public static byte[] Hash(this CertIdHashAlgorithm algorithm, ReadOnlySpan<byte> data) => algorithm switch
    {
        CertIdHashAlgorithm.Sha1 => SHA1.HashData(data),
        CertIdHashAlgorithm.Sha256 => SHA256.HashData(data),
        CertIdHashAlgorithm.Sha384 => SHA384.HashData(data),
        CertIdHashAlgorithm.Sha512 => SHA512.HashData(data),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
