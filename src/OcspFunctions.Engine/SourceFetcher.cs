using System.Security.Cryptography;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Engine;

/// <summary>Reads an issuer's sources for a refresh: remote ones conditionally, with a copy cached in the store.</summary>
internal sealed class SourceFetcher(IObjectStore store, ISourceReader sources, long maxBytes)
{
    /// <summary>Sources fetched over the network (http, Blob): fetched conditionally, with a cached copy.</summary>
    private static bool IsRemote(string location) =>
        location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
        || location.StartsWith("blob:", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Fetches a source. Remote (http, Blob) sources are fetched conditionally: their bytes are cached in the store and
    /// a 304 reuses the cached copy.
    /// </summary>
    public async Task<byte[]> FetchAsync(string? issuerId, IssuerManifest? manifest, string location, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(location)) throw new SourceException("a required source location is empty");
        bool remote = issuerId is not null && manifest is not null && IsRemote(location);
        string cacheName = remote ? $"issuers/{issuerId}/sources/{Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(location)))[..32]}" : "";
        SourceValidators? previous = null;
        if (remote && manifest!.Sources.TryGetValue(location, out var state)) previous = new SourceValidators(state.ETag, state.LastModified);

        var fetch = await sources.FetchAsync(location, previous, maxBytes, cancellationToken).ConfigureAwait(false);
        if (fetch.NotModified)
        {
            var cached = await store.GetAsync(cacheName, cancellationToken).ConfigureAwait(false);
            if (cached is not null) return cached.Content;
            fetch = await sources.FetchAsync(location, null, maxBytes, cancellationToken).ConfigureAwait(false);
        }
        var content = fetch.Content ?? throw new SourceException($"{SourceSupport.Display(location)}: no content");
        if (remote)
        {
            await store.PutAsync(cacheName, content, cancellationToken).ConfigureAwait(false);
            manifest!.Sources[location] = new SourceState(fetch.Validators?.ETag, fetch.Validators?.LastModified);
        }
        return content;
    }
}
