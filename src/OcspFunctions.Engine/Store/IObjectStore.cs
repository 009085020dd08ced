namespace OcspFunctions.Engine.Store;

/// <summary>An object as read from the store, with the validators a conditional write or HTTP cache needs.</summary>
public sealed record StoredObject(byte[] Content, string ETag, DateTimeOffset LastModified);

/// <summary>A write precondition (RFC 9110 §13.1): replace only the version read, or create only if absent.</summary>
public sealed record PutCondition(string? IfMatch, bool IfNoneExists)
{
    public static PutCondition Matching(string etag) => new(etag, false);
    public static readonly PutCondition Absent = new(null, true);

    /// <summary>The condition that protects a write of an object read as <paramref name="read"/> (null: it did not exist).</summary>
    public static PutCondition For(StoredObject? read) => read is null ? Absent : Matching(read.ETag);
}

/// <summary>The store failed (I/O, service error). The refresh stops for the issuer; nothing half-written is published.</summary>
public sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The small surface every store implements (a directory; Blob storage): named objects, each write atomic
/// (a reader sees the old or the new bytes, never a mix), and an exclusive lease so two refreshes never
/// interleave. Names use '/' separators; the layout on top is <see cref="StoreLayout"/>.
/// </summary>
public interface IObjectStore
{
    Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// The whole object given to <paramref name="parse"/> (null when it does not exist), in a buffer valid only during that
    /// call: a store may lend a pooled one, so that big objects read again and again (a server's index shards) leave no
    /// large-object garbage behind. By default, <see cref="GetAsync"/>'s content.
    /// </summary>
    async Task<T?> ReadAsync<T>(string name, Func<ReadOnlySpan<byte>, T> parse, CancellationToken cancellationToken) where T : class
    {
        var stored = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        return stored is null ? null : parse(stored.Content);
    }

    /// <summary>
    /// <paramref name="length"/> bytes of the object from <paramref name="offset"/> (a response inside a pack), or null when
    /// the object does not exist. A range past the object's end is a <see cref="StoreException"/>.
    /// </summary>
    Task<byte[]?> GetRangeAsync(string name, long offset, int length, CancellationToken cancellationToken);

    /// <summary>Replaces the object atomically.</summary>
    Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the object only if <paramref name="condition"/> holds; returns its new ETag, or null when another writer
    /// got there first (so an older run can never overwrite newer data).
    /// </summary>
    Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    /// <summary>Names starting with <paramref name="prefix"/>.</summary>
    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>An exclusive lease on <paramref name="name"/>, or null when another holder has it. Dispose releases it.</summary>
    Task<IStoreLease?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken);
}
