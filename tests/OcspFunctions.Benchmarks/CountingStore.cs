using OcspFunctions.Engine.Store;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// Counts the store operations a run makes, each the Blob transaction the Blob store would send for it (Get Blob, a
/// ranged Get Blob, Put Blob, Delete Blob, one List Blobs call per 5,000 names, lease calls aside).
/// </summary>
public sealed class CountingStore(IObjectStore inner) : IObjectStore
{
    private long _gets, _ranges, _puts, _deletes, _listed, _lists;

    public string Summary => $"store operations (= Blob transactions): {_gets} get, {_ranges} ranged get, {_puts} put, {_deletes} delete, " +
                             $"{_lists} list calls ({_listed} names)";

    public Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _gets);
        return inner.GetAsync(name, cancellationToken);
    }

    /// <summary>A get too; forwarded so that the store's pooled read is what the benchmark measures.</summary>
    public Task<T?> ReadAsync<T>(string name, Func<ReadOnlySpan<byte>, T> parse, CancellationToken cancellationToken) where T : class
    {
        Interlocked.Increment(ref _gets);
        return inner.ReadAsync(name, parse, cancellationToken);
    }

    public Task<byte[]?> GetRangeAsync(string name, long offset, int length, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _ranges);
        return inner.GetRangeAsync(name, offset, length, cancellationToken);
    }

    public Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _puts);
        return inner.PutAsync(name, content, cancellationToken);
    }

    public Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _puts);
        return inner.PutAsync(name, content, condition, cancellationToken);
    }

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _deletes);
        return inner.DeleteAsync(name, cancellationToken);
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lists);
        long n = 0;
        await foreach (var name in inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (++n % 5000 == 0) Interlocked.Increment(ref _lists);
            Interlocked.Increment(ref _listed);
            yield return name;
        }
    }

    public Task<IStoreLease?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.TryAcquireLeaseAsync(name, duration, cancellationToken);
}
