using System.Formats.Asn1;

namespace OcspFunctions.Protocol;

/// <summary>
/// CertID (RFC 6960 §4.1.1): hash algorithm, hash of the issuer's subject Name DER, hash of the issuer's
/// subjectPublicKey BIT STRING value, and the certificate serial number.
/// </summary>
public sealed class CertId : IEquatable<CertId>
{
    public CertId(CertIdHashAlgorithm hashAlgorithm, byte[] issuerNameHash, byte[] issuerKeyHash, SerialNumber serialNumber,
        string? hashAlgorithmOid = null)
    {
        HashAlgorithm = hashAlgorithm;
        HashAlgorithmOid = hashAlgorithmOid ?? hashAlgorithm.Oid();
        IssuerNameHash = issuerNameHash;
        IssuerKeyHash = issuerKeyHash;
        SerialNumber = serialNumber;
    }

    public CertIdHashAlgorithm HashAlgorithm { get; }

    /// <summary>The OID as sent; differs from <see cref="HashAlgorithm"/> only when that is Unsupported.</summary>
    public string HashAlgorithmOid { get; }

    public byte[] IssuerNameHash { get; }

    public byte[] IssuerKeyHash { get; }

    public SerialNumber SerialNumber { get; }

    /// <summary>Writes the CertID; the hash AlgorithmIdentifier carries NULL parameters as OpenSSL and Windows do.</summary>
    public void Encode(AsnWriter writer)
    {
        writer.PushSequence();
        if (HashAlgorithm != CertIdHashAlgorithm.Unsupported) writer.WriteEncodedValue(HashAlgorithm.AlgorithmIdentifier());
        else
        {
            writer.PushSequence();
            writer.WriteObjectIdentifier(HashAlgorithmOid);
            writer.WriteNull();
            writer.PopSequence();
        }
        writer.WriteOctetString(IssuerNameHash);
        writer.WriteOctetString(IssuerKeyHash);
        writer.WriteIntegerUnsigned(SerialNumber.Bytes);
        writer.PopSequence();
    }

    /// <summary>Reads a CertID; throws <see cref="AsnContentException"/> or <see cref="FormatException"/> on bad input.</summary>
    public static CertId Decode(AsnReader reader)
    {
        var seq = reader.ReadSequence();
        var algId = seq.ReadSequence();
        string oid = algId.ReadObjectIdentifier();
        if (algId.HasData) algId.ReadNull(); // parameters: absent or NULL (RFC 5754 §2)
        algId.ThrowIfNotEmpty();
        byte[] nameHash = seq.ReadOctetString();
        byte[] keyHash = seq.ReadOctetString();
        var serial = SerialNumber.FromIntegerContents(seq.ReadIntegerBytes().Span);
        seq.ThrowIfNotEmpty();
        return new CertId(CertIdHashAlgorithms.FromOid(oid), nameHash, keyHash, serial, oid);
    }

    public bool Equals(CertId? other) =>
        other is not null && HashAlgorithmOid == other.HashAlgorithmOid && SerialNumber == other.SerialNumber
        && IssuerNameHash.AsSpan().SequenceEqual(other.IssuerNameHash) && IssuerKeyHash.AsSpan().SequenceEqual(other.IssuerKeyHash);

    public override bool Equals(object? obj) => Equals(obj as CertId);

    public override int GetHashCode() => HashCode.Combine(HashAlgorithmOid, SerialNumber, Convert.ToHexString(IssuerKeyHash));

    public override string ToString() =>
        $"{HashAlgorithm.Name()} issuerKeyHash={Convert.ToHexString(IssuerKeyHash)} serial={SerialNumber}";
}
