using System.Buffers;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>
/// The store in one Blob container through Azure.Storage.Blobs. Every write is one Put Blob (atomic: a reader sees the
/// old or the new block blob); conditional writes use If-Match / If-None-Match: *; the refresh lease is a Blob lease
/// renewed in the background (<see cref="BlobLease"/>). The container is created by the first write that finds it
/// missing (a read-only identity never needs to create it).
/// </summary>
public sealed class BlobObjectStore : IObjectStore
{
    private readonly BlobContainerClient _container;
    private readonly int _listPageSize;
    private readonly TimeProvider _time;

    /// <param name="listPageSize">List Blobs page size (maxresults, 1–5000).</param>
    public BlobObjectStore(BlobContainerClient container, int listPageSize = 5000, TimeProvider? time = null)
    {
        BlobStorage.ValidateContainer(container.Name);
        if (listPageSize is < 1 or > 5000) throw new ArgumentOutOfRangeException(nameof(listPageSize), "the List Blobs page size is 1–5000");
        _container = container;
        _listPageSize = listPageSize;
        _time = time ?? TimeProvider.System;
    }

    public string Container => _container.Name;

    public async Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken)
    {
        var blob = Blob(name);
        try
        {
            var result = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
            return new StoredObject(result.Content.ToArray(), result.Details.ETag.ToString(), result.Details.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw Failure("read", name, e);
        }
    }

    /// <summary>One Get Blob streamed into a pooled buffer (returned after <paramref name="parse"/>): no garbage per read.</summary>
    public async Task<T?> ReadAsync<T>(string name, Func<ReadOnlySpan<byte>, T> parse, CancellationToken cancellationToken) where T : class
    {
        var blob = Blob(name);
        byte[] buffer;
        int length;
        try
        {
            using var download = (await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            long size = download.Details.ContentLength;
            if (size is < 0 or > int.MaxValue - 1) throw new StoreException($"Blob read '{name}' in container '{Container}': {size} bytes");
            length = (int)size;
            // One byte more than announced: a body longer than its length is caught, never cut short silently.
            buffer = ArrayPool<byte>.Shared.Rent(length + 1);
            int read;
            try
            {
                read = await download.Content.ReadAtLeastAsync(buffer.AsMemory(0, length + 1), length + 1, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
            if (read != length)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw new StoreException($"Blob read '{name}' in container '{Container}': {read} bytes instead of {length}");
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw Failure("read", name, e);
        }
        try
        {
            return parse(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task<byte[]?> GetRangeAsync(string name, long offset, int length, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var blob = Blob(name);
        try
        {
            var options = new BlobDownloadOptions { Range = new HttpRange(offset, length) };
            using var download = (await blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false)).Value;
            var content = new byte[length];
            int read = await download.Content.ReadAtLeastAsync(content, length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            // A range that starts inside the blob but ends past it comes back short (206 with fewer bytes).
            if (read != length)
                throw new StoreException($"Blob ranged read '{name}' in container '{Container}': {read} bytes at {offset} instead of {length} (past its end)");
            return content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw Failure("ranged read", name, e); // 416 InvalidRange: the range starts past the end
        }
    }

    public async Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        await UploadAsync(name, content, null, cancellationToken).ConfigureAwait(false);

    public async Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken)
    {
        var conditions = condition.IfNoneExists
            ? new BlobRequestConditions { IfNoneMatch = ETag.All }
            : new BlobRequestConditions { IfMatch = new ETag(condition.IfMatch ?? throw new ArgumentException("a condition needs an ETag or IfNoneExists")) };
        try
        {
            return await UploadAsync(name, content, conditions, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreException e) when (e.InnerException is RequestFailedException { Status: 412 or 409 })
        {
            // 412 ConditionNotMet (If-Match), 409 BlobAlreadyExists (If-None-Match: *): another writer got there first.
            return null;
        }
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var blob = Blob(name);
        try
        {
            await blob.DeleteAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
        catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw Failure("delete", name, e);
        }
    }

    public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) =>
        ListAsync(prefix, directChildrenOnly: false, missingContainerIsEmpty: true, cancellationToken);

    /// <summary>List Blobs page by page; with a '/' delimiter for the names directly under the prefix only.</summary>
    internal async IAsyncEnumerable<string> ListAsync(string prefix, bool directChildrenOnly, bool missingContainerIsEmpty,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IAsyncEnumerable<Page<string>> pages = directChildrenOnly
            ? Names(_container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Prefix = prefix, Delimiter = "/" }, cancellationToken)
                .AsPages(pageSizeHint: _listPageSize), i => i.IsBlob ? i.Blob.Name : null)
            : Names(_container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken)
                .AsPages(pageSizeHint: _listPageSize), b => b.Name);
        await using var enumerator = pages.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await enumerator.MoveNextAsync().ConfigureAwait(false)) yield break;
            }
            catch (RequestFailedException e) when (missingContainerIsEmpty && e.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                yield break;
            }
            catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
            {
                throw Failure("list", prefix, e);
            }
            foreach (var name in enumerator.Current.Values) yield return name;
        }
    }

    private static async IAsyncEnumerable<Page<string>> Names<T>(IAsyncEnumerable<Page<T>> pages, Func<T, string?> name)
    {
        await foreach (var page in pages.ConfigureAwait(false))
            yield return Page<string>.FromValues(page.Values.Select(name).OfType<string>().ToList(), page.ContinuationToken, page.GetRawResponse());
    }

    public async Task<IStoreLease?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken)
    {
        // The lease blob must exist: create it if absent (someone else creating it first is fine).
        await PutAsync(name, "refresh lease\n"u8.ToArray(), PutCondition.Absent, cancellationToken).ConfigureAwait(false);
        try
        {
            return await BlobLease.TryAcquireAsync(Blob(name).GetBlobLeaseClient(), duration, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw Failure("lease", name, e);
        }
    }

    /// <summary>One Put Blob (never split into blocks); when the container does not exist yet, creates it and sends the write once more.</summary>
    private async Task<string> UploadAsync(string name, ReadOnlyMemory<byte> content, BlobRequestConditions? conditions, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlockBlobClient(CheckName(name));
        var options = new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
            Conditions = conditions,
        };
        try
        {
            try
            {
                return await UploadOnceAsync(blob, content, options, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                return await UploadOnceAsync(blob, content, options, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw Failure("write", name, e);
        }
    }

    private static async Task<string> UploadOnceAsync(BlockBlobClient blob, ReadOnlyMemory<byte> content, BlobUploadOptions options, CancellationToken cancellationToken)
    {
        // A seekable stream over the caller's bytes (no copy), rewound by the SDK before each retry.
        using var stream = BinaryData.FromBytes(content).ToStream();
        var response = await blob.UploadAsync(stream, options, cancellationToken).ConfigureAwait(false);
        return response.Value.ETag.ToString();
    }

    private BlobClient Blob(string name) => _container.GetBlobClient(CheckName(name));

    private StoreException Failure(string operation, string name, Exception e) =>
        new($"Blob {operation} '{name}' in container '{Container}' failed: {BlobStorage.DescribeFailure(e)}", e);

    private static string CheckName(string name)
    {
        if (name.Length == 0 || name.Length > 1024 || name.Contains("..", StringComparison.Ordinal) || name.StartsWith('/') || name.Contains('\\'))
            throw new ArgumentException($"bad store name '{name}'");
        return name;
    }
}
