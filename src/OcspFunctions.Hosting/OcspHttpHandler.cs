using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>
/// The OCSP endpoint (RFC 5019 / RFC 9919, §5–§7 resp. §6–§7): GET with the tolerant path decoding, POST, HEAD.
/// A thin layer: decode, look up, write headers. OCSP-level errors go back with HTTP 200 (nginx and Java treat any
/// other status as a hard failure) and never as cacheable. A POST body the client fails to deliver (too slow, cut
/// off, shorter than its Content-Length) is the client's fault: the connection is closed, counted as a client error,
/// one Debug line — never <c>internalError</c>, which is kept for store faults.
/// </summary>
public sealed class OcspHttpHandler(IResponseSource source, HttpServeOptions options, ResponderMetrics metrics, TimeProvider time,
    ILogger<OcspHttpHandler> logger, AnswerAudit audit)
{
    public const string ResponseContentType = "application/ocsp-response";
    private const string NoCache = "max-age=0, no-cache, no-store";
    private readonly string _prefix = options.PathPrefix.TrimEnd('/');
    private readonly long _maxAgeCap = (long)options.MaxAgeCap.TotalSeconds;
    // Header values a hit would otherwise format each time: max-age at the cap (most answers), other max-ages, and
    // Last-Modified/Expires (responses of one refresh share their times, so few distinct values are live at once).
    private readonly string _cappedCacheControl = CacheControl((long)options.MaxAgeCap.TotalSeconds);
    private readonly RecentStrings _cacheControls = new(256, CacheControl);
    private readonly RecentStrings _httpDates = new(256, ticks => HttpDate(new DateTimeOffset(ticks, TimeSpan.Zero)));
    private readonly RecentRequests _recent = new();

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string method = ResponderMetrics.MethodTag(request.Method);
        CertId? certId = null;
        ReadOnlyMemory<byte> body = default;
        string? getPath = null;
        RecentRequests.Entry? recent;
        try
        {
            // RFC 5019 §2.1.1: a pre-produced responder answers the first CertID.
            if (HttpMethods.IsPost(request.Method))
            {
                body = await ReadBodyAsync(request, context.RequestAborted);
                recent = _recent.Find(post: true, body.Span);
                certId = recent?.CertId ?? OcspRequest.Decode(body, options.MaxRequestBytes).FirstCertId;
            }
            else if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            {
                getPath = GetPath(context);
                recent = _recent.Find(post: false, MemoryMarshal.AsBytes(getPath.AsSpan()));
                certId = recent?.CertId ?? OcspRequest.Decode(OcspGetPath.Decode(getPath).AsMemory(), options.MaxRequestBytes).FirstCertId;
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                context.Response.Headers.Allow = "GET, HEAD, POST";
                return;
            }
            var lookup = recent?.Answer is { } last && source.TryAnswerAgain(last, out var again)
                ? again
                : await source.LookupAsync(certId, context.RequestAborted);
            switch (lookup.Outcome)
            {
                case LookupOutcome.Found:
                    _recent.Remember(getPath is null, getPath is null ? body.Span : MemoryMarshal.AsBytes(getPath.AsSpan()), recent, certId, lookup.Response!);
                    string status = WriteFound(context, lookup.Response!, method);
                    // Not for a 304 or HEAD; awaited here rather than in a helper: one async state machine on a hit.
                    if (context.Response.StatusCode == StatusCodes.Status200OK && !HttpMethods.IsHead(request.Method))
                        await context.Response.Body.WriteAsync(lookup.Response!.Der, context.RequestAborted);
                    if (audit.Sample()) audit.Answer(status, method, certId, lookup.FromStore ? "store" : "cache");
                    return;
                case LookupOutcome.Expired:
                    metrics.ExpiredRefused(Convert.ToHexString(certId.IssuerKeyHash), method);
                    logger.LogError("Refused an expired response for {CertId}: nextUpdate {NextUpdate:u} has passed; the refresh is failing",
                        certId, lookup.Response!.NextUpdate);
                    if (audit.Sample()) audit.Answer("tryLater", method, certId, lookup.FromStore ? "store" : "cache");
                    await WriteErrorAsync(context, OcspResponseStatus.TryLater);
                    return;
                default:
                    metrics.Unauthorized(method);
                    if (audit.Sample()) audit.Answer("unauthorized", method, certId, "none");
                    await WriteErrorAsync(context, OcspResponseStatus.Unauthorized);
                    return;
            }
        }
        catch (MalformedRequestException e)
        {
            metrics.Malformed(method);
            if (audit.Sample()) audit.Answer("malformedRequest", method, null, "none");
            logger.LogDebug("Malformed request: {Reason}", e.Message);
            await WriteErrorAsync(context, OcspResponseStatus.MalformedRequest);
        }
        catch (ClientBodyException e)
        {
            // Debug, no stack trace: any client can cause this as often as it likes.
            metrics.ClientError();
            logger.LogDebug("POST body not received: {Reason}", e.Message);
            // Close rather than answer: the client is gone or stalled, and Kestrel would otherwise try to drain a body whose
            // read failed and log that with a stack trace (a 408 written first is lost to the reset of the unread input).
            context.Abort();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is OcspFunctions.Engine.Store.StoreException or IOException)
        {
            metrics.InternalError(method);
            if (audit.Sample()) audit.Answer("internalError", method, certId, "store");
            logger.LogError(e, "Store failure while answering");
            await WriteErrorAsync(context, OcspResponseStatus.InternalError);
        }
    }

    /// <summary>The raw request target (still percent-encoded, '//' kept), less the query and the AIA path prefix.</summary>
    private string GetPath(HttpContext context)
    {
        // A server that keeps no raw target (an in-process HttpContext) leaves it empty: fall back to the decoded path.
        string raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } target ? target : context.Request.Path.Value ?? "";
        int query = raw.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0) raw = raw[..query];
        // Absolute-form target from a proxy. An origin-form target starts with '/' and is never parsed as a URI: on Unix
        // "/…" parses as a file: URI, which cost ~50 µs per 8 KB hostile path for nothing.
        if (!raw.StartsWith('/') && Uri.TryCreate(raw, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http", StringComparison.Ordinal))
            raw = absolute.AbsolutePath;
        if (_prefix.Length > 0)
        {
            string trimmed = raw.TrimStart('/');
            string prefix = _prefix.TrimStart('/');
            if (trimmed.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) raw = trimmed[prefix.Length..];
        }
        return raw;
    }

    private async ValueTask<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // Content-Type is not enforced: clients and proxies get it wrong, and the DER speaks for itself.
        if (request.ContentLength > options.MaxRequestBytes)
            throw new MalformedRequestException($"request body of {request.ContentLength} bytes exceeds the {options.MaxRequestBytes}-byte cap");
        var buffer = new byte[Math.Min(options.MaxRequestBytes + 1, (int?)request.ContentLength ?? options.MaxRequestBytes + 1)];
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int read = await request.Body.ReadAsync(buffer.AsMemory(total), cancellationToken);
                if (read == 0) break;
                total += read;
            }
            if (total > options.MaxRequestBytes || (request.ContentLength is null && await request.Body.ReadAsync(new byte[1], cancellationToken) > 0))
                throw new MalformedRequestException($"request body exceeds the {options.MaxRequestBytes}-byte cap");
        }
        // Kestrel: BadHttpRequestException for a body shorter than Content-Length (400) or slower than
        // MinRequestBodyDataRate (408); a reset connection surfaces as an IOException or a cancelled read.
        catch (BadHttpRequestException e)
        {
            throw new ClientBodyException(e.Message, total);
        }
        catch (IOException e)
        {
            throw new ClientBodyException(e.Message, total);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new ClientBodyException("the connection closed", total);
        }
        return buffer.AsMemory(0, total);
    }

    /// <summary>The client did not deliver its POST body.</summary>
    private sealed class ClientBodyException(string reason, int received) : Exception($"{reason} (after {received} bytes)");

    /// <summary>Sets the headers and status of a pre-signed response (or 304), the body aside; returns the answer's status tag.</summary>
    private string WriteFound(HttpContext context, CachedResponse response, string method)
    {
        var now = time.GetUtcNow();
        var headers = context.Response.Headers;
        // RFC 5019 §6.2 / RFC 9919 §7.2: max-age ends before nextUpdate and before a newer response is published,
        // capped so a CDN cannot hide a revocation for long.
        var until = response.ReplacedBy < response.NextUpdate ? response.ReplacedBy : response.NextUpdate;
        long maxAge = Math.Max(0, (long)Math.Min((until - now).TotalSeconds, options.MaxAgeCap.TotalSeconds));
        headers.CacheControl = maxAge == _maxAgeCap ? _cappedCacheControl : _cacheControls.Get(maxAge);
        headers.ETag = response.ETag;
        headers.LastModified = _httpDates.Get(response.ThisUpdate.UtcTicks);
        headers.Expires = _httpDates.Get(response.NextUpdate.UtcTicks);

        if (IsNotModified(context.Request, response))
        {
            metrics.NotModified(method);
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return "notModified";
        }
        metrics.Served(response.Entry.Status, method);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ResponseContentType;
        context.Response.ContentLength = response.Der.Length;
        return ResponderMetrics.StatusTag(response.Entry.Status);
    }

    private static string CacheControl(long maxAge) =>
        $"max-age={maxAge.ToString(CultureInfo.InvariantCulture)}, public, no-transform, must-revalidate";

    /// <summary>RFC 9110 §13.1: If-None-Match wins over If-Modified-Since.</summary>
    private static bool IsNotModified(HttpRequest request, CachedResponse response)
    {
        var ifNoneMatch = request.Headers.IfNoneMatch;
        if (!StringValues.IsNullOrEmpty(ifNoneMatch))
        {
            foreach (var value in ifNoneMatch)
            {
                foreach (var tag in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    var candidate = tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag; // weak comparison (§13.1.2)
                    if (candidate == "*" || candidate == response.ETag) return true;
                }
            }
            return false;
        }
        return DateTimeOffset.TryParse(request.Headers.IfModifiedSince, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since)
               && since >= DateTimeOffset.FromUnixTimeSeconds(response.ThisUpdate.ToUnixTimeSeconds());
    }

    private async Task WriteErrorAsync(HttpContext context, OcspResponseStatus status)
    {
        var body = OcspErrorResponse.For(status);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ResponseContentType;
        context.Response.ContentLength = body.Length;
        context.Response.Headers.CacheControl = NoCache;
        if (!HttpMethods.IsHead(context.Request.Method)) await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>RFC 9110 §5.6.7 IMF-fixdate, always "GMT" (Boulder and cfssl wrote "UTC").</summary>
    public static string HttpDate(DateTimeOffset t) => t.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);
}
