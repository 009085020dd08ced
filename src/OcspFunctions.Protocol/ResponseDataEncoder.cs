using System.Formats.Asn1;

namespace OcspFunctions.Protocol;

/// <summary>
/// ResponseData (RFC 6960 §4.2.1) as DER written straight into an exactly sized array: every length is computed first,
/// then the bytes written once. A general writer reserves one length octet per SEQUENCE and shifts the content when the
/// length needs more; a refresh encodes millions of these, and those shifts were ~4 % of a signing thread. The bytes are
/// the same as System.Formats.Asn1's AsnWriter writes (tested against it): version v1 omitted (the DEFAULT), times as
/// GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5019 §2.2.4), hash AlgorithmIdentifiers with NULL parameters.
/// </summary>
internal static class ResponseDataEncoder
{
    /// <summary>A GeneralizedTime's whole encoding: 0x18, 15, YYYYMMDDHHMMSSZ.</summary>
    private const int TimeLength = 17;

    /// <param name="responderId">The encoded ResponderID.</param>
    /// <param name="extensions">The encoded <c>[1] EXPLICIT Extensions</c>, or empty for none.</param>
    public static byte[] Encode(ReadOnlySpan<byte> responderId, IReadOnlyList<SingleResponse> responses, DateTimeOffset producedAt,
        ReadOnlySpan<byte> extensions)
    {
        int list = 0;
        foreach (var single in responses) list += Tlv(SingleContent(single));
        int content = responderId.Length + TimeLength + Tlv(list) + extensions.Length;
        var der = new byte[Tlv(content)];
        int pos = 0;
        Header(der, ref pos, 0x30, content);
        Copy(der, ref pos, responderId);
        Time(der, ref pos, producedAt);
        Header(der, ref pos, 0x30, list);
        foreach (var single in responses) WriteSingle(der, ref pos, single);
        Copy(der, ref pos, extensions);
        if (pos != der.Length) throw new InvalidOperationException("ResponseData length miscounted");
        return der;
    }

    /// <summary>SingleResponse: certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT (always present here).</summary>
    private static int SingleContent(SingleResponse single) =>
        Tlv(CertIdContent(single.CertId)) + StatusLength(single.Status) + TimeLength + Tlv(TimeLength);

    private static void WriteSingle(byte[] der, ref int pos, SingleResponse single)
    {
        Header(der, ref pos, 0x30, SingleContent(single));
        var id = single.CertId;
        Header(der, ref pos, 0x30, CertIdContent(id));
        Copy(der, ref pos, AlgorithmIdentifier(id));
        Header(der, ref pos, 0x04, id.IssuerNameHash.Length);
        Copy(der, ref pos, id.IssuerNameHash);
        Header(der, ref pos, 0x04, id.IssuerKeyHash.Length);
        Copy(der, ref pos, id.IssuerKeyHash);
        var serial = id.SerialNumber.Bytes;
        Header(der, ref pos, 0x02, IntegerLength(serial));
        if (serial[0] >= 0x80) der[pos++] = 0x00; // unsigned: a leading zero keeps it positive
        Copy(der, ref pos, serial);

        var status = single.Status;
        switch (status.Kind)
        {
            case CertStatusKind.Good:
                der[pos++] = 0x80; // good [0] IMPLICIT NULL
                der[pos++] = 0x00;
                break;
            case CertStatusKind.Revoked:
                Header(der, ref pos, 0xA1, StatusLength(status) - 2); // revoked [1] IMPLICIT RevokedInfo
                Time(der, ref pos, status.RevocationTime);
                if (status.Reason is { } reason)
                {
                    der[pos++] = 0xA0; // revocationReason [0] EXPLICIT CRLReason (an ENUMERATED of 0–10)
                    der[pos++] = 0x03;
                    der[pos++] = 0x0A;
                    der[pos++] = 0x01;
                    der[pos++] = checked((byte)(int)reason);
                }
                break;
            default:
                der[pos++] = 0x82; // unknown [2] IMPLICIT NULL
                der[pos++] = 0x00;
                break;
        }
        Time(der, ref pos, single.ThisUpdate);
        Header(der, ref pos, 0xA0, TimeLength);
        Time(der, ref pos, single.NextUpdate!.Value);
    }

    private static int CertIdContent(CertId id) =>
        AlgorithmIdentifier(id).Length + Tlv(id.IssuerNameHash.Length) + Tlv(id.IssuerKeyHash.Length) + Tlv(IntegerLength(id.SerialNumber.Bytes));

    /// <summary>The hash AlgorithmIdentifier: encoded once per known algorithm; an unsupported one (as a request sent it) here.</summary>
    private static ReadOnlySpan<byte> AlgorithmIdentifier(CertId id)
    {
        if (id.HashAlgorithm != CertIdHashAlgorithm.Unsupported) return id.HashAlgorithm.AlgorithmIdentifier();
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.WriteObjectIdentifier(id.HashAlgorithmOid);
        w.WriteNull();
        w.PopSequence();
        return w.Encode();
    }

    /// <summary>A serial's canonical magnitude as an INTEGER's content: one more octet when its top bit is set.</summary>
    private static int IntegerLength(ReadOnlySpan<byte> magnitude) => magnitude.Length + (magnitude[0] >= 0x80 ? 1 : 0);

    /// <summary>The whole certStatus: [0]/[2] NULL, or [1] { revocationTime, revocationReason [0] EXPLICIT ENUMERATED? }.</summary>
    private static int StatusLength(CertStatus status)
    {
        if (status.Kind != CertStatusKind.Revoked) return 2;
        int revokedInfo = TimeLength + (status.Reason is null ? 0 : 5);
        return Tlv(revokedInfo);
    }

    private static int Tlv(int content) => 1 + DerLength.Size(content) + content;

    private static void Header(byte[] der, ref int pos, byte tag, int length)
    {
        der[pos++] = tag;
        DerLength.Write(der, ref pos, length);
    }

    private static void Copy(byte[] der, ref int pos, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(der.AsSpan(pos));
        pos += bytes.Length;
    }

    /// <summary>GeneralizedTime YYYYMMDDHHMMSSZ: UTC, fractions of a second dropped (RFC 5019 §2.2.4; Firefox rejects them).</summary>
    private static void Time(byte[] der, ref int pos, DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        if (utc.Year < 1) throw new ArgumentOutOfRangeException(nameof(time));
        der[pos++] = 0x18;
        der[pos++] = 15;
        Digits(der, ref pos, utc.Year, 4);
        Digits(der, ref pos, utc.Month, 2);
        Digits(der, ref pos, utc.Day, 2);
        Digits(der, ref pos, utc.Hour, 2);
        Digits(der, ref pos, utc.Minute, 2);
        Digits(der, ref pos, utc.Second, 2);
        der[pos++] = (byte)'Z';
    }

    private static void Digits(byte[] der, ref int pos, int value, int count)
    {
        for (int i = count - 1; i >= 0; i--, value /= 10) der[pos + i] = (byte)('0' + value % 10);
        pos += count;
    }
}
