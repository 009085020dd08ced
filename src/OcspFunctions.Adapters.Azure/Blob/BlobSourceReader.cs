using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>
/// Reads sources the CA side uploads as blobs, at locations <c>blob:CONTAINER/NAME</c> in the store's account:
/// conditional GETs (If-None-Match from the previous ETag; 304 is "unchanged"), a hard size cap, and
/// <c>blob:CONTAINER/PREFIX/</c> listed as a directory (names directly under the prefix, relative to it).
/// </summary>
public sealed class BlobSourceReader(BlobServiceClient service) : ISourceReader
{
    public const string Scheme = "blob:";

    public bool CanRead(string location) => TryParse(location, out _, out _);

    public async Task<SourceFetch> FetchAsync(string location, SourceValidators? previous, long maxBytes, CancellationToken cancellationToken)
    {
        var (container, name) = Parse(location);
        if (name.Length == 0 || name.EndsWith('/')) throw new SourceException($"'{location}' names a directory, not a blob");
        var blob = service.GetBlobContainerClient(container).GetBlobClient(name);
        var options = new BlobDownloadOptions();
        if (previous?.ETag is { } etag) options.Conditions = new BlobRequestConditions { IfNoneMatch = new ETag(etag) };
        try
        {
            // Streamed, not buffered, so the cap holds whatever the blob's size.
            var response = await blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
            if (response.GetRawResponse().Status == 304) // the SDK hands 304 back as a response without a value
            {
                if (previous is null) throw new SourceException($"{location} returned HTTP 304 to an unconditional request");
                return SourceFetch.Unchanged(previous);
            }
            using var download = response.Value;
            var details = download.Details;
            var validators = new SourceValidators(details.ETag.ToString(), details.LastModified);
            if (details.ContentLength > maxBytes) throw new SourceException($"{location} is {details.ContentLength} bytes, over the {maxBytes}-byte cap");
            var content = await ReadCappedAsync(download.Content, maxBytes, location, cancellationToken).ConfigureAwait(false);
            return new SourceFetch(content, validators, false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new SourceException($"cannot read {location}: no such blob ({BlobStorage.Describe(e)})", e);
        }
        catch (Exception e) when (e is not SourceException && BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw new SourceException($"cannot read {location}: {BlobStorage.DescribeFailure(e)}", e);
        }
    }

    public async IAsyncEnumerable<string> ListAsync(string location, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (container, prefix) = Parse(location);
        if (prefix.Length > 0 && !prefix.EndsWith('/')) prefix += "/";
        var store = new BlobObjectStore(service.GetBlobContainerClient(container));
        await using var names = store.ListAsync(prefix, directChildrenOnly: true, missingContainerIsEmpty: false, cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await names.MoveNextAsync().ConfigureAwait(false)) break;
            }
            catch (StoreException e)
            {
                throw new SourceException($"cannot list {location}: {e.Message}", e);
            }
            yield return names.Current[prefix.Length..];
        }
    }

    private static (string Container, string Name) Parse(string location) =>
        TryParse(location, out var container, out var name) ? (container, name) : throw new SourceException($"'{location}' is not a blob:CONTAINER/NAME location");

    internal static bool TryParse(string location, out string container, out string name)
    {
        container = name = "";
        if (!location.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = location[Scheme.Length..].TrimStart('/');
        int slash = rest.IndexOf('/');
        container = slash < 0 ? rest : rest[..slash];
        name = slash < 0 ? "" : rest[(slash + 1)..];
        if (name.Contains("..", StringComparison.Ordinal) || name.Contains('\\')) return false;
        try
        {
            BlobStorage.ValidateContainer(container);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static async Task<byte[]> ReadCappedAsync(Stream stream, long maxBytes, string location, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw new SourceException($"{location} exceeds the {maxBytes}-byte cap");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
