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

    /// <summary>
    /// Reads a CertID from the start of a span (the request reader's form, the checks of <see cref="Decode(AsnReader)"/>);
    /// a known hash OID is matched on its encoding, so no OID string is built for it.
    /// </summary>
    internal static CertId Decode(ReadOnlySpan<byte> source, out int consumed)
    {
        var seq = OcspRequest.Sequence(source, out consumed);
        var algId = OcspRequest.Sequence(seq, out int read);
        seq = seq[read..];
        string oid = KnownOid(algId, out read) ?? AsnDecoder.ReadObjectIdentifier(algId, AsnEncodingRules.DER, out read);
        algId = algId[read..];
        if (!algId.IsEmpty) // parameters: absent or NULL (RFC 5754 §2)
        {
            AsnDecoder.ReadNull(algId, AsnEncodingRules.DER, out read);
            algId = algId[read..];
        }
        OcspRequest.NotEmptyAfter(algId, 0);
        byte[] nameHash = AsnDecoder.ReadOctetString(seq, AsnEncodingRules.DER, out read);
        seq = seq[read..];
        byte[] keyHash = AsnDecoder.ReadOctetString(seq, AsnEncodingRules.DER, out read);
        seq = seq[read..];
        var serial = SerialNumber.FromIntegerContents(AsnDecoder.ReadIntegerBytes(seq, AsnEncodingRules.DER, out read));
        OcspRequest.NotEmptyAfter(seq, read);
        return new CertId(CertIdHashAlgorithms.FromOid(oid), nameHash, keyHash, serial, oid);
    }

    private static readonly (byte[] Encoded, string Oid)[] KnownOids =
        [.. new[] { Oids.Sha1, Oids.Sha256, Oids.Sha384, Oids.Sha512 }.Select(oid => (EncodeOid(oid), oid))];

    private static byte[] EncodeOid(string oid)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.WriteObjectIdentifier(oid);
        return w.Encode();
    }

    /// <summary>The OID string when the value at the start is exactly a known hash OID's DER (which reads back as that string).</summary>
    private static string? KnownOid(ReadOnlySpan<byte> source, out int consumed)
    {
        foreach (var (encoded, oid) in KnownOids)
        {
            if (source.StartsWith(encoded))
            {
                consumed = encoded.Length;
                return oid;
            }
        }
        consumed = 0;
        return null;
    }

    public bool Equals(CertId? other) =>
        other is not null && HashAlgorithmOid == other.HashAlgorithmOid && SerialNumber == other.SerialNumber
        && IssuerNameHash.AsSpan().SequenceEqual(other.IssuerNameHash) && IssuerKeyHash.AsSpan().SequenceEqual(other.IssuerKeyHash);

    public override bool Equals(object? obj) => Equals(obj as CertId);

    public override int GetHashCode() => HashCode.Combine(HashAlgorithmOid, SerialNumber, Convert.ToHexString(IssuerKeyHash));

    public override string ToString() =>
        $"{HashAlgorithm.Name()} issuerKeyHash={Convert.ToHexString(IssuerKeyHash)} serial={SerialNumber}";
}
