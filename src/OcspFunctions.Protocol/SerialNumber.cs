namespace OcspFunctions.Protocol;

/// <summary>
/// A certificate serial number as canonical positive big-endian bytes: the DER INTEGER content without the
/// sign-padding zero (RFC 5280 §4.1.2.2: positive, at most 20 octets — longer ones are accepted here since
/// CAs have issued them). Compared by value; formatted as upper-case hex.
/// </summary>
public readonly struct SerialNumber : IEquatable<SerialNumber>, IComparable<SerialNumber>
{
    private readonly byte[]? _bytes;

    private SerialNumber(byte[] canonical) => _bytes = canonical;

    public ReadOnlySpan<byte> Bytes => _bytes;

    public bool IsDefault => _bytes is null;

    /// <summary>From the content octets of a DER INTEGER. Negative values are refused: they have no canonical positive form.</summary>
    public static SerialNumber FromIntegerContents(ReadOnlySpan<byte> contents)
    {
        if (!TryCanonicalize(contents, out var start))
            throw new FormatException(contents.IsEmpty ? "empty serial number" : "negative serial number");
        return new SerialNumber(contents[start..].ToArray());
    }

    /// <summary>The offset where the canonical bytes start, or false for empty / negative integers.</summary>
    public static bool TryCanonicalize(ReadOnlySpan<byte> contents, out int start)
    {
        start = 0;
        if (contents.IsEmpty || (contents[0] & 0x80) != 0) return false;
        // Strip sign padding (one byte in DER; more only in sloppy BER, treated the same way).
        while (start < contents.Length - 1 && contents[start] == 0) start++;
        return true;
    }

    /// <summary>From canonical (or zero-padded) magnitude bytes, e.g. a SHA-derived serial.</summary>
    public static SerialNumber FromMagnitude(ReadOnlySpan<byte> magnitude)
    {
        int start = 0;
        while (start < magnitude.Length - 1 && magnitude[start] == 0) start++;
        if (magnitude.IsEmpty) throw new FormatException("empty serial number");
        return new SerialNumber(magnitude[start..].ToArray());
    }

    /// <summary>Parses hex as operators write it: any case, optional 0x, ':' or whitespace between digit pairs.</summary>
    public static SerialNumber ParseHex(string text)
    {
        if (!TryParseHex(text, out var serial)) throw new FormatException($"'{text}' is not a hexadecimal serial number");
        return serial;
    }

    public static bool TryParseHex(ReadOnlySpan<char> text, out SerialNumber serial)
    {
        serial = default;
        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        Span<char> digits = text.Length <= 512 ? stackalloc char[text.Length] : new char[text.Length];
        int n = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiHexDigit(c)) digits[n++] = c;
            else if (c is not (':' or ' ' or '\t')) return false;
        }
        if (n == 0) return false;
        var bytes = new byte[(n + 1) / 2];
        int offset = n % 2;
        if (offset == 1) bytes[0] = (byte)HexValue(digits[0]);
        for (int i = offset; i < n; i += 2) bytes[(i + offset) / 2] = (byte)(HexValue(digits[i]) << 4 | HexValue(digits[i + 1]));
        serial = FromMagnitude(bytes);
        return true;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>DER INTEGER content octets (the canonical bytes, sign-padded when the top bit is set).</summary>
    public byte[] ToIntegerContents()
    {
        var b = _bytes ?? throw new InvalidOperationException("default serial");
        if ((b[0] & 0x80) == 0) return b;
        var padded = new byte[b.Length + 1];
        b.CopyTo(padded, 1);
        return padded;
    }

    public override string ToString() => _bytes is null ? "" : Convert.ToHexString(_bytes);

    public bool Equals(SerialNumber other) => Bytes.SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is SerialNumber other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }

    /// <summary>Numeric order (shorter canonical magnitude is smaller).</summary>
    public int CompareTo(SerialNumber other)
    {
        int byLength = Bytes.Length.CompareTo(other.Bytes.Length);
        return byLength != 0 ? byLength : Bytes.SequenceCompareTo(other.Bytes);
    }

    public static bool operator ==(SerialNumber left, SerialNumber right) => left.Equals(right);
    public static bool operator !=(SerialNumber left, SerialNumber right) => !left.Equals(right);
}
