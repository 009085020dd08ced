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
/// (times in Unix seconds, '-' for none). In memory each shard is an <see cref="IndexShard"/>; <see cref="Entries"/> reads
/// and changes them like a dictionary, holding the changes since the last save apart (<see cref="IndexEntries"/>).
/// </summary>
public sealed class IssuerIndex
{
    public IndexEntries Entries { get; }

    public IssuerIndex(Dictionary<SerialNumber, IndexEntry>? entries = null) => Entries = entries is null ? new IndexEntries() : new IndexEntries(entries);

    public IssuerIndex(IndexEntries entries) => Entries = entries;

    /// <summary>The packs the entries refer to.</summary>
    public IEnumerable<string> Packs() => Entries.Packs();

    /// <summary>The text form of every entry in enumeration order, written straight into one exactly sized byte array (a million entries make ~100 MB).</summary>
    public byte[] Serialize()
    {
        var packs = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in Entries.Values)
        {
            if (string.IsNullOrEmpty(e.Pack) || e.Pack.AsSpan().IndexOfAny('\t', '\n') >= 0) throw new InvalidOperationException($"bad pack name '{e.Pack}'");
            packs.TryAdd(e.Pack, packs.Count);
        }
        (string Name, int Number) last = ("", -1);
        long length = IndexText.Header.Length;
        foreach (var (name, number) in packs) length += IndexText.PackLineLength(name, number);
        foreach (var (serial, e) in Entries) length += IndexText.EntryLineLength(serial.Bytes.Length, e, IndexText.PackNumber(packs, e.Pack, ref last));
        var result = new byte[length];
        var span = result.AsSpan();
        IndexText.Header.CopyTo(span);
        int pos = IndexText.Header.Length;
        foreach (var (name, number) in packs) IndexText.WritePackLine(span, ref pos, name, number);
        foreach (var (serial, e) in Entries) IndexText.WriteEntryLine(span, ref pos, serial.Bytes, e, IndexText.PackNumber(packs, e.Pack, ref last));
        if (pos != result.Length) throw new InvalidOperationException("index length miscounted");
        return result;
    }

    /// <summary>One stored index (a shard, or a whole index.tsv) as an index of one compact shard.</summary>
    public static IssuerIndex Parse(ReadOnlySpan<byte> content, string source) => new(new IndexEntries([IndexShard.Parse(content, source)]));

    /// <summary>Adds the entries of <paramref name="content"/> to <paramref name="entries"/> (later ones replace earlier ones).</summary>
    public static void ParseInto(ReadOnlySpan<byte> content, string source, IndexEntries entries)
    {
        var shard = IndexShard.Parse(content, source);
        for (int i = 0; i < shard.Count; i++) entries[shard.SerialAt(i)] = shard.EntryAt(i);
    }
}
