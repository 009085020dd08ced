using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Hosting;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Serving;

/// <summary>
/// The caching headers of a hit come from small caches of formatted strings: they must still follow the clock (max-age
/// counts down to ReplacedBy, then 0) and each response's own times, never a neighbour's cached value.
/// </summary>
public sealed class HitHeaderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class OneResponse : IResponseSource
    {
        public CachedResponse Response = null!;
        public ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken) =>
            new(new ResponseLookup(LookupOutcome.Found, Response));
    }

    private static CachedResponse Response(DateTimeOffset thisUpdate, TimeSpan replacedAfter, byte fill) => new()
    {
        Der = Enumerable.Repeat(fill, 200).ToArray(),
        ThisUpdate = thisUpdate,
        NextUpdate = thisUpdate.AddDays(4),
        ETag = $"\"{fill:x2}\"",
        ReplacedBy = thisUpdate + replacedAfter,
        Entry = new IndexEntry(CertStatusKind.Good, 0, null, thisUpdate.ToUnixTimeSeconds(), thisUpdate.AddDays(4).ToUnixTimeSeconds(), "p", 0, 200),
    };

    private static async Task<IHeaderDictionary> PostAsync(OcspHttpHandler handler)
    {
        var context = new DefaultHttpContext();
        byte[] request = OcspRequest.Encode([new CertId(CertIdHashAlgorithm.Sha1, new byte[20], new byte[20], SerialNumber.ParseHex("01"))]);
        context.Request.Method = "POST";
        context.Request.ContentLength = request.Length;
        context.Request.Body = new MemoryStream(request);
        context.Response.Body = new MemoryStream();
        await handler.HandleAsync(context);
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        Assert.Equal(200, context.Response.Body.Length);
        return context.Response.Headers;
    }

    [Fact]
    public async Task Max_age_and_dates_follow_the_clock_and_the_response()
    {
        var clock = new Clock(T0.AddMinutes(30));
        var source = new OneResponse { Response = Response(T0, TimeSpan.FromHours(2), 1) };
        var options = new HttpServeOptions();
        using var instruments = new OcspInstruments();
        var handler = new OcspHttpHandler(source, options, new ResponderMetrics(instruments), clock, NullLogger<OcspHttpHandler>.Instance,
            new AnswerAudit(options, NullLoggerFactory.Instance));

        string Expected(long maxAge) => $"max-age={maxAge}, public, no-transform, must-revalidate";
        var headers = await PostAsync(handler);
        Assert.Equal(Expected(3600), headers.CacheControl.ToString()); // 1.5 h left: the 1 h cap
        Assert.Equal(OcspHttpHandler.HttpDate(T0), headers.LastModified.ToString());
        Assert.Equal(OcspHttpHandler.HttpDate(T0.AddDays(4)), headers.Expires.ToString());

        clock.Now = T0.AddMinutes(90);
        Assert.Equal(Expected(1800), (await PostAsync(handler)).CacheControl.ToString());
        clock.Now = T0.AddMinutes(90).AddSeconds(1);
        Assert.Equal(Expected(1799), (await PostAsync(handler)).CacheControl.ToString());
        clock.Now = T0.AddMinutes(90);
        Assert.Equal(Expected(1800), (await PostAsync(handler)).CacheControl.ToString());
        clock.Now = T0.AddHours(3); // past ReplacedBy
        Assert.Equal(Expected(0), (await PostAsync(handler)).CacheControl.ToString());

        // Another response, a minute later: its own dates (a minute's ticks differ in their low bits by nothing).
        source.Response = Response(T0.AddMinutes(1), TimeSpan.FromHours(2), 2);
        clock.Now = T0.AddMinutes(2);
        headers = await PostAsync(handler);
        Assert.Equal(OcspHttpHandler.HttpDate(T0.AddMinutes(1)), headers.LastModified.ToString());
        Assert.Equal(OcspHttpHandler.HttpDate(T0.AddMinutes(1).AddDays(4)), headers.Expires.ToString());
        Assert.Equal("\"02\"", headers.ETag.ToString());
        Assert.Equal(Expected(3600), headers.CacheControl.ToString());
        // Many distinct times (more than the cache holds) still format each one right.
        for (int i = 0; i < 600; i++)
        {
            source.Response = Response(T0.AddMinutes(i), TimeSpan.FromHours(2), 3);
            clock.Now = T0.AddMinutes(i).AddSeconds(7200 - 1 - i);
            headers = await PostAsync(handler);
            Assert.Equal(OcspHttpHandler.HttpDate(T0.AddMinutes(i)), headers.LastModified.ToString());
            Assert.Equal(Expected(Math.Min(3600, i + 1)), headers.CacheControl.ToString());
        }
    }
}
