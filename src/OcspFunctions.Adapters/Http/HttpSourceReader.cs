using System.Globalization;
using System.Net;

using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Adapters.Http;

/// <summary>
/// Reads http(s) URLs with conditional GETs (If-None-Match / If-Modified-Since from the previous validators; 304 is
/// "unchanged"), a per-request timeout covering headers and body, and a hard size cap. Directories are not supported.
/// </summary>
public sealed class HttpSourceReader : ISourceReader
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;

    public HttpSourceReader(HttpClient client) : this(client, DefaultTimeout)
    {
    }

    public HttpSourceReader(HttpClient client, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "must be positive");
        _client = client;
        _timeout = timeout;
    }

    public bool CanRead(string location) =>
        Uri.TryCreate(location, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    public async Task<SourceFetch> FetchAsync(string location, SourceValidators? previous, long maxBytes, CancellationToken cancellationToken)
    {
        var shown = SourceSupport.Display(location);
        if (!CanRead(location)) throw new SourceException($"'{shown}' is not an http(s) URL");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, location);
            // Sent as stored: a server's ETag (weak or strong) must come back byte for byte.
            if (previous?.ETag is { } etag) request.Headers.TryAddWithoutValidation("If-None-Match", etag);
            if (previous?.LastModified is { } lastModified) request.Headers.IfModifiedSince = lastModified;

            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var responseETag = response.Headers.ETag?.ToString();
            var responseLastModified = response.Content.Headers.LastModified;

            if (response.StatusCode == HttpStatusCode.NotModified)
            {
                // Nothing held to be "unchanged": a 304 to an unconditional GET is a server fault.
                if (previous is null) throw new SourceException($"{shown} returned HTTP 304 to an unconditional request");
                // A 304 may omit validators (RFC 9110 §15.4.5): keep the previous ones then.
                return SourceFetch.Unchanged(new SourceValidators(responseETag ?? previous?.ETag, responseLastModified ?? previous?.LastModified));
            }
            if (!response.IsSuccessStatusCode)
                throw new SourceException($"{shown} returned HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd());
            if (response.Content.Headers.ContentLength is long length && length > maxBytes)
                throw new SourceException($"{shown} is {length} bytes, over the {maxBytes}-byte cap");

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            var content = await SourceSupport.ReadCappedAsync(body, maxBytes, shown, response.Content.Headers.ContentLength, timeout.Token).ConfigureAwait(false);
            return new SourceFetch(content, new SourceValidators(responseETag, responseLastModified), false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Ours, or HttpClient.Timeout when that is shorter.
            var after = timeout.IsCancellationRequested ? _timeout : _client.Timeout;
            throw new SourceException(string.Create(CultureInfo.InvariantCulture, $"{shown} timed out after {after.TotalSeconds:0.###} s"), e);
        }
        catch (HttpRequestException e)
        {
            throw new SourceException($"cannot fetch {shown}: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new SourceException($"cannot fetch {shown}: {e.Message}", e);
        }
    }

    public IAsyncEnumerable<string> ListAsync(string location, CancellationToken cancellationToken) =>
        throw new SourceException($"cannot list '{SourceSupport.Display(location)}': directories over HTTP are not supported");
}
