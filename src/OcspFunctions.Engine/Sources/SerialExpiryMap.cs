using System.Collections;
using System.Diagnostics.CodeAnalysis;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// Issued serials and their expiry (or none), compact enough for ten million of them: an open-addressing hash table
/// (linear probing) over one byte arena. Per entry: the serial's canonical bytes in the arena, its start offset, its hash
/// and its expiry in UTC ticks — about 32 bytes plus the serial's length with the table's free slots, against ~100 for
/// a <c>Dictionary&lt;SerialNumber, DateTimeOffset?&gt;</c> (an object per serial). Entries are never removed and
/// enumerate in insertion order, as a dictionary that was only added to does. Setting a serial again replaces its expiry.
/// </summary>
public sealed class SerialExpiryMap : IReadOnlyDictionary<SerialNumber, DateTimeOffset?>
{
    /// <summary>The expiry of a serial whose source gives none.</summary>
    private const long NoExpiry = long.MinValue;

    private byte[] _arena = [];
    private int _arenaLength;
    /// <summary>Entry i's bytes are <c>_arena[_offsets[i].._offsets[i + 1]]</c>: lengths need no array of their own.</summary>
    private int[] _offsets = [0];
    private int[] _hashes = [];
    private long[] _expiries = [];
    /// <summary>Entry index + 1 per slot; 0 is a free slot. A power of two in length, at most three quarters full.</summary>
    private int[] _slots = [];
    private int _count;
    private int _version;

    public int Count => _count;

    /// <summary>The bytes of every serial together.</summary>
    internal long ArenaLength => _arenaLength;

    /// <summary>Room for <paramref name="count"/> entries (and, when given, that many serial bytes) without growing.</summary>
    public void EnsureCapacity(int count, long serialBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _hashes.Length) ResizeEntries(count);
        if (serialBytes > _arena.Length) ResizeArena(serialBytes);
        if ((long)count * 4 > (long)_slots.Length * 3) Rehash(SlotsFor(count));
    }

    public DateTimeOffset? this[SerialNumber serial]
    {
        get => TryGetValue(serial, out var expiry) ? expiry : throw new KeyNotFoundException($"serial {serial} is not in the map");
        set => Set(serial.Bytes, value);
    }

    /// <summary>Adds the serial, or replaces its expiry when present.</summary>
    public void Set(SerialNumber serial, DateTimeOffset? expiry) => Set(serial.Bytes, expiry);

    /// <summary>Adds the serial unless present; false (and the expiry unchanged) when it is.</summary>
    public bool TryAdd(SerialNumber serial, DateTimeOffset? expiry) => TryAdd(serial.Bytes, expiry);

    public bool ContainsKey(SerialNumber key) => IndexOf(key.Bytes) >= 0;

    public bool TryGetValue(SerialNumber key, [MaybeNullWhen(false)] out DateTimeOffset? value)
    {
        int entry = IndexOf(key.Bytes);
        value = entry >= 0 ? ExpiryAt(entry) : null;
        return entry >= 0;
    }

    /// <summary>Adds canonical serial bytes (no leading zero but for the serial 0), or replaces their expiry.</summary>
    internal void Set(ReadOnlySpan<byte> canonical, DateTimeOffset? expiry)
    {
        int hash = Hash(canonical);
        int entry = Find(canonical, hash);
        if (entry >= 0)
        {
            _expiries[entry] = Ticks(expiry);
            _version++;
        }
        else Append(canonical, hash, Ticks(expiry));
    }

    /// <summary>Adds canonical serial bytes unless present; false (and the expiry unchanged) when they are.</summary>
    internal bool TryAdd(ReadOnlySpan<byte> canonical, DateTimeOffset? expiry)
    {
        int hash = Hash(canonical);
        if (Find(canonical, hash) >= 0) return false;
        Append(canonical, hash, Ticks(expiry));
        return true;
    }

    /// <summary>The entry of canonical serial bytes, or -1. Entries are numbered 0 to Count - 1 in insertion order.</summary>
    internal int IndexOf(ReadOnlySpan<byte> canonical) => _count == 0 ? -1 : Find(canonical, Hash(canonical));

    internal ReadOnlySpan<byte> BytesAt(int entry) => _arena.AsSpan(_offsets[entry], _offsets[entry + 1] - _offsets[entry]);

    internal SerialNumber SerialAt(int entry) => SerialNumber.FromMagnitude(BytesAt(entry));

    internal DateTimeOffset? ExpiryAt(int entry) => _expiries[entry] == NoExpiry ? null : new DateTimeOffset(_expiries[entry], TimeSpan.Zero);

    /// <summary>Whether entry's certificate expired before <paramref name="cutoffUtcTicks"/> (false when its expiry is unknown).</summary>
    internal bool ExpiredBefore(int entry, long cutoffUtcTicks) => _expiries[entry] != NoExpiry && _expiries[entry] < cutoffUtcTicks;

    private static long Ticks(DateTimeOffset? expiry) => expiry is { } e ? e.UtcTicks : NoExpiry;

    /// <summary>As <see cref="SerialNumber.GetHashCode"/>: seeded per process, so a list cannot be crafted to collide.</summary>
    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }

    private int Find(ReadOnlySpan<byte> canonical, int hash)
    {
        if (_slots.Length == 0) return -1;
        int mask = _slots.Length - 1;
        for (int slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            int entry = _slots[slot] - 1;
            if (entry < 0) return -1;
            if (_hashes[entry] == hash && BytesAt(entry).SequenceEqual(canonical)) return entry;
        }
    }

    private void Append(ReadOnlySpan<byte> canonical, int hash, long ticks)
    {
        if (canonical.IsEmpty) throw new ArgumentException("a serial has at least one byte", nameof(canonical));
        if (_count == _hashes.Length) ResizeEntries(Math.Max(16, _count < int.MaxValue / 2 ? _count * 2 : int.MaxValue - 64));
        if ((long)(_count + 1) * 4 > (long)_slots.Length * 3) Rehash(SlotsFor(_count + 1));
        if ((long)_arenaLength + canonical.Length > _arena.Length) ResizeArena((long)_arenaLength + canonical.Length);
        canonical.CopyTo(_arena.AsSpan(_arenaLength));
        _arenaLength += canonical.Length;
        _offsets[_count + 1] = _arenaLength;
        _hashes[_count] = hash;
        _expiries[_count] = ticks;
        _count++;
        Place(_count - 1);
        _version++;
    }

    private void Place(int entry)
    {
        int mask = _slots.Length - 1;
        int slot = _hashes[entry] & mask;
        while (_slots[slot] != 0) slot = (slot + 1) & mask;
        _slots[slot] = entry + 1;
    }

    /// <summary>The smallest power of two that holds <paramref name="count"/> entries at most three quarters full.</summary>
    private static int SlotsFor(int count)
    {
        long needed = Math.Max(16, (long)count * 4 / 3 + 1);
        long size = 16;
        while (size < needed) size *= 2;
        return size <= 1 << 30 ? (int)size : throw new InvalidOperationException($"{count} serials are more than one map holds");
    }

    private void Rehash(int slots)
    {
        _slots = new int[slots];
        for (int i = 0; i < _count; i++) Place(i);
    }

    private void ResizeEntries(int capacity)
    {
        Array.Resize(ref _offsets, capacity + 1);
        Array.Resize(ref _hashes, capacity);
        Array.Resize(ref _expiries, capacity);
    }

    private void ResizeArena(long needed)
    {
        long size = Math.Max(needed, Math.Min((long)_arena.Length * 3 / 2, Array.MaxLength));
        if (size > Array.MaxLength) throw new InvalidOperationException("the serials' bytes are more than one map holds");
        Array.Resize(ref _arena, (int)Math.Max(size, 64));
    }

    public IEnumerable<SerialNumber> Keys
    {
        get
        {
            foreach (var pair in this) yield return pair.Key;
        }
    }

    public IEnumerable<DateTimeOffset?> Values
    {
        get
        {
            foreach (var pair in this) yield return pair.Value;
        }
    }

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<SerialNumber, DateTimeOffset?>> IEnumerable<KeyValuePair<SerialNumber, DateTimeOffset?>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Entries in insertion order, a <see cref="SerialNumber"/> made for each; the map must not change meanwhile.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<SerialNumber, DateTimeOffset?>>
    {
        private readonly SerialExpiryMap _map;
        private readonly int _version;
        private int _entry;

        internal Enumerator(SerialExpiryMap map)
        {
            _map = map;
            _version = map._version;
            _entry = -1;
            Current = default;
        }

        public KeyValuePair<SerialNumber, DateTimeOffset?> Current { get; private set; }

        readonly object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_version != _map._version) throw new InvalidOperationException("the serial map changed during enumeration");
            if (++_entry >= _map._count) return false;
            Current = new(_map.SerialAt(_entry), _map.ExpiryAt(_entry));
            return true;
        }

        public void Reset() => _entry = -1;

        public readonly void Dispose()
        {
        }
    }
}
