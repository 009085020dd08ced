using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>
/// One index shard in its compact, immutable in-memory form: the serials sorted (<see cref="SerialNumber"/> order) with
/// their bytes packed into one array (a fixed stride when all have one length, the common case), and one 24-byte record
/// each — times as unsigned offsets from the shard's earliest time, the pack as a number into the shard's own pack names.
/// About 40 bytes an entry for 16-byte serials, against ~180 as a dictionary of objects. An entry whose values do not fit
/// a record (times 136 years apart, an offset past 4 GiB, more than 65,535 packs) is kept whole on the side. Parsed from
/// and serialized to the text <see cref="IssuerIndex"/> documents; a lookup is a binary search.
/// </summary>
public sealed class IndexShard
{
    /// <summary>Record status of an entry kept whole in <see cref="_wide"/>.</summary>
    private const byte WideStatus = 0xFF;
    private const byte NoReason = 0xFF;
    /// <summary>A time of -1 (the text's '-').</summary>
    private const uint NoTime = uint.MaxValue;

    [StructLayout(LayoutKind.Sequential)]
    private struct Record
    {
        public uint RevocationTime;
        public uint ThisUpdate;
        public uint NextUpdate;
        public uint Offset;
        public int Length;
        public ushort Pack;
        public byte Status;
        public byte Reason;
    }

    private readonly byte[] _serials;
    /// <summary>Length of every serial, or 0 when they differ and <see cref="_offsets"/> (Count + 1 of them) says where each starts.</summary>
    private readonly int _stride;
    private readonly int[]? _offsets;
    private readonly Record[] _records;
    private readonly string[] _packs;
    private readonly long _timeBase;
    private readonly Dictionary<int, IndexEntry>? _wide;

    private IndexShard(byte[] serials, int stride, int[]? offsets, Record[] records, string[] packs, long timeBase, Dictionary<int, IndexEntry>? wide)
    {
        (_serials, _stride, _offsets, _records, _packs, _timeBase, _wide) = (serials, stride, offsets, records, packs, timeBase, wide);
        // This object, then each array with its 24-byte header, each pack name (a string: 22 bytes and 2 a char), and each
        // wide entry's dictionary slot (key, hash, next, the entry).
        const int ArrayHeader = 24;
        long bytes = 64 + ArrayHeader + _serials.Length + ArrayHeader + (long)_records.Length * Unsafe.SizeOf<Record>()
                     + ArrayHeader + (long)_packs.Length * IntPtr.Size;
        if (_offsets is not null) bytes += ArrayHeader + (long)_offsets.Length * sizeof(int);
        foreach (var pack in _packs) bytes += 22 + 2L * pack.Length;
        if (_wide is not null) bytes += 200 + _wide.Count * 96L;
        ByteSize = bytes;
    }

    public static IndexShard Empty { get; } = new([], 0, null, [], [], 0, null);

    public int Count => _records.Length;

    /// <summary>Bytes held in memory: the arrays and pack names this shard owns (what a server's shard cache counts).</summary>
    public long ByteSize { get; }

    /// <summary>The packs the entries refer to (each once).</summary>
    public IReadOnlyList<string> Packs => _packs;

    /// <summary>The canonical bytes of the <paramref name="i"/>-th serial in order.</summary>
    public ReadOnlySpan<byte> SerialBytesAt(int i) =>
        _stride > 0 ? _serials.AsSpan(i * _stride, _stride) : _serials.AsSpan(_offsets![i], _offsets[i + 1] - _offsets[i]);

    public SerialNumber SerialAt(int i) => SerialNumber.FromMagnitude(SerialBytesAt(i));

    public IndexEntry EntryAt(int i)
    {
        ref readonly var r = ref _records[i];
        if (r.Status == WideStatus) return _wide![i];
        return new IndexEntry((CertStatusKind)r.Status, Time(r.RevocationTime), r.Reason == NoReason ? null : (RevocationReason)r.Reason,
            Time(r.ThisUpdate), Time(r.NextUpdate), _packs[r.Pack], r.Offset, r.Length);
    }

    private long Time(uint value) => value == NoTime ? -1 : _timeBase + value;

    /// <summary>The position of the serial with these canonical bytes, or -1.</summary>
    public int IndexOf(ReadOnlySpan<byte> serial)
    {
        int lo = 0, hi = _records.Length - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            int c = Compare(SerialBytesAt(mid), serial);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>The serial's entry; its <see cref="IndexEntry.Pack"/> is the shard's own string (nothing allocated).</summary>
    public bool TryGet(SerialNumber serial, out IndexEntry entry)
    {
        int i = IndexOf(serial.Bytes);
        entry = i >= 0 ? EntryAt(i) : default;
        return i >= 0;
    }

    /// <summary>Every (serial, entry) in serial order.</summary>
    public IEnumerable<KeyValuePair<SerialNumber, IndexEntry>> Entries()
    {
        for (int i = 0; i < Count; i++) yield return KeyValuePair.Create(SerialAt(i), EntryAt(i));
    }

    /// <summary>The order of <see cref="SerialNumber.CompareTo"/>: shorter is smaller, then by bytes.</summary>
    internal static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int byLength = a.Length.CompareTo(b.Length);
        return byLength != 0 ? byLength : a.SequenceCompareTo(b);
    }

    public static IndexShard FromEntries(IEnumerable<KeyValuePair<SerialNumber, IndexEntry>> entries, int expected = 256)
    {
        using var builder = new Builder(expected);
        foreach (var (serial, entry) in entries) builder.Add(serial.Bytes, entry);
        return builder.ToShard();
    }

    /// <summary>
    /// Parses the stored text (<see cref="IssuerIndex"/>) with the checks and messages of the dictionary parser it replaced;
    /// a serial listed twice keeps its last line.
    /// </summary>
    public static IndexShard Parse(ReadOnlySpan<byte> content, string source)
    {
        using var builder = new Builder(content.Count((byte)'\n') + 1);
        var packs = new Dictionary<long, string>();
        int lineNumber = 0;
        Span<byte> serial = stackalloc byte[64];
        foreach (var range in content.Split((byte)'\n'))
        {
            lineNumber++;
            var line = content[range];
            if (line.IsEmpty || line[0] == (byte)'#') continue;
            var rest = line;
            if (line.StartsWith(IndexText.PackLine))
            {
                rest = line[IndexText.PackLine.Length..];
                long number = IndexText.ParseLong(IndexText.NextField(ref rest, source, lineNumber), source, lineNumber);
                if (number < 0 || rest.IsEmpty || !packs.TryAdd(number, Encoding.UTF8.GetString(rest)))
                    throw new StoreException($"{source} line {lineNumber}: bad pack line");
                continue;
            }
            if (line.Count((byte)'\t') == 5)
                throw new StoreException($"{source} line {lineNumber}: an index from before response packs (one file per response); " +
                                         "delete it and the store's responses/ folder, then run refresh to re-sign every serial");
            var serialField = IndexText.NextField(ref rest, source, lineNumber);
            var statusField = IndexText.NextField(ref rest, source, lineNumber);
            long revocation = IndexText.ParseLong(IndexText.NextField(ref rest, source, lineNumber), source, lineNumber);
            long reason = IndexText.ParseLong(IndexText.NextField(ref rest, source, lineNumber), source, lineNumber);
            long thisUpdate = IndexText.ParseLong(IndexText.NextField(ref rest, source, lineNumber), source, lineNumber);
            long nextUpdate = IndexText.ParseLong(IndexText.NextField(ref rest, source, lineNumber), source, lineNumber);
            long packNumber = IndexText.ParseLong(IndexText.NextField(ref rest, source, lineNumber), source, lineNumber);
            long offset = IndexText.ParseLong(IndexText.NextField(ref rest, source, lineNumber), source, lineNumber);
            long length = IndexText.ParseLong(rest, source, lineNumber);
            if (!packs.TryGetValue(packNumber, out var pack)) throw new StoreException($"{source} line {lineNumber}: pack {packNumber} is not declared");
            if (offset < 0 || length <= 0 || length > int.MaxValue) throw new StoreException($"{source} line {lineNumber}: bad response range");
            var status = statusField switch
            {
                [(byte)'G'] => CertStatusKind.Good,
                [(byte)'R'] => CertStatusKind.Revoked,
                [(byte)'U'] => CertStatusKind.Unknown,
                _ => (CertStatusKind)(-1),
            };
            scoped ReadOnlySpan<byte> serialBytes;
            if (IndexText.TryParsePlainHex(serialField, serial, out int written)) serialBytes = serial[..written];
            else if (IndexText.TryParseSerial(serialField, out var parsed)) serialBytes = parsed.Bytes;
            else throw new StoreException($"{source} line {lineNumber}: bad serial");
            if (status < 0) throw new StoreException($"{source} line {lineNumber}: bad status");
            builder.Add(serialBytes, new IndexEntry(status, revocation, reason < 0 ? null : (RevocationReason)reason, thisUpdate, nextUpdate,
                pack, offset, (int)length));
        }
        return builder.ToShard();
    }

    /// <summary>The stored text, byte for byte what <see cref="IssuerIndex.Serialize"/> writes for the same entries in serial order.</summary>
    public byte[] Serialize()
    {
        // Pooled: at 10M serials a checkpoint serializes 2,048 shards, and a fresh array each was a large-object-heap
        // allocation (8,192 entries of 64 bytes) per shard — garbage that brought on full collections.
        var rented = ArrayPool<IndexEntry>.Shared.Rent(Count);
        try
        {
            return Serialize(rented.AsSpan(0, Count));
        }
        finally
        {
            ArrayPool<IndexEntry>.Shared.Return(rented, clearArray: true);
        }
    }

    private byte[] Serialize(Span<IndexEntry> entries)
    {
        var packs = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Length; i++)
        {
            var e = entries[i] = EntryAt(i);
            if (string.IsNullOrEmpty(e.Pack) || e.Pack.AsSpan().IndexOfAny('\t', '\n') >= 0) throw new InvalidOperationException($"bad pack name '{e.Pack}'");
            packs.TryAdd(e.Pack, packs.Count);
        }
        (string Name, int Number) last = ("", -1);
        long length = IndexText.Header.Length;
        foreach (var (name, number) in packs) length += IndexText.PackLineLength(name, number);
        for (int i = 0; i < entries.Length; i++)
            length += IndexText.EntryLineLength(SerialBytesAt(i).Length, entries[i], IndexText.PackNumber(packs, entries[i].Pack, ref last));
        var result = new byte[length];
        var span = result.AsSpan();
        IndexText.Header.CopyTo(span);
        int pos = IndexText.Header.Length;
        foreach (var (name, number) in packs) IndexText.WritePackLine(span, ref pos, name, number);
        for (int i = 0; i < entries.Length; i++)
            IndexText.WriteEntryLine(span, ref pos, SerialBytesAt(i), entries[i], IndexText.PackNumber(packs, entries[i].Pack, ref last));
        if (pos != result.Length) throw new InvalidOperationException("index length miscounted");
        return result;
    }

    /// <summary>
    /// Collects (serial, entry) rows in any order into pooled buffers, then sorts them (skipped when already in order, as
    /// stored shards are), keeps the last row of a serial listed twice, and packs them into an <see cref="IndexShard"/>.
    /// </summary>
    internal sealed class Builder : IDisposable
    {
        private byte[] _bytes;
        private int[] _starts;
        private IndexEntry[] _entries;
        private int _used;
        private int _count;

        /// <param name="capacity">Rows expected (the buffers grow past it).</param>
        public Builder(int capacity = 256)
        {
            capacity = Math.Max(capacity, 16);
            _bytes = ArrayPool<byte>.Shared.Rent(capacity * 16);
            _starts = ArrayPool<int>.Shared.Rent(capacity + 1);
            _entries = ArrayPool<IndexEntry>.Shared.Rent(capacity);
        }

        public int Count => _count;

        public void Add(ReadOnlySpan<byte> serial, in IndexEntry entry)
        {
            if (serial.IsEmpty) throw new ArgumentException("empty serial", nameof(serial));
            if (_used + serial.Length > _bytes.Length) Grow(ref _bytes, Math.Max(_bytes.Length * 2, _used + serial.Length));
            if (_count + 2 > _starts.Length) Grow(ref _starts, _starts.Length * 2);
            if (_count + 1 > _entries.Length) Grow(ref _entries, _entries.Length * 2);
            _starts[_count] = _used;
            serial.CopyTo(_bytes.AsSpan(_used));
            _used += serial.Length;
            _entries[_count++] = entry;
            _starts[_count] = _used;
        }

        private static void Grow<T>(ref T[] array, int size)
        {
            var bigger = ArrayPool<T>.Shared.Rent(size);
            array.AsSpan().CopyTo(bigger);
            ArrayPool<T>.Shared.Return(array, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            array = bigger;
        }

        private ReadOnlySpan<byte> Serial(int i) => _bytes.AsSpan(_starts[i], _starts[i + 1] - _starts[i]);

        public IndexShard ToShard()
        {
            if (_count == 0) return Empty;
            var order = ArrayPool<int>.Shared.Rent(_count);
            try
            {
                // A stored shard is already in strict order (the usual case): no sort and no duplicate to drop.
                bool strictlySorted = true;
                for (int i = 0; i < _count; i++)
                {
                    order[i] = i;
                    if (i > 0 && strictlySorted && Compare(Serial(i - 1), Serial(i)) >= 0) strictlySorted = false;
                }
                if (strictlySorted) return Pack(order.AsSpan(0, _count));
                Array.Sort(order, 0, _count, Comparer<int>.Create((a, b) => Compare(Serial(a), Serial(b)) is var c && c != 0 ? c : a.CompareTo(b)));
                // Of a serial listed twice (sorted next to each other, in input order), the last one counts.
                int kept = 0;
                for (int i = 0; i < _count; i++)
                    if (i + 1 == _count || Compare(Serial(order[i]), Serial(order[i + 1])) != 0) order[kept++] = order[i];
                return Pack(order.AsSpan(0, kept));
            }
            finally
            {
                ArrayPool<int>.Shared.Return(order);
            }
        }

        private IndexShard Pack(ReadOnlySpan<int> order)
        {
            int n = order.Length;
            int stride = Serial(order[0]).Length;
            long totalBytes = 0;
            long timeBase = long.MaxValue;
            foreach (int i in order)
            {
                var length = Serial(i).Length;
                totalBytes += length;
                if (length != stride) stride = 0;
                ref readonly var e = ref _entries[i];
                foreach (long t in (ReadOnlySpan<long>)[e.RevocationTime, e.ThisUpdate, e.NextUpdate])
                    if (t != -1 && t < timeBase) timeBase = t;
            }
            if (timeBase == long.MaxValue) timeBase = 0;
            var serials = new byte[totalBytes];
            var offsets = stride > 0 ? null : new int[n + 1];
            var records = new Record[n];
            var packs = new Dictionary<string, int>(StringComparer.Ordinal);
            var packNames = new List<string>();
            Dictionary<int, IndexEntry>? wide = null;
            (string Name, int Number) last = ("", -1);
            int pos = 0;
            for (int j = 0; j < n; j++)
            {
                int i = order[j];
                if (offsets is not null) offsets[j] = pos;
                Serial(i).CopyTo(serials.AsSpan(pos));
                pos += Serial(i).Length;
                ref readonly var e = ref _entries[i];
                if (!ReferenceEquals(e.Pack, last.Name))
                {
                    if (!packs.TryGetValue(e.Pack, out int number))
                    {
                        packs.Add(e.Pack, number = packNames.Count);
                        packNames.Add(e.Pack);
                    }
                    last = (e.Pack, number);
                }
                if (!TryRecord(e, last.Number, timeBase, out records[j]))
                {
                    (wide ??= [])[j] = e;
                    records[j].Status = WideStatus;
                }
            }
            if (offsets is not null) offsets[n] = pos;
            return new IndexShard(serials, stride, offsets, records, [.. packNames], timeBase, wide);
        }

        private static bool TryRecord(in IndexEntry e, int pack, long timeBase, out Record record)
        {
            record = default;
            if (pack > ushort.MaxValue || (uint)e.Status > 2 || e.Offset is < 0 or > uint.MaxValue || e.Length < 0
                || (e.Reason is { } r && (uint)r >= NoReason)
                || !TryTime(e.RevocationTime, timeBase, out record.RevocationTime)
                || !TryTime(e.ThisUpdate, timeBase, out record.ThisUpdate)
                || !TryTime(e.NextUpdate, timeBase, out record.NextUpdate))
                return false;
            record.Offset = (uint)e.Offset;
            record.Length = e.Length;
            record.Pack = (ushort)pack;
            record.Status = (byte)e.Status;
            record.Reason = e.Reason is { } reason ? (byte)reason : NoReason;
            return true;
        }

        private static bool TryTime(long value, long timeBase, out uint encoded)
        {
            encoded = NoTime;
            if (value == -1) return true;
            ulong delta = unchecked((ulong)value - (ulong)timeBase); // value >= timeBase: exact
            if (delta >= NoTime) return false;
            encoded = (uint)delta;
            return true;
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_bytes);
            ArrayPool<int>.Shared.Return(_starts);
            ArrayPool<IndexEntry>.Shared.Return(_entries, clearArray: true);
            _bytes = [];
            _starts = [];
            _entries = [];
        }
    }
}
