using System.Formats.Asn1;

namespace OcspFunctions.Protocol.Signing;

/// <summary>Conversions between raw r‖s (JOSE, Key Vault, IEEE P1363) and DER ECDSA-Sig-Value (RFC 3279 §2.2.3).</summary>
public static class EcdsaSignature
{
    /// <summary>
    /// The DER ECDSA-Sig-Value of a raw r‖s, written directly (what AsnWriter writes, without its buffers: a refresh
    /// converts one per response).
    /// </summary>
    public static byte[] RawToDer(ReadOnlySpan<byte> raw, int fieldSize)
    {
        if (fieldSize <= 0 || raw.Length != 2 * fieldSize)
            throw new ArgumentException($"raw ECDSA signature is {raw.Length} bytes, expected {2 * fieldSize}");
        var r = TrimLeadingZeros(raw[..fieldSize]);
        var s = TrimLeadingZeros(raw[fieldSize..]);
        // INTEGER content: the magnitude, with a 0x00 in front when its top bit is set (positive).
        int rLength = r.Length + (r[0] >> 7), sLength = s.Length + (s[0] >> 7);
        int content = 1 + DerLength.Size(rLength) + rLength + 1 + DerLength.Size(sLength) + sLength;
        var der = new byte[1 + DerLength.Size(content) + content];
        int pos = 0;
        der[pos++] = 0x30;
        DerLength.Write(der, ref pos, content);
        WriteInteger(der, ref pos, r, rLength);
        WriteInteger(der, ref pos, s, sLength);
        return der;
    }

    private static void WriteInteger(byte[] der, ref int pos, ReadOnlySpan<byte> magnitude, int length)
    {
        der[pos++] = 0x02;
        DerLength.Write(der, ref pos, length);
        if (length > magnitude.Length) der[pos++] = 0x00;
        magnitude.CopyTo(der.AsSpan(pos));
        pos += magnitude.Length;
    }

    public static byte[] DerToRaw(ReadOnlySpan<byte> der, int fieldSize)
    {
        var seq = new AsnReader(der.ToArray(), AsnEncodingRules.DER);
        var inner = seq.ReadSequence();
        seq.ThrowIfNotEmpty();
        var raw = new byte[2 * fieldSize];
        WriteFixed(inner.ReadIntegerBytes().Span, raw.AsSpan(0, fieldSize));
        WriteFixed(inner.ReadIntegerBytes().Span, raw.AsSpan(fieldSize));
        inner.ThrowIfNotEmpty();
        return raw;
    }

    private static void WriteFixed(ReadOnlySpan<byte> integer, Span<byte> destination)
    {
        integer = TrimLeadingZeros(integer);
        if (integer.Length > destination.Length) throw new ArgumentException("ECDSA integer longer than the field");
        integer.CopyTo(destination[(destination.Length - integer.Length)..]);
    }

    private static ReadOnlySpan<byte> TrimLeadingZeros(ReadOnlySpan<byte> value)
    {
        int i = 0;
        while (i < value.Length - 1 && value[i] == 0) i++;
        return value[i..];
    }
}
