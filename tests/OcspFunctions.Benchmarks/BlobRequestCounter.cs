using System.Collections.Concurrent;
using System.Web;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// The HTTP handler under the Blob SDK's transport: every request that goes on the wire (each retry too), named by its
/// Blob REST operation (Get Blob, Put Blob, Put Block, List Blobs, Lease Blob (acquire), …), with its answers by status.
/// </summary>
public sealed class BlobRequestCounter() : DelegatingHandler(new SocketsHttpHandler())
{
    private ConcurrentDictionary<string, Count> _counts = new();

    public sealed class Count
    {
        public long Requests;
        public long Failed;
        public readonly ConcurrentDictionary<int, long> Statuses = new();
    }

    /// <summary>The counts so far, and a fresh start.</summary>
    public IReadOnlyDictionary<string, Count> Take() => Interlocked.Exchange(ref _counts, new());

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var count = _counts.GetOrAdd(Operation(request), _ => new Count());
        Interlocked.Increment(ref count.Requests);
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status >= 300) count.Statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            return response;
        }
        catch
        {
            Interlocked.Increment(ref count.Failed);
            throw;
        }
    }

    /// <summary>The Blob service REST operation a request is (https://learn.microsoft.com/rest/api/storageservices/operations-on-blobs).</summary>
    public static string Operation(HttpRequestMessage request)
    {
        var query = HttpUtility.ParseQueryString(request.RequestUri?.Query ?? "");
        string? comp = query["comp"], restype = query["restype"];
        string? Header(string name) => request.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;
        string method = request.Method.Method;
        return (method, restype, comp) switch
        {
            ("GET", "container", "list") => "List Blobs",
            ("GET" or "HEAD", "container", _) => "Get Container Properties",
            ("PUT", "container", null) => "Create Container",
            ("DELETE", "container", _) => "Delete Container",
            ("HEAD", _, null) => "Get Blob Properties",
            ("GET", _, null) => Header("x-ms-range") is not null || request.Headers.Range is not null ? "Get Blob (ranged)" : "Get Blob",
            ("PUT", _, "block") => "Put Block",
            ("PUT", _, "blocklist") => "Put Block List",
            ("PUT", _, "lease") => $"Lease Blob ({Header("x-ms-lease-action") ?? "?"})",
            ("PUT", _, "metadata") => "Set Blob Metadata",
            ("PUT", _, "properties") => "Set Blob Properties",
            ("PUT", _, null) => Header("x-ms-copy-source") is not null ? "Copy Blob" : "Put Blob",
            ("DELETE", _, _) => "Delete Blob",
            _ => $"{method} {restype}/{comp}",
        };
    }
}
