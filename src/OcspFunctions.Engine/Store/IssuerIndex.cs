using System.Buffers.Text;
using System.Text;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>
/// What the store holds for one serial: the status signed, the response times (Unix seconds), and where its responses
/// are: <paramref name="Length"/> bytes at <paramref name="Offset"/> of pack <paramref name="Pack"/>, one stored response
/// (BasicOCSPResponse without certs, <see cref="ResponsePacks"/>) per pre-signed CertID hash algorithm.
/// </summary>
public readonly record struct IndexEntry(CertStatusKind Status, long RevocationTime, RevocationReason? Reason, long ThisUpdate, long NextUpdate,
    string Pack, long Offset, int Length)
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
/// The per-issuer serial index: every serial that has pre-signed responses, with status, times and location. A server
/// loads it to answer misses from memory and to find a response with one ranged read; the refresh diffs against it.
/// Stored as tab-separated text: first the packs, <c>!pack  number  name</c>, then one line per serial,
/// <c>serial  G|R|U  revocationTime  reason  thisUpdate  nextUpdate  pack number  offset  length</c>
/// (times in Unix seconds, '-' for none).
/// </summary>
public sealed class IssuerIndex
{
    public Dictionary<SerialNumber, IndexEntry> Entries { get; }

    public IssuerIndex(Dictionary<SerialNumber, IndexEntry>? entries = null) => Entries = entries ?? [];

    private static ReadOnlySpan<byte> Header => "# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\tpack\toffset\tlength\n"u8;

    private static ReadOnlySpan<byte> PackLine => "!pack\t"u8;

    /// <summary>The packs the entries refer to.</summary>
    public IEnumerable<string> Packs() => Entries.Values.Select(e => e.Pack).Distinct(StringComparer.Ordinal);

    /// <summary>The text form, written straight into one exactly sized byte array (a million entries make ~100 MB).</summary>
    public byte[] Serialize()
    {
        var packs = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in Entries.Values)
        {
            if (string.IsNullOrEmpty(e.Pack) || e.Pack.AsSpan().IndexOfAny('\t', '\n') >= 0) throw new InvalidOperationException($"bad pack name '{e.Pack}'");
            packs.TryAdd(e.Pack, packs.Count);
        }
        (string Name, int Number) last = ("", -1);
        long length = Header.Length;
        foreach (var (name, number) in packs) length += PackLine.Length + Digits(number) + 1 + Encoding.UTF8.GetByteCount(name) + 1;
        foreach (var (serial, e) in Entries)
        {
            length += serial.Bytes.Length * 2 + 9 // hex, status, eight separators and the newline
                      + (e.Status == CertStatusKind.Revoked ? Digits(e.RevocationTime) : 1)
                      + (e.Reason is { } r ? Digits((int)r) : 1)
                      + Digits(e.ThisUpdate) + Digits(e.NextUpdate) + 1
                      + Digits(PackNumber(packs, e.Pack, ref last)) + Digits(e.Offset) + Digits(e.Length);
        }
        var result = new byte[length];
        var span = result.AsSpan();
        Header.CopyTo(span);
        int pos = Header.Length;
        foreach (var (name, number) in packs)
        {
            PackLine.CopyTo(span[pos..]);
            pos += PackLine.Length;
            WriteNumber(span, ref pos, number);
            span[pos++] = (byte)'\t';
            pos += Encoding.UTF8.GetBytes(name, span[pos..]);
            span[pos++] = (byte)'\n';
        }
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
            span[pos++] = (byte)'\t';
            WriteNumber(span, ref pos, PackNumber(packs, e.Pack, ref last));
            span[pos++] = (byte)'\t';
            WriteNumber(span, ref pos, e.Offset);
            span[pos++] = (byte)'\t';
            WriteNumber(span, ref pos, e.Length);
            span[pos++] = (byte)'\n';
        }
        if (pos != result.Length) throw new InvalidOperationException("index length miscounted");
        return result;
    }

    /// <summary>A pack's number; entries of one pack share one string and mostly come in runs, so the last one is checked first.</summary>
    private static int PackNumber(Dictionary<string, int> packs, string pack, ref (string Name, int Number) last)
    {
        if (!ReferenceEquals(pack, last.Name)) last = (pack, packs[pack]);
        return last.Number;
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
        ParseInto(content, source, entries);
        return new IssuerIndex(entries);
    }

    /// <summary>Adds the entries of <paramref name="content"/> to <paramref name="entries"/> (index shards merged into one index).</summary>
    public static void ParseInto(ReadOnlySpan<byte> content, string source, Dictionary<SerialNumber, IndexEntry> entries)
    {
        var packs = new Dictionary<long, string>();
        int lineNumber = 0;
        foreach (var range in content.Split((byte)'\n'))
        {
            lineNumber++;
            var line = content[range];
            if (line.IsEmpty || line[0] == (byte)'#') continue;
            var rest = line;
            if (line.StartsWith(PackLine))
            {
                rest = line[PackLine.Length..];
                long number = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
                if (number < 0 || rest.IsEmpty || !packs.TryAdd(number, Encoding.UTF8.GetString(rest)))
                    throw new StoreException($"{source} line {lineNumber}: bad pack line");
                continue;
            }
            if (line.Count((byte)'\t') == 5)
                throw new StoreException($"{source} line {lineNumber}: an index from before response packs (one file per response); " +
                                         "delete it and the store's responses/ folder, then run refresh to re-sign every serial");
            var serialField = NextField(ref rest, source, lineNumber);
            var statusField = NextField(ref rest, source, lineNumber);
            long revocation = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long reason = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long thisUpdate = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long nextUpdate = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long packNumber = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long offset = ParseLong(NextField(ref rest, source, lineNumber), source, lineNumber);
            long length = ParseLong(rest, source, lineNumber);
            if (!packs.TryGetValue(packNumber, out var pack)) throw new StoreException($"{source} line {lineNumber}: pack {packNumber} is not declared");
            if (offset < 0 || length <= 0 || length > int.MaxValue) throw new StoreException($"{source} line {lineNumber}: bad response range");
            if (!TryParseSerial(serialField, out var serial))
                throw new StoreException($"{source} line {lineNumber}: bad serial");
            var status = statusField switch
            {
                [(byte)'G'] => CertStatusKind.Good,
                [(byte)'R'] => CertStatusKind.Revoked,
                [(byte)'U'] => CertStatusKind.Unknown,
                _ => throw new StoreException($"{source} line {lineNumber}: bad status"),
            };
            entries[serial] = new IndexEntry(status, revocation, reason < 0 ? null : (RevocationReason)reason, thisUpdate, nextUpdate,
                pack, offset, (int)length);
        }
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
        if (tab < 0) throw new StoreException($"{source} line {line}: expected 9 tab-separated fields");
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
