using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using OcspFunctions.Engine.Publishing;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>
/// Uploads the CA side's inputs to <c>blob:CONTAINER/NAME</c> (the locations the responder reads): one Put Blob with
/// If-Match on the version read before validating (If-None-Match: * when there was none), Content-MD5 so the service
/// checks the bytes, and the SHA-256 in metadata. Needs only Storage Blob Data Contributor on the container; the
/// container itself is not created (infra does that).
/// </summary>
public sealed class BlobPublishTarget(BlobServiceClient service) : IPublishTarget
{
    /// <summary>The metadata key holding the content's SHA-256 (hex).</summary>
    public const string Sha256Metadata = "sha256";

    public bool CanWrite(string location) => IsBlobLocation(location);

    /// <summary>A <c>blob:CONTAINER/NAME</c> naming one blob (not a prefix).</summary>
    public static bool IsBlobLocation(string location) =>
        BlobSourceReader.TryParse(location, out _, out var name) && name.Length > 0 && !name.EndsWith('/');

    public async Task<PublishedObject> ReadAsync(string location, long maxBytes, CancellationToken cancellationToken)
    {
        var blob = Blob(location);
        try
        {
            var response = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            var details = response.Value.Details;
            if (details.ContentLength > maxBytes) throw new SourceException($"{location} is {details.ContentLength} bytes, over the {maxBytes}-byte cap");
            return new PublishedObject(response.Value.Content.ToArray(), details.ETag.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return new PublishedObject(null, null);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new SourceException($"cannot read {location}: {BlobStorage.Describe(e)} (does the container exist?)", e);
        }
        catch (Exception e) when (e is not SourceException && BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw new SourceException($"cannot read {location}: {BlobStorage.DescribeFailure(e)}", e);
        }
    }

    public async Task<bool> WriteAsync(string location, byte[] content, string? expectedETag, CancellationToken cancellationToken)
    {
        var blob = Blob(location);
        var options = new BlobUploadOptions
        {
            Conditions = expectedETag is null ? new BlobRequestConditions { IfNoneMatch = ETag.All } : new BlobRequestConditions { IfMatch = new ETag(expectedETag) },
            HttpHeaders = new BlobHttpHeaders { ContentHash = MD5.HashData(content), ContentType = "application/octet-stream" },
            Metadata = new Dictionary<string, string> { [Sha256Metadata] = Convert.ToHexStringLower(SHA256.HashData(content)) },
        };
        try
        {
            await blob.UploadAsync(new BinaryData(content), options, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 412 or 409)
        {
            return false;
        }
        catch (Exception e) when (BlobStorage.IsServiceFailure(e, cancellationToken))
        {
            throw new SourceException($"cannot write {location}: {BlobStorage.DescribeFailure(e)}", e);
        }
    }

    private BlobClient Blob(string location)
    {
        if (!BlobSourceReader.TryParse(location, out var container, out var name) || name.Length == 0 || name.EndsWith('/'))
            throw new SourceException($"'{location}' is not a blob:CONTAINER/NAME location");
        return service.GetBlobContainerClient(container).GetBlobClient(name);
    }
}
