using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Hosting;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Serving;

/// <summary>
/// A repeated GET path skips decoding: the CertID it yields must still be exactly the one its own path encodes, never a
/// neighbour's, and only answered paths are remembered.
/// </summary>
public sealed class RecentGetRequestsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private static CertId Id(string serialHex) =>
        new(CertIdHashAlgorithm.Sha1, new byte[20], new byte[20], SerialNumber.ParseHex(serialHex));

    private static string PathOf(CertId certId) => "/" + OcspGetPath.Encode(OcspRequest.Encode([certId]));

    /// <summary>Answers serials in <see cref="Known"/>, records every CertID asked.</summary>
    private sealed class RecordingSource : IResponseSource
    {
        public readonly HashSet<string> Known = [];
        public readonly List<CertId> Asked = [];

        public ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken)
        {
            Asked.Add(certId);
            return new(Known.Contains(certId.SerialNumber.ToString())
                ? new ResponseLookup(LookupOutcome.Found, Response())
                : new ResponseLookup(LookupOutcome.Unauthorized));
        }

        private static CachedResponse Response() => new()
        {
            Der = new byte[10],
            ThisUpdate = T0,
            NextUpdate = T0.AddDays(4),
            ETag = "\"e\"",
            ReplacedBy = T0.AddDays(1),
            Entry = new IndexEntry(CertStatusKind.Good, 0, null, T0.ToUnixTimeSeconds(), T0.AddDays(4).ToUnixTimeSeconds(), "p", 0, 10),
        };
    }

    private sealed class Clock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => T0.AddHours(1);
    }

    private static async Task<int> GetAsync(OcspHttpHandler handler, string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        await handler.HandleAsync(context);
        return context.Response.StatusCode;
    }

    private static OcspHttpHandler Handler(IResponseSource source, OcspInstruments instruments)
    {
        var options = new HttpServeOptions();
        return new OcspHttpHandler(source, options, new ResponderMetrics(instruments), new Clock(), NullLogger<OcspHttpHandler>.Instance,
            new AnswerAudit(options, NullLoggerFactory.Instance));
    }

    [Fact]
    public async Task Each_path_yields_its_own_CertID_however_often_it_is_asked()
    {
        var source = new RecordingSource();
        using var instruments = new OcspInstruments();
        var handler = Handler(source, instruments);
        string[] serials = [.. Enumerable.Range(1, 300).Select(i => i.ToString("x4"))];
        foreach (string serial in serials) source.Known.Add(SerialNumber.ParseHex(serial).ToString());

        for (int round = 0; round < 3; round++)
            foreach (string serial in serials)
            {
                Assert.Equal(StatusCodes.Status200OK, await GetAsync(handler, PathOf(Id(serial))));
                Assert.Equal(Id(serial), source.Asked[^1]);
            }
    }

    [Fact]
    public async Task A_path_unanswered_at_first_is_answered_once_known_and_a_malformed_one_never_looked_up()
    {
        var source = new RecordingSource();
        using var instruments = new OcspInstruments();
        var handler = Handler(source, instruments);
        string path = PathOf(Id("2a"));

        Assert.Equal(StatusCodes.Status200OK, await GetAsync(handler, path)); // unauthorized: an OCSP error body, HTTP 200
        await GetAsync(handler, "/not-base64!"); // malformedRequest, never looked up
        await GetAsync(handler, "/not-base64!");
        source.Known.Add(SerialNumber.ParseHex("2a").ToString());
        Assert.Equal(StatusCodes.Status200OK, await GetAsync(handler, path));
        Assert.Equal([Id("2a"), Id("2a")], source.Asked);
    }

    [Fact]
    public void Find_matches_the_whole_path_only()
    {
        var recent = new RecentGetRequests();
        var id = Id("01");
        Assert.Null(recent.Find("/a"));
        recent.Remember("/a", id);
        Assert.Same(id, recent.Find("/a"));
        Assert.Null(recent.Find("/A"));
        Assert.Null(recent.Find("/a/"));
        var other = Id("02");
        recent.Remember("/a", other);
        Assert.Same(other, recent.Find("/a"));
    }
}
