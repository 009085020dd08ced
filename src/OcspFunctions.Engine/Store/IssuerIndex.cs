using System.Buffers.Text;
using System.Text;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>What the store holds for one serial: the status signed and the response times (Unix seconds).</summary>
public readonly record struct IndexEntry(CertStatusKind Status, long RevocationTime, RevocationReason? Reason, long ThisUpdate, long NextUpdate)
{
    public CertStatus ToCertStatus() => Status switch
    {
        CertStatusKind.Revoked => CertStatus.Revoked(DateTimeOffset.FromUnixTimeSeconds(RevocationTime), Reason),
        CertStatusKind.Good => CertStatus.Good,
        _ => CertStatus.Unknown,
    };

    public bool SameStatus(CertStatus status) => status.Kind == Status
        && (Status != CertStatusKind.Revoked || (status.RevocationTime.ToUnixTimeSeconds() == RevocationTime && status.Reason == Reason));
}

/// <summary>
/// The per-issuer serial index: every serial that has pre-signed responses, with status and times. A server loads
/// it to answer misses from memory; the refresh diffs against it. Stored as tab-separated text:
/// <c>serial  G|R|U  revocationTime  reason  thisUpdate  nextUpdate</c> (times in Unix seconds, '-' for none).
/// </summary>
public sealed class IssuerIndex
{
    public Dictionary<SerialNumber, IndexEntry> Entries { get; }

    public IssuerIndex(Dictionary<SerialNumber, IndexEntry>? entries = null) => Entries = entries ?? [];

    private static ReadOnlySpan<byte> Header => "# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\n"u8;

    /// <summary>The text form, written straight into one exactly sized byte array (a million entries make ~80 MB).</summary>
    public byte[] Serialize()
    {
        long length = Header.Length;
        foreach (var (serial, e) in Entries)
        {
            length += serial.Bytes.Length * 2 + 6 // hex, status, five separators and the newline
                      + (e.Status == CertStatusKind.Revoked ? Digits(e.RevocationTime) : 1)
                      + (e.Reason is { } r ? Digits((int)r) : 1)
                      + Digits(e.ThisUpdate) + Digits(e.NextUpdate) + 1;
        }
        var result = new byte[length];
        var span = result.AsSpan();
        Header.CopyTo(span);
        int pos = Header.Length;
        foreach (var (serial, e) in Entries)
        {
            foreach (byte b in serial.Bytes)
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
            span[pos++] = (byte)'\n';
        }
        if (pos != result.Length) throw new InvalidOperationException("index length miscounted");
        return result;
    }

    private static ReadOnlySpan<byte> HexUpper => "0123456789ABCDEF"u8;

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

    public static IssuerIndex Parse(ReadOnlySpan<byte> content, string source)
    {
        var entries = new Dictionary<SerialNumber, IndexEntry>();
        int lineNumber = 0;
        foreach (var range in content.Split((byte)'\n'))
        {
            lineNumber++;
            var line = content[range];
            if (line.IsEmpty || line[0] == (byte)'#') continue;
            var rest = line;
            var serialField = NextField(ref rest, source, lineNumber);
            var statusField = NextField(ref rest, source, lineNumber);
            long revocation = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long reason = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long thisUpdate = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long nextUpdate = ParseLong(rest, source, lineNumber);
            if (!TryParseSerial(serialField, out var serial))
                throw new StoreException($"{source} line {lineNumber}: bad serial");
            var status = statusField switch
            {
                [(byte)'G'] => CertStatusKind.Good,
                [(byte)'R'] => CertStatusKind.Revoked,
                [(byte)'U'] => CertStatusKind.Unknown,
                _ => throw new StoreException($"{source} line {lineNumber}: bad status"),
            };
            entries[serial] = new IndexEntry(status, revocation, reason < 0 ? null : (RevocationReason)reason, thisUpdate, nextUpdate);
        }
        return new IssuerIndex(entries);
    }

    /// <summary>
    /// <see cref="SerialNumber.TryParseHex(ReadOnlySpan{char}, out SerialNumber)"/> of the field read as ASCII (a non-ASCII byte
    /// becomes '?', as <see cref="Encoding.ASCII"/> decodes it), without a string per line.
    /// </summary>
    private static bool TryParseSerial(ReadOnlySpan<byte> field, out SerialNumber serial)
    {
        Span<char> chars = field.Length <= 256 ? stackalloc char[field.Length] : new char[field.Length];
        for (int i = 0; i < field.Length; i++) chars[i] = field[i] < 0x80 ? (char)field[i] : '?';
        return SerialNumber.TryParseHex(chars, out serial);
    }

    private static ReadOnlySpan<byte> NextField(ref ReadOnlySpan<byte> rest, string source, int line)
    {
        int tab = rest.IndexOf((byte)'\t');
        if (tab < 0) throw new StoreException($"{source} line {line}: expected 6 tab-separated fields");
        var field = rest[..tab];
        rest = rest[(tab + 1)..];
        return field;
    }

    private static long ParseLong(ReadOnlySpan<byte> field, string source, int line)
    {
        if (field is [(byte)'-']) return -1;
        if (System.Buffers.Text.Utf8Parser.TryParse(field, out long value, out int consumed) && consumed == field.Length) return value;
        throw new StoreException($"{source} line {line}: bad number");
    }
}
