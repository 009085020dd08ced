using System.Buffers.Text;
using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Protocol.Crl;

/// <summary>
/// A CRL (RFC 5280 §5) read from DER or PEM. The header is decoded at once; the revoked entries are decoded
/// lazily from the one buffer the CRL arrived in, so peak memory is about the size of the file.
/// Every failure is a <see cref="CrlException"/>.
/// </summary>
public sealed class CertificateRevocationList
{
    private const AsnEncodingRules Der = AsnEncodingRules.DER;
    private static readonly Asn1Tag Ctx0 = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private readonly ReadOnlyMemory<byte> _revoked;

    private CertificateRevocationList(ReadOnlyMemory<byte> encoded)
    {
        Encoded = encoded;
        var span = encoded.Span;

        // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
        AsnDecoder.ReadSequence(span, Der, out int listOffset, out int listLength, out int consumed);
        if (consumed != span.Length) throw new AsnContentException("trailing bytes after the CRL");
        int pos = listOffset;
        int end = listOffset + listLength;

        AsnDecoder.ReadEncodedValue(span[pos..end], Der, out int tbsOffset, out int tbsLength, out int tbsConsumed);
        TbsCertList = encoded.Slice(pos, tbsConsumed);
        int tbsContent = pos + tbsOffset;
        pos += tbsConsumed;

        AsnDecoder.ReadSequence(span[pos..end], Der, out _, out _, out int algConsumed);
        SignatureAlgorithm = encoded.Slice(pos, algConsumed).ToArray();
        pos += algConsumed;

        if (!AsnDecoder.TryReadPrimitiveBitString(span[pos..end], Der, out int unused, out var bits, out int bitsConsumed) || unused != 0)
            throw new AsnContentException("signatureValue is not a primitive BIT STRING of whole octets");
        Signature = encoded.Slice(pos + bitsConsumed - bits.Length, bits.Length);
        pos += bitsConsumed;
        if (pos != end) throw new AsnContentException("trailing data in CertificateList");

        _revoked = ReadTbsCertList(encoded.Slice(tbsContent, tbsLength));
    }

    /// <summary>The whole DER CRL.</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    /// <summary>The signed part, TBSCertList, as DER.</summary>
    public ReadOnlyMemory<byte> TbsCertList { get; }

    public byte[] SignatureAlgorithm { get; }

    public ReadOnlyMemory<byte> Signature { get; }

    /// <summary>1 for v1 (no version field), 2 for v2.</summary>
    public int Version { get; private set; }

    public X500DistinguishedName Issuer { get; private set; } = null!;

    public DateTimeOffset ThisUpdate { get; private set; }

    public DateTimeOffset? NextUpdate { get; private set; }

    public BigInteger? CrlNumber { get; private set; }

    /// <summary>The BaseCRLNumber of a delta CRL (RFC 5280 §5.2.4), or null for a full CRL.</summary>
    public BigInteger? DeltaCrlIndicator { get; private set; }

    public bool IsDelta => DeltaCrlIndicator is not null;

    public byte[]? AuthorityKeyIdentifier { get; private set; }

    /// <summary>The CRL's scope when it is partitioned (RFC 5280 §5.2.5), or null for a CRL covering the whole CA.</summary>
    public IssuingDistributionPoint? IssuingDistributionPoint { get; private set; }

    /// <summary>The revoked entries, decoded as they are enumerated.</summary>
    public RevokedCertificateEnumerable RevokedCertificates => new(_revoked);

    /// <summary>Reads DER or PEM ("-----BEGIN X509 CRL-----"). A PEM buffer is decoded in place and becomes the DER buffer.</summary>
    public static CertificateRevocationList Decode(byte[] derOrPem)
    {
        try
        {
            int pem = derOrPem.AsSpan().IndexOf("-----BEGIN X509 CRL-----"u8);
            ReadOnlyMemory<byte> der = pem >= 0 ? DecodePemInPlace(derOrPem, pem) : derOrPem;
            return new CertificateRevocationList(der);
        }
        catch (Exception e) when (e is not CrlException && DecodeErrors.IsDecodeFailure(e))
        {
            throw new CrlException($"malformed CRL: {e.Message}", e);
        }
    }

    /// <summary>Reads a CRL file with a size cap.</summary>
    public static async Task<CertificateRevocationList> LoadAsync(string path, long maxLength = 1L << 30, CancellationToken cancellationToken = default)
    {
        byte[] bytes;
        try
        {
            await using var stream = File.OpenRead(path);
            bytes = await ReadAllAsync(stream, maxLength, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CrlException($"cannot read CRL '{path}': {e.Message}", e);
        }
        return Decode(bytes);
    }

    /// <summary>Reads a stream into one exact-size buffer when the length is known; fails past <paramref name="maxLength"/>.</summary>
    public static async Task<byte[]> ReadAllAsync(Stream stream, long maxLength, CancellationToken cancellationToken)
    {
        if (stream.CanSeek)
        {
            long length = stream.Length - stream.Position;
            if (length > maxLength) throw new CrlException($"CRL of {length} bytes exceeds the {maxLength}-byte cap");
            var exact = new byte[length];
            await stream.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
            return exact;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxLength) throw new CrlException($"CRL exceeds the {maxLength}-byte cap");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>True when the CRL's signature verifies with the CA certificate's key.</summary>
    public bool VerifySignature(X509Certificate2 issuer)
    {
        try
        {
            return SignatureVerifier.Verify(SignatureAlgorithm, TbsCertList.Span, Signature.Span, issuer.PublicKey);
        }
        catch (Exception e) when (DecodeErrors.IsDecodeFailure(e))
        {
            throw new CrlException($"cannot verify CRL signature: {e.Message}", e);
        }
    }

    /// <summary>Throws unless the CRL names <paramref name="issuer"/> as its issuer and its signature verifies with that key.</summary>
    public void EnsureIssuedBy(X509Certificate2 issuer)
    {
        if (!Issuer.RawData.AsSpan().SequenceEqual(issuer.SubjectName.RawData))
            throw new CrlException($"CRL issuer '{Issuer.Name}' is not the CA '{issuer.Subject}'");
        if (!VerifySignature(issuer))
            throw new CrlException($"CRL signature ({SignatureVerifier.AlgorithmName(SignatureAlgorithm)}) does not verify with the key of '{issuer.Subject}'");
    }

    private ReadOnlyMemory<byte> ReadTbsCertList(ReadOnlyMemory<byte> tbs)
    {
        var span = tbs.Span;
        int pos = 0;
        var tag = Asn1Tag.Decode(span, out _);
        if (tag.HasSameClassAndValue(Asn1Tag.Integer))
        {
            if (!AsnDecoder.TryReadInt32(span, Der, out int v, out int c) || v != 1)
                throw new AsnContentException("unsupported CRL version");
            Version = 2;
            pos += c;
        }
        else
        {
            Version = 1;
        }

        AsnDecoder.ReadSequence(span[pos..], Der, out _, out _, out int algConsumed);
        if (!span.Slice(pos, algConsumed).SequenceEqual(SignatureAlgorithm))
            throw new AsnContentException("tbsCertList.signature differs from signatureAlgorithm (RFC 5280 §5.1.1.2)");
        pos += algConsumed;

        AsnDecoder.ReadSequence(span[pos..], Der, out _, out _, out int nameConsumed);
        Issuer = new X500DistinguishedName(span.Slice(pos, nameConsumed));
        pos += nameConsumed;

        ThisUpdate = ReadTime(span[pos..], out int c1);
        pos += c1;
        if (pos < span.Length && IsTime(Asn1Tag.Decode(span[pos..], out _)))
        {
            NextUpdate = ReadTime(span[pos..], out int c2);
            pos += c2;
        }

        ReadOnlyMemory<byte> revoked = ReadOnlyMemory<byte>.Empty;
        if (pos < span.Length && Asn1Tag.Decode(span[pos..], out _).HasSameClassAndValue(Asn1Tag.Sequence))
        {
            AsnDecoder.ReadSequence(span[pos..], Der, out int off, out int len, out int c3);
            revoked = tbs.Slice(pos + off, len);
            pos += c3;
        }

        if (pos < span.Length)
        {
            AsnDecoder.ReadSequence(span[pos..], Der, out int off, out int len, out int c4, Ctx0);
            ReadCrlExtensions(span.Slice(pos + off, len));
            pos += c4;
        }
        if (pos != span.Length) throw new AsnContentException("trailing data in TBSCertList");
        return revoked;
    }

    private void ReadCrlExtensions(ReadOnlySpan<byte> explicitContent)
    {
        var reader = new AsnReader(explicitContent.ToArray(), Der);
        var extensions = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (extensions.HasData)
        {
            var ext = extensions.ReadSequence();
            string oid = ext.ReadObjectIdentifier();
            if (!seen.Add(oid)) throw new AsnContentException($"duplicate CRL extension {oid}");
            bool critical = ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && ext.ReadBoolean();
            var value = new AsnReader(ext.ReadOctetString(), Der);
            ext.ThrowIfNotEmpty();
            switch (oid)
            {
                case Oids.CrlNumber:
                    CrlNumber = value.ReadInteger();
                    break;
                case Oids.DeltaCrlIndicator:
                    DeltaCrlIndicator = value.ReadInteger();
                    break;
                case Oids.AuthorityKeyIdentifier:
                    var aki = value.ReadSequence();
                    if (aki.HasData && aki.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
                        AuthorityKeyIdentifier = aki.ReadOctetString(new Asn1Tag(TagClass.ContextSpecific, 0));
                    break;
                case Oids.IssuingDistributionPoint:
                    IssuingDistributionPoint = Crl.IssuingDistributionPoint.Decode(value.ReadEncodedValue());
                    value.ThrowIfNotEmpty();
                    // indirectCRL means entries may belong to other issuers: not supported (RFC 5280 §5.2.5).
                    if (IssuingDistributionPoint.IndirectCrl) throw new CrlException("indirect CRLs are not supported");
                    break;
                default:
                    // RFC 5280 §5.2: a CRL with an unrecognised critical extension must not be used.
                    if (critical && oid != Oids.FreshestCrl) throw new CrlException($"CRL has an unsupported critical extension {oid}");
                    break;
            }
        }
    }

    internal static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    /// <summary>Time ::= CHOICE { utcTime, generalTime } (RFC 5280 §4.1.2.5).</summary>
    internal static DateTimeOffset ReadTime(ReadOnlySpan<byte> source, out int consumed)
    {
        var tag = Asn1Tag.Decode(source, out _);
        if (tag.HasSameClassAndValue(Asn1Tag.UtcTime)) return AsnDecoder.ReadUtcTime(source, Der, out consumed, twoDigitYearMax: 2049);
        if (tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime)) return AsnDecoder.ReadGeneralizedTime(source, Der, out consumed);
        throw new AsnContentException("expected UTCTime or GeneralizedTime");
    }

    private static ReadOnlyMemory<byte> DecodePemInPlace(byte[] buffer, int begin)
    {
        ReadOnlySpan<byte> header = "-----BEGIN X509 CRL-----"u8;
        int start = begin + header.Length;
        int endMarker = buffer.AsSpan(start).IndexOf("-----END X509 CRL-----"u8);
        if (endMarker < 0) throw new CrlException("PEM CRL has no END line");
        // Compact the base64 body to the front of the buffer, dropping whitespace, then decode in place.
        int n = 0;
        for (int i = start; i < start + endMarker; i++)
        {
            byte b = buffer[i];
            if (b is (byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t') continue;
            buffer[n++] = b;
        }
        var status = Base64.DecodeFromUtf8InPlace(buffer.AsSpan(0, n), out int written);
        if (status != System.Buffers.OperationStatus.Done) throw new CrlException("PEM CRL body is not valid base64");
        return buffer.AsMemory(0, written);
    }
}

/// <summary>Enumerates revokedCertificates without allocating per entry.</summary>
public readonly struct RevokedCertificateEnumerable(ReadOnlyMemory<byte> entries)
{
    public RevokedCertificateEnumerator GetEnumerator() => new(entries);

    public bool IsEmpty => entries.IsEmpty;
}

public struct RevokedCertificateEnumerator(ReadOnlyMemory<byte> entries)
{
    private const AsnEncodingRules Der = AsnEncodingRules.DER;
    private int _position;

    // Encoded OIDs compared as bytes: no string per entry.
    private static ReadOnlySpan<byte> ReasonCodeOid => [0x06, 0x03, 0x55, 0x1D, 0x15];
    private static ReadOnlySpan<byte> InvalidityDateOid => [0x06, 0x03, 0x55, 0x1D, 0x18];
    private static ReadOnlySpan<byte> CertificateIssuerOid => [0x06, 0x03, 0x55, 0x1D, 0x1D];

    public RevokedCertificate Current { get; private set; }

    public bool MoveNext()
    {
        if (_position >= entries.Length) return false;
        try
        {
            Current = ReadEntry(out int consumed);
            _position += consumed;
            return true;
        }
        catch (Exception e) when (e is not CrlException && DecodeErrors.IsDecodeFailure(e))
        {
            throw new CrlException($"malformed CRL entry at offset {_position}: {e.Message}", e);
        }
    }

    private readonly RevokedCertificate ReadEntry(out int consumed)
    {
        var all = entries.Span;
        AsnDecoder.ReadSequence(all[_position..], Der, out int offset, out int length, out consumed);
        int start = _position + offset;
        var entry = all.Slice(start, length);

        var serial = AsnDecoder.ReadIntegerBytes(entry, Der, out int c);
        if (!SerialNumber.TryCanonicalize(serial, out int skip))
            throw new CrlException($"CRL entry at offset {_position} has a negative or empty serial number");
        // The INTEGER is the entry's first element, so its content ends at c.
        var serialMemory = entries.Slice(start + c - serial.Length + skip, serial.Length - skip);
        int pos = c;

        var revocationDate = CertificateRevocationList.ReadTime(entry[pos..], out c);
        pos += c;

        RevocationReason? reason = null;
        DateTimeOffset? invalidity = null;
        if (pos < entry.Length)
        {
            AsnDecoder.ReadSequence(entry[pos..], Der, out int extOffset, out int extLength, out c);
            var exts = entry.Slice(pos + extOffset, extLength);
            pos += c;
            while (!exts.IsEmpty)
            {
                AsnDecoder.ReadSequence(exts, Der, out int eo, out int el, out int ec);
                var ext = exts.Slice(eo, el);
                exts = exts[ec..];
                AsnDecoder.ReadEncodedValue(ext, Der, out _, out _, out int oidLength);
                var oid = ext[..oidLength];
                ext = ext[oidLength..];
                bool critical = false;
                if (!ext.IsEmpty && Asn1Tag.Decode(ext, out _).HasSameClassAndValue(Asn1Tag.Boolean))
                {
                    critical = AsnDecoder.ReadBoolean(ext, Der, out int bc);
                    ext = ext[bc..];
                }
                if (!AsnDecoder.TryReadPrimitiveOctetString(ext, Der, out var value, out int vc) || vc != ext.Length)
                    throw new AsnContentException("bad CRL entry extension");
                if (oid.SequenceEqual(ReasonCodeOid))
                {
                    var e = AsnDecoder.ReadEnumeratedBytes(value, Der, out int rc);
                    if (rc != value.Length || e.Length != 1 || e[0] > 10 || e[0] == 7) throw new AsnContentException("bad reasonCode");
                    reason = (RevocationReason)e[0];
                }
                else if (oid.SequenceEqual(InvalidityDateOid))
                {
                    invalidity = AsnDecoder.ReadGeneralizedTime(value, Der, out _);
                }
                else if (oid.SequenceEqual(CertificateIssuerOid))
                {
                    throw new CrlException("indirect CRL entries (certificateIssuer) are not supported");
                }
                else if (critical)
                {
                    // RFC 5280 §5.3: an unprocessable critical entry extension makes the CRL unusable.
                    throw new CrlException("CRL entry has an unsupported critical extension");
                }
            }
        }
        if (pos != entry.Length) throw new AsnContentException("trailing data in CRL entry");
        return new RevokedCertificate(serialMemory, revocationDate, reason, invalidity);
    }
}
