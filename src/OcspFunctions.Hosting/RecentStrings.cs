namespace OcspFunctions.Hosting;

/// <summary>
/// Strings formatted from a number, the recent ones kept: a small direct-mapped table (a collision formats again), so a
/// hot value costs a lookup instead of an allocation. Safe for concurrent use: a slot holds an immutable pair, replaced whole.
/// </summary>
internal sealed class RecentStrings(int size, Func<long, string> format)
{
    private sealed record Entry(long Key, string Text);

    private readonly Entry?[] _slots = new Entry?[size];

    public string Get(long key)
    {
        // Fibonacci hashing: times a minute or second apart (tick counts with many low zero bits) still spread.
        int slot = (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) % (ulong)_slots.Length);
        var entry = _slots[slot];
        if (entry is not null && entry.Key == key) return entry.Text;
        string text = format(key);
        _slots[slot] = new Entry(key, text);
        return text;
    }
}
