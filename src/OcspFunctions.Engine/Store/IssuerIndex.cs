using System.Globalization;
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

    public byte[] Serialize()
    {
        var sb = new StringBuilder(Entries.Count * 64);
        sb.Append("# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\n");
        foreach (var (serial, e) in Entries)
        {
            sb.Append(serial.ToString()).Append('\t')
              .Append(e.Status switch { CertStatusKind.Good => 'G', CertStatusKind.Revoked => 'R', _ => 'U' }).Append('\t')
              .Append(e.Status == CertStatusKind.Revoked ? e.RevocationTime.ToString(CultureInfo.InvariantCulture) : "-").Append('\t')
              .Append(e.Reason is { } r ? ((int)r).ToString(CultureInfo.InvariantCulture) : "-").Append('\t')
              .Append(e.ThisUpdate.ToString(CultureInfo.InvariantCulture)).Append('\t')
              .Append(e.NextUpdate.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return Encoding.ASCII.GetBytes(sb.ToString());
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
            if (!SerialNumber.TryParseHex(Encoding.ASCII.GetString(serialField), out var serial))
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
