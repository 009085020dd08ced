namespace OcspFunctions.Protocol;

/// <summary>
/// A few reusable objects (AsnWriters, key handles) shared by concurrent callers without a lock: a fixed array of slots,
/// each taken and given back with one interlocked operation. A <c>ConcurrentBag</c> here took a lock on most takes and
/// returns (its per-thread lists are short and async continuations move between threads): in a refresh profile its
/// waits were about a tenth of the signing threads' time.
/// </summary>
internal sealed class SlotPool<T>(int slots) where T : class
{
    private readonly T?[] _slots = new T?[Math.Max(1, slots)];

    /// <summary>Slots for a pool used by synchronous code on every core (an item is held by one thread at a time).</summary>
    public static int DefaultSlots => Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>A pooled item, or null when every slot is empty (the caller makes a new one).</summary>
    public T? TryTake()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (Volatile.Read(ref _slots[i]) is not null && Interlocked.Exchange(ref _slots[i], null) is { } item) return item;
        }
        return null;
    }

    /// <summary>Puts an item back; false when every slot is full (the caller drops or disposes it).</summary>
    public bool TryReturn(T item)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (Volatile.Read(ref _slots[i]) is null && Interlocked.CompareExchange(ref _slots[i], item, null) is null) return true;
        }
        return false;
    }

    /// <summary>Takes every pooled item out (to dispose them).</summary>
    public IEnumerable<T> Drain()
    {
        while (TryTake() is { } item) yield return item;
    }
}
