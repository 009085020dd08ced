using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OcspFunctions.Protocol.Signing;

/// <summary>
/// Verifies an X.509-style signature (CRL, certificate, OCSP response) against a public key: RSA PKCS#1 v1.5,
/// RSASSA-PSS (salt = hash length, MGF1 with the same hash: the only form .NET verifies) and ECDSA.
/// </summary>
public static class SignatureVerifier
{
    /// <summary>
    /// True when the signature verifies; false when it does not, including with a key of another type (a CA after a
    /// roll-over to another algorithm). Throws <see cref="ArgumentException"/> for unsupported algorithms.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> algorithmIdentifier, ReadOnlySpan<byte> signedData, ReadOnlySpan<byte> signature,
        PublicKey publicKey)
    {
        var (oid, parameters) = ReadAlgorithmIdentifier(algorithmIdentifier);
        switch (oid)
        {
            case Oids.Sha1WithRsa or Oids.Sha256WithRsa or Oids.Sha384WithRsa or Oids.Sha512WithRsa:
            {
                using var rsa = publicKey.GetRSAPublicKey();
                return rsa is not null && rsa.VerifyData(signedData, signature, RsaHash(oid), RSASignaturePadding.Pkcs1);
            }
            case Oids.RsaPss:
            {
                using var rsa = publicKey.GetRSAPublicKey();
                return rsa is not null && rsa.VerifyData(signedData, signature, ReadPssHash(parameters), RSASignaturePadding.Pss);
            }
            case Oids.EcdsaWithSha1 or Oids.EcdsaWithSha256 or Oids.EcdsaWithSha384 or Oids.EcdsaWithSha512:
            {
                using var ec = publicKey.GetECDsaPublicKey();
                return ec is not null && ec.VerifyData(signedData, signature, EcdsaHash(oid), DSASignatureFormat.Rfc3279DerSequence);
            }
            default:
                throw new ArgumentException($"unsupported signature algorithm {oid}");
        }
    }

    public static string AlgorithmName(ReadOnlySpan<byte> algorithmIdentifier)
    {
        try
        {
            return ReadAlgorithmIdentifier(algorithmIdentifier).Oid switch
            {
                Oids.Sha1WithRsa => "sha1WithRSAEncryption",
                Oids.Sha256WithRsa => "sha256WithRSAEncryption",
                Oids.Sha384WithRsa => "sha384WithRSAEncryption",
                Oids.Sha512WithRsa => "sha512WithRSAEncryption",
                Oids.RsaPss => "RSASSA-PSS",
                Oids.EcdsaWithSha1 => "ecdsa-with-SHA1",
                Oids.EcdsaWithSha256 => "ecdsa-with-SHA256",
                Oids.EcdsaWithSha384 => "ecdsa-with-SHA384",
                Oids.EcdsaWithSha512 => "ecdsa-with-SHA512",
                var other => other,
            };
        }
        catch (AsnContentException)
        {
            return "(malformed AlgorithmIdentifier)";
        }
    }

    private static (string Oid, ReadOnlyMemory<byte>? Parameters) ReadAlgorithmIdentifier(ReadOnlySpan<byte> der)
    {
        var reader = new AsnReader(der.ToArray(), AsnEncodingRules.DER);
        var seq = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        string oid = seq.ReadObjectIdentifier();
        ReadOnlyMemory<byte>? parameters = seq.HasData ? seq.ReadEncodedValue() : null;
        seq.ThrowIfNotEmpty();
        return (oid, parameters);
    }

    private static HashAlgorithmName RsaHash(string oid) => oid switch
    {
        Oids.Sha1WithRsa => HashAlgorithmName.SHA1,
        Oids.Sha256WithRsa => HashAlgorithmName.SHA256,
        Oids.Sha384WithRsa => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static HashAlgorithmName EcdsaHash(string oid) => oid switch
    {
        Oids.EcdsaWithSha1 => HashAlgorithmName.SHA1,
        Oids.EcdsaWithSha256 => HashAlgorithmName.SHA256,
        Oids.EcdsaWithSha384 => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static HashAlgorithmName HashFromOid(string oid) => oid switch
    {
        Oids.Sha1 => HashAlgorithmName.SHA1,
        Oids.Sha256 => HashAlgorithmName.SHA256,
        Oids.Sha384 => HashAlgorithmName.SHA384,
        Oids.Sha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentException($"unsupported hash {oid}"),
    };

    /// <summary>RSASSA-PSS-params (RFC 4055 §3.1): hash [0], MGF1 with the same hash [1], salt = hash length [2].</summary>
    private static HashAlgorithmName ReadPssHash(ReadOnlyMemory<byte>? parameters)
    {
        if (parameters is null) throw new ArgumentException("RSASSA-PSS without parameters (SHA-1 defaults) is not supported");
        var reader = new AsnReader(parameters.Value, AsnEncodingRules.DER);
        var seq = reader.ReadSequence();
        var hash = HashAlgorithmName.SHA1;
        var mgfHash = HashAlgorithmName.SHA1;
        int salt = 20;
        var t0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        var t1 = new Asn1Tag(TagClass.ContextSpecific, 1, true);
        var t2 = new Asn1Tag(TagClass.ContextSpecific, 2, true);
        if (seq.HasData && seq.PeekTag().HasSameClassAndValue(t0))
            hash = HashFromOid(seq.ReadSequence(t0).ReadSequence().ReadObjectIdentifier());
        if (seq.HasData && seq.PeekTag().HasSameClassAndValue(t1))
        {
            var mgf = seq.ReadSequence(t1).ReadSequence();
            if (mgf.ReadObjectIdentifier() != Oids.Mgf1) throw new ArgumentException("RSASSA-PSS with a mask function other than MGF1");
            mgfHash = HashFromOid(mgf.ReadSequence().ReadObjectIdentifier());
        }
        if (seq.HasData && seq.PeekTag().HasSameClassAndValue(t2))
            salt = (int)seq.ReadSequence(t2).ReadInteger();
        int hashLength = CryptographicOperations.HashData(hash, []).Length;
        if (mgfHash != hash || salt != hashLength)
            throw new ArgumentException("RSASSA-PSS parameters other than MGF1(same hash) and salt = hash length are not supported");
        return hash;
    }
}
