using System.Formats.Asn1;

namespace OcspFunctions.Protocol.Signing;

/// <summary>Conversions between raw r‖s (JOSE, Key Vault, IEEE P1363) and DER ECDSA-Sig-Value (RFC 3279 §2.2.3).</summary>
public static class EcdsaSignature
{
    public static byte[] RawToDer(ReadOnlySpan<byte> raw, int fieldSize)
    {
        if (fieldSize <= 0 || raw.Length != 2 * fieldSize)
            throw new ArgumentException($"raw ECDSA signature is {raw.Length} bytes, expected {2 * fieldSize}");
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.WriteIntegerUnsigned(TrimLeadingZeros(raw[..fieldSize]));
        w.WriteIntegerUnsigned(TrimLeadingZeros(raw[fieldSize..]));
        w.PopSequence();
        return w.Encode();
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
