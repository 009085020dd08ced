using System.Buffers.Text;
using System.Text;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>The pieces of the index text format (<see cref="IssuerIndex"/>) shared by its writers and its parser.</summary>
internal static class IndexText
{
    public static ReadOnlySpan<byte> Header => "# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\tpack\toffset\tlength\n"u8;

    public static ReadOnlySpan<byte> PackLine => "!pack\t"u8;

    private static ReadOnlySpan<byte> HexUpper => "0123456789ABCDEF"u8;

    public static long PackLineLength(string name, int number) => PackLine.Length + Digits(number) + 1 + Encoding.UTF8.GetByteCount(name) + 1;

    public static long EntryLineLength(int serialLength, in IndexEntry e, int packNumber) =>
        serialLength * 2 + 9 // hex, status, eight separators and the newline
        + (e.Status == CertStatusKind.Revoked ? Digits(e.RevocationTime) : 1)
        + (e.Reason is { } r ? Digits((int)r) : 1)
        + Digits(e.ThisUpdate) + Digits(e.NextUpdate) + 1
        + Digits(packNumber) + Digits(e.Offset) + Digits(e.Length);

    public static void WritePackLine(Span<byte> span, ref int pos, string name, int number)
    {
        PackLine.CopyTo(span[pos..]);
        pos += PackLine.Length;
        WriteNumber(span, ref pos, number);
        span[pos++] = (byte)'\t';
        pos += Encoding.UTF8.GetBytes(name, span[pos..]);
        span[pos++] = (byte)'\n';
    }

    public static void WriteEntryLine(Span<byte> span, ref int pos, ReadOnlySpan<byte> serial, in IndexEntry e, int packNumber)
    {
        foreach (byte b in serial)
        {
            span[pos++] = HexUpper[b >> 4];
            span[pos++] = HexUpper[b & 0xF];
        }
        span[pos++] = (byte)'\t';
        span[pos++] = e.Status switch { CertStatusKind.Good => (byte)'G', CertStatusKind.Revoked => (byte)'R', _ => (byte)'U' };
        span[pos++] = (byte)'\t';
        if (e.Status == CertStatusKind.Revoked) WriteNumber(span, ref pos, e.RevocationTime);
        else span[pos++] = (byte)'-';
        span[pos++] = (byte)'\t';
        if (e.Reason is { } r) WriteNumber(span, ref pos, (int)r);
        else span[pos++] = (byte)'-';
        span[pos++] = (byte)'\t';
        WriteNumber(span, ref pos, e.ThisUpdate);
        span[pos++] = (byte)'\t';
        WriteNumber(span, ref pos, e.NextUpdate);
        span[pos++] = (byte)'\t';
        WriteNumber(span, ref pos, packNumber);
        span[pos++] = (byte)'\t';
        WriteNumber(span, ref pos, e.Offset);
        span[pos++] = (byte)'\t';
        WriteNumber(span, ref pos, e.Length);
        span[pos++] = (byte)'\n';
    }

    /// <summary>A pack's number; entries of one pack share one string and mostly come in runs, so the last one is checked first.</summary>
    public static int PackNumber(Dictionary<string, int> packs, string pack, ref (string Name, int Number) last)
    {
        if (!ReferenceEquals(pack, last.Name)) last = (pack, packs[pack]);
        return last.Number;
    }

    /// <summary>Characters of the invariant decimal form (with '-' when negative).</summary>
    private static int Digits(long value)
    {
        int n = value < 0 ? 2 : 1;
        ulong magnitude = value < 0 ? (ulong)(-(value + 1)) + 1 : (ulong)value;
        while (magnitude >= 10)
        {
            magnitude /= 10;
            n++;
        }
        return n;
    }

    private static void WriteNumber(Span<byte> span, ref int pos, long value)
    {
        if (!Utf8Formatter.TryFormat(value, span[pos..], out int written)) throw new InvalidOperationException("index buffer too small");
        pos += written;
    }

    /// <summary>
    /// The common case of a serial field, only hex digits, as canonical bytes (leading zero bytes dropped, as
    /// <see cref="SerialNumber.FromMagnitude"/> does) into <paramref name="destination"/>; false for anything else
    /// (which <see cref="TryParseSerial"/> then reads as operators may write it).
    /// </summary>
    public static bool TryParsePlainHex(ReadOnlySpan<byte> field, Span<byte> destination, out int written)
    {
        written = 0;
        int n = field.Length;
        if (n == 0 || (n + 1) / 2 > destination.Length) return false;
        int offset = n % 2;
        int length = (n + 1) / 2;
        // An odd count's first digit is a byte of its own; the rest in pairs by the runtime's vectorized decoder (at 10M
        // serials a nothing-to-do run parses 10M of these from the index shards).
        if (offset == 1)
        {
            int v = HexValue(field[0]);
            if (v < 0) return false;
            destination[0] = (byte)v;
        }
        if (Convert.FromHexString(field[offset..], destination[offset..length], out _, out int decoded) != System.Buffers.OperationStatus.Done
            || decoded != length - offset)
            return false;
        int start = 0;
        while (start < length - 1 && destination[start] == 0) start++;
        if (start > 0) destination[start..length].CopyTo(destination);
        written = length - start;
        return true;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };

    /// <summary>
    /// <see cref="SerialNumber.TryParseHex(ReadOnlySpan{char}, out SerialNumber)"/> of the field read as ASCII (a non-ASCII byte
    /// becomes '?', as <see cref="Encoding.ASCII"/> decodes it).
    /// </summary>
    public static bool TryParseSerial(ReadOnlySpan<byte> field, out SerialNumber serial)
    {
        Span<char> chars = field.Length <= 256 ? stackalloc char[field.Length] : new char[field.Length];
        for (int i = 0; i < field.Length; i++) chars[i] = field[i] < 0x80 ? (char)field[i] : '?';
        return SerialNumber.TryParseHex(chars, out serial);
    }

    public static ReadOnlySpan<byte> NextField(ref ReadOnlySpan<byte> rest, string source, int line)
    {
        int tab = rest.IndexOf((byte)'\t');
        if (tab < 0) throw new StoreException($"{source} line {line}: expected 9 tab-separated fields");
        var field = rest[..tab];
        rest = rest[(tab + 1)..];
        return field;
    }

    public static long ParseLong(ReadOnlySpan<byte> field, string source, int line)
    {
        if (field is [(byte)'-']) return -1;
        if (Utf8Parser.TryParse(field, out long value, out int consumed) && consumed == field.Length) return value;
        throw new StoreException($"{source} line {line}: bad number");
    }
}
