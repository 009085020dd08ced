using System.Numerics;

namespace OcspFunctions.Hosting;

/// <summary>
/// Strings formatted from a number, the recent ones kept: a small direct-mapped table (a collision formats again), so a
/// hot value costs a lookup instead of an allocation. Safe for concurrent use: a slot holds an immutable pair, replaced whole.
/// </summary>
internal sealed class RecentStrings
{
    private sealed record Entry(long Key, string Text);

    private readonly Entry?[] _slots;
    private readonly ulong _mask;
    private readonly Func<long, string> _format;

    /// <param name="size">Slots, a power of two.</param>
    public RecentStrings(int size, Func<long, string> format)
    {
        if (size < 2 || !BitOperations.IsPow2(size)) throw new ArgumentOutOfRangeException(nameof(size), "a power of two, 2 or more");
        _slots = new Entry?[size];
        _mask = (ulong)size - 1;
        _format = format;
    }

    public string Get(long key)
    {
        int slot = (int)(Mix((ulong)key) & _mask);
        var entry = _slots[slot];
        if (entry is not null && entry.Key == key) return entry.Text;
        string text = _format(key);
        _slots[slot] = new Entry(key, text);
        return text;
    }

    /// <summary>
    /// The splitmix64 finalizer: every input bit reaches the low bits, so tick counts a minute apart (low bits all zero,
    /// which a multiplicative hash maps to a handful of slots) still spread.
    /// </summary>
    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
