using OcspFunctions.Engine.Store;

namespace OcspFunctions.Tests.Engine;

/// <summary>An <see cref="IObjectStore"/> that forwards every call to another; tests override the calls they interfere with.</summary>
public class ForwardingStore(IObjectStore inner) : IObjectStore
{
    protected IObjectStore Inner => inner;

    public virtual Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken) => inner.GetAsync(name, cancellationToken);

    public virtual Task<byte[]?> GetRangeAsync(string name, long offset, int length, CancellationToken cancellationToken) =>
        inner.GetRangeAsync(name, offset, length, cancellationToken);

    public virtual Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        inner.PutAsync(name, content, cancellationToken);

    public virtual Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken) =>
        inner.PutAsync(name, content, condition, cancellationToken);

    public virtual Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

    public virtual IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

    public virtual Task<IStoreLease?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.TryAcquireLeaseAsync(name, duration, cancellationToken);
}
