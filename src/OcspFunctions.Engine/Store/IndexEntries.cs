using System.Buffers;
using System.Collections;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>
/// An issuer's index entries read and changed like a dictionary: compact <see cref="IndexShard"/>s (one per stored shard,
/// partitioned by <see cref="IndexShards.ShardOf(SerialNumber, int)"/>) plus, per shard, an overlay of the serials set or
/// removed since the last save. A set or remove that changes something marks its shard dirty, so a save knows what to
/// write without a pass over every entry; the save merges each dirty shard's overlay into a new shard and drops it, so
/// an overlay holds one checkpoint's changes. Not thread-safe (the refresh locks around its writes).
/// </summary>
public sealed class IndexEntries : IReadOnlyDictionary<SerialNumber, IndexEntry>
{
    private IndexShard[] _shards;
    /// <summary>Per shard: serial → its new entry, or null when removed.</summary>
    private Dictionary<SerialNumber, IndexEntry?>?[] _overlays;
    private bool[] _dirty;
    private int _count;

    public IndexEntries() : this([IndexShard.Empty])
    {
    }

    public IndexEntries(IEnumerable<KeyValuePair<SerialNumber, IndexEntry>> entries) : this()
    {
        foreach (var (serial, entry) in entries) this[serial] = entry;
    }

    /// <summary>Over loaded shards: <paramref name="shards"/>[k] holds the serials of shard k of a power-of-two count.</summary>
    public IndexEntries(IndexShard[] shards)
    {
        if (shards.Length == 0 || (shards.Length & (shards.Length - 1)) != 0) throw new ArgumentException("a power of two of shards", nameof(shards));
        _shards = shards;
        _overlays = new Dictionary<SerialNumber, IndexEntry?>?[shards.Length];
        _dirty = new bool[shards.Length];
        _count = shards.Sum(s => s.Count);
    }

    /// <summary>How the entries are partitioned now (what a save compares with the count it needs).</summary>
    public int ShardCount => _shards.Length;

    public int Count => _count;

    /// <summary>The shard of the serial with these canonical bytes.</summary>
    internal int ShardOf(ReadOnlySpan<byte> serial) => _shards.Length == 1 ? 0 : IndexShards.ShardOf(serial, _shards.Length);

    public IndexEntry this[SerialNumber serial]
    {
        get => TryGetValue(serial, out var entry) ? entry : throw new KeyNotFoundException($"serial {serial} is not in the index");
        set => Set(serial, value);
    }

    public bool TryGetValue(SerialNumber serial, out IndexEntry entry) => TryGetValue(ShardOf(serial.Bytes), serial, out entry);

    private bool TryGetValue(int shard, SerialNumber serial, out IndexEntry entry)
    {
        if (_overlays[shard] is { } overlay && overlay.TryGetValue(serial, out var changed))
        {
            entry = changed.GetValueOrDefault();
            return changed.HasValue;
        }
        return _shards[shard].TryGet(serial, out entry);
    }

    /// <summary>
    /// The entry of the serial with these canonical bytes in shard <paramref name="shard"/> (its <see cref="ShardOf"/>): no
    /// serial is made unless the shard has an overlay to look in first.
    /// </summary>
    internal bool TryGetValue(int shard, ReadOnlySpan<byte> serial, out IndexEntry entry)
    {
        if (_overlays[shard] is not null) return TryGetValue(shard, SerialNumber.FromMagnitude(serial), out entry);
        var loaded = _shards[shard];
        int i = loaded.IndexOf(serial);
        entry = i >= 0 ? loaded.EntryAt(i) : default;
        return i >= 0;
    }

    public bool ContainsKey(SerialNumber serial) => TryGetValue(serial, out _);

    private void Set(SerialNumber serial, IndexEntry entry)
    {
        if (serial.IsDefault) throw new ArgumentException("default serial", nameof(serial));
        int k = ShardOf(serial.Bytes);
        bool exists = TryGetValue(k, serial, out var current);
        if (exists && current == entry) return; // no change: the shard stays clean
        (_overlays[k] ??= new Dictionary<SerialNumber, IndexEntry?>())[serial] = entry;
        _dirty[k] = true;
        if (!exists) _count++;
    }

    public bool Remove(SerialNumber serial)
    {
        int k = ShardOf(serial.Bytes);
        if (!TryGetValue(k, serial, out _)) return false;
        if (_shards[k].IndexOf(serial.Bytes) >= 0) (_overlays[k] ??= [])[serial] = null;
        else _overlays[k]!.Remove(serial); // only ever set since the last save
        _dirty[k] = true;
        _count--;
        return true;
    }

    /// <summary>
    /// For an empty index (a first run), partitions it now into the shard count <paramref name="capacity"/> serials need, so
    /// the entries set go to per-shard overlays and the first save builds each shard from its own; otherwise nothing to
    /// reserve (shards are sized when built).
    /// </summary>
    public int EnsureCapacity(int capacity)
    {
        if (_count == 0 && _shards.All(s => s.Count == 0))
        {
            int count = IndexShards.CountFor(capacity, _shards.Length);
            if (count != _shards.Length) Saved([.. Enumerable.Repeat(IndexShard.Empty, count)]);
        }
        return Math.Max(capacity, _count);
    }

    public IEnumerable<SerialNumber> Keys => this.Select(kv => kv.Key);

    /// <summary>Every entry; unlike <see cref="Keys"/>, no serial is materialized for the unchanged ones.</summary>
    public IEnumerable<IndexEntry> Values
    {
        get
        {
            for (int k = 0; k < _shards.Length; k++)
            {
                var shard = _shards[k];
                var overlay = _overlays[k];
                for (int i = 0; i < shard.Count; i++)
                    if (overlay is null || !overlay.ContainsKey(shard.SerialAt(i))) yield return shard.EntryAt(i);
                if (overlay is null) continue;
                foreach (var changed in overlay.Values)
                    if (changed is { } entry) yield return entry;
            }
        }
    }

    public IEnumerator<KeyValuePair<SerialNumber, IndexEntry>> GetEnumerator()
    {
        for (int k = 0; k < _shards.Length; k++)
            foreach (var kv in ShardEntries(k)) yield return kv;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Shard <paramref name="k"/>'s entries as they are now: the loaded ones not overlaid, then the overlay's.</summary>
    private IEnumerable<KeyValuePair<SerialNumber, IndexEntry>> ShardEntries(int k)
    {
        var shard = _shards[k];
        var overlay = _overlays[k];
        for (int i = 0; i < shard.Count; i++)
        {
            var serial = shard.SerialAt(i);
            if (overlay is null || !overlay.ContainsKey(serial)) yield return KeyValuePair.Create(serial, shard.EntryAt(i));
        }
        if (overlay is null) yield break;
        foreach (var (serial, changed) in overlay)
            if (changed is { } entry) yield return KeyValuePair.Create(serial, entry);
    }

    /// <summary>The packs the entries refer to, each once.</summary>
    public IEnumerable<string> Packs()
    {
        var packs = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < _shards.Length; k++)
        {
            if (_overlays[k] is null) packs.UnionWith(_shards[k].Packs);
            else foreach (var (_, entry) in ShardEntries(k)) packs.Add(entry.Pack);
        }
        return packs;
    }

    /// <summary>Whether shard <paramref name="k"/> changed since the load or its last save.</summary>
    internal bool IsDirty(int k) => _dirty[k];

    /// <summary>
    /// Shard <paramref name="k"/> as it is now: the loaded one when nothing changed, else the overlay merged in — both in
    /// serial order, joined on their bytes, so no serial is made for the loaded entries (at 10M serials a checkpoint merges
    /// every shard).
    /// </summary>
    internal IndexShard Merged(int k)
    {
        if (_overlays[k] is not { } overlay) return _shards[k];
        var loaded = _shards[k];
        // Pooled, as the builder's buffers: a bulk load's overlays are large-object arrays, one per shard at every checkpoint.
        var changes = ArrayPool<KeyValuePair<SerialNumber, IndexEntry?>>.Shared.Rent(overlay.Count);
        try
        {
            ((ICollection<KeyValuePair<SerialNumber, IndexEntry?>>)overlay).CopyTo(changes, 0);
            var sorted = changes.AsSpan(0, overlay.Count);
            sorted.Sort(default(BySerial)); // a struct comparer: no delegate call per comparison
            using var builder = new IndexShard.Builder(loaded.Count + sorted.Length);
            int i = 0;
            foreach (var (serial, changed) in sorted)
            {
                for (; i < loaded.Count && IndexShard.Compare(loaded.SerialBytesAt(i), serial.Bytes) < 0; i++) builder.Add(loaded.SerialBytesAt(i), loaded.EntryAt(i));
                if (i < loaded.Count && IndexShard.Compare(loaded.SerialBytesAt(i), serial.Bytes) == 0) i++; // replaced or removed
                if (changed is { } entry) builder.Add(serial.Bytes, entry);
            }
            for (; i < loaded.Count; i++) builder.Add(loaded.SerialBytesAt(i), loaded.EntryAt(i));
            return builder.ToShard();
        }
        finally
        {
            ArrayPool<KeyValuePair<SerialNumber, IndexEntry?>>.Shared.Return(changes, clearArray: true);
        }
    }

    private readonly struct BySerial : IComparer<KeyValuePair<SerialNumber, IndexEntry?>>
    {
        public int Compare(KeyValuePair<SerialNumber, IndexEntry?> a, KeyValuePair<SerialNumber, IndexEntry?> b) =>
            IndexShard.Compare(a.Key.Bytes, b.Key.Bytes);
    }

    /// <summary>Visits an entry with its serial's canonical bytes.</summary>
    internal delegate void EntryVisitor(ReadOnlySpan<byte> serial, in IndexEntry entry);

    /// <summary>Every entry; nothing is allocated for a shard without changes (after a save, none has any).</summary>
    internal void Visit(EntryVisitor visit)
    {
        for (int k = 0; k < _shards.Length; k++) VisitShard(k, visit);
    }

    /// <summary>Shard <paramref name="k"/>'s entries (shards may be visited in parallel: nothing is changed).</summary>
    internal void VisitShard(int k, EntryVisitor visit)
    {
        if (_overlays[k] is null)
        {
            var shard = _shards[k];
            for (int i = 0; i < shard.Count; i++) visit(shard.SerialBytesAt(i), shard.EntryAt(i));
            return;
        }
        foreach (var (serial, entry) in ShardEntries(k)) visit(serial.Bytes, entry);
    }

    /// <summary>Every entry partitioned into <paramref name="count"/> new shards (a growing shard count moves serials).</summary>
    internal IndexShard[] Partition(int count)
    {
        if (count == _shards.Length) return [.. Enumerable.Range(0, count).Select(Merged)];
        var builders = new IndexShard.Builder[count];
        try
        {
            for (int k = 0; k < count; k++) builders[k] = new IndexShard.Builder(_count / count + _count / count / 8);
            for (int k = 0; k < _shards.Length; k++)
                foreach (var (serial, entry) in ShardEntries(k)) builders[IndexShards.ShardOf(serial, count)].Add(serial.Bytes, entry);
            return [.. builders.Select(b => b.ToShard())];
        }
        finally
        {
            foreach (var builder in builders) builder?.Dispose();
        }
    }

    /// <summary>After a save: shard <paramref name="k"/> is now <paramref name="saved"/>; its overlay and dirty mark go.</summary>
    internal void Saved(int k, IndexShard saved)
    {
        _shards[k] = saved;
        _overlays[k] = null;
        _dirty[k] = false;
    }

    /// <summary>After a save under a new partition: every shard replaced, no overlay left.</summary>
    internal void Saved(IndexShard[] shards)
    {
        _shards = shards;
        _overlays = new Dictionary<SerialNumber, IndexEntry?>?[shards.Length];
        _dirty = new bool[shards.Length];
        _count = shards.Sum(s => s.Count);
    }
}
