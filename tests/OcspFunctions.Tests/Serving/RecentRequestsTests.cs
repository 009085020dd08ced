using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Hosting;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Serving;

/// <summary>
/// A repeated GET path or POST body skips decoding, and its last answer is served again when the source says it is still
/// current: each request must still get exactly the CertID it encodes and that CertID's response, never a neighbour's,
/// only answered requests are remembered, and an answer the source no longer vouches for is looked up again.
/// </summary>
public sealed class RecentRequestsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private static CertId Id(string serialHex) =>
        new(CertIdHashAlgorithm.Sha1, new byte[20], new byte[20], SerialNumber.ParseHex(serialHex));

    private static string PathOf(CertId certId) => "/" + OcspGetPath.Encode(OcspRequest.Encode([certId]));

    /// <summary>Answers the serials in <see cref="Known"/> with a response whose bytes name the serial; records every CertID asked.</summary>
    private sealed class RecordingSource : IResponseSource
    {
        public readonly HashSet<string> Known = [];
        public readonly List<CertId> Asked = [];
        public readonly Dictionary<string, CachedResponse> Responses = [];
        /// <summary>Null: the interface's default (never answers again); else what <see cref="TryAnswerAgain"/> says.</summary>
        public bool? Current;
        public int AnsweredAgain;

        public ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken)
        {
            Asked.Add(certId);
            string serial = certId.SerialNumber.ToString();
            if (!Known.Contains(serial)) return new(ResponseLookup.Unauthorized);
            if (!Responses.TryGetValue(serial, out var response)) Responses[serial] = response = Response(serial);
            return new(new ResponseLookup(LookupOutcome.Found, response));
        }

        public bool TryAnswerAgain(CachedResponse response, out ResponseLookup lookup)
        {
            if (Current is null) return ((IResponseSource)new NeverAgain()).TryAnswerAgain(response, out lookup);
            AnsweredAgain++;
            lookup = new ResponseLookup(LookupOutcome.Found, response);
            return Current.Value;
        }

        private static CachedResponse Response(string serial) => new()
        {
            Der = System.Text.Encoding.ASCII.GetBytes(serial.PadLeft(16, '0')),
            ThisUpdate = T0,
            NextUpdate = T0.AddDays(4),
            ETag = $"\"{serial}\"",
            ReplacedBy = T0.AddDays(1),
            Entry = new IndexEntry(CertStatusKind.Good, 0, null, T0.ToUnixTimeSeconds(), T0.AddDays(4).ToUnixTimeSeconds(), "p", 0, 16),
        };
    }

    /// <summary>A source that relies on the interface's default answer-again (none).</summary>
    private sealed class NeverAgain : IResponseSource
    {
        public ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class Clock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => T0.AddHours(1);
    }

    private static async Task<(int Status, string Body)> SendAsync(OcspHttpHandler handler, string method, CertId? certId, string? path = null, byte[]? body = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        if (method == "POST")
        {
            body ??= OcspRequest.Encode([certId!]);
            context.Request.ContentLength = body.Length;
            context.Request.Body = new MemoryStream(body);
        }
        else context.Request.Path = path ?? PathOf(certId!);
        var output = new MemoryStream();
        context.Response.Body = output;
        await handler.HandleAsync(context);
        return (context.Response.StatusCode, System.Text.Encoding.ASCII.GetString(output.ToArray()));
    }

    private static OcspHttpHandler Handler(IResponseSource source, OcspInstruments instruments)
    {
        var options = new HttpServeOptions();
        return new OcspHttpHandler(source, options, new ResponderMetrics(instruments), new Clock(), NullLogger<OcspHttpHandler>.Instance,
            new AnswerAudit(options, NullLoggerFactory.Instance));
    }

    [Theory]
    [InlineData("GET", null)]
    [InlineData("POST", null)]
    [InlineData("GET", true)]
    [InlineData("POST", true)]
    public async Task Each_request_gets_its_own_CertID_and_response_however_often_it_is_asked(string method, bool? current)
    {
        var source = new RecordingSource { Current = current };
        using var instruments = new OcspInstruments();
        var handler = Handler(source, instruments);
        string[] serials = [.. Enumerable.Range(1, 1000).Select(i => SerialNumber.ParseHex(i.ToString("x4")).ToString())];
        foreach (string serial in serials) source.Known.Add(serial);

        for (int round = 0; round < 3; round++)
            foreach (string serial in serials)
            {
                var (status, body) = await SendAsync(handler, method, Id(serial));
                Assert.Equal(StatusCodes.Status200OK, status);
                Assert.Equal(serial.PadLeft(16, '0'), body);
                if (current is null) Assert.Equal(Id(serial), source.Asked[^1]);
            }
        if (current is null) Assert.Equal(3 * serials.Length, source.Asked.Count);
        else
        {
            // 1,000 requests in a table of 4,096 (two ways per set): all but the few in a set of three or more are answered
            // again without a lookup (the first round looks every one up).
            Assert.Equal(3 * serials.Length, source.Asked.Count + source.AnsweredAgain);
            Assert.InRange(source.AnsweredAgain, 2 * serials.Length * 8 / 10, 2 * serials.Length);
        }
    }

    [Fact]
    public async Task An_answer_the_source_no_longer_vouches_for_is_looked_up_again()
    {
        var source = new RecordingSource { Current = true };
        using var instruments = new OcspInstruments();
        var handler = Handler(source, instruments);
        source.Known.Add("2A");
        await SendAsync(handler, "GET", Id("2a"));
        await SendAsync(handler, "GET", Id("2a"));
        Assert.Single(source.Asked);
        Assert.Equal(1, source.AnsweredAgain);
        source.Current = false;
        await SendAsync(handler, "GET", Id("2a"));
        Assert.Equal(2, source.Asked.Count);
    }

    [Fact]
    public async Task A_request_unanswered_at_first_is_answered_once_known_and_a_malformed_one_never_looked_up()
    {
        var source = new RecordingSource { Current = true };
        using var instruments = new OcspInstruments();
        var handler = Handler(source, instruments);

        Assert.Equal(StatusCodes.Status200OK, (await SendAsync(handler, "GET", Id("2a"))).Status); // unauthorized: an OCSP error body, HTTP 200
        await SendAsync(handler, "GET", null, "/not-base64!"); // malformedRequest, never looked up
        await SendAsync(handler, "GET", null, "/not-base64!");
        source.Known.Add("2A");
        Assert.Equal("2A".PadLeft(16, '0'), (await SendAsync(handler, "GET", Id("2a"))).Body);
        Assert.Equal([Id("2a"), Id("2a")], source.Asked);
        Assert.Equal(0, source.AnsweredAgain);
    }

    [Fact]
    public async Task A_POST_body_with_the_bytes_of_a_remembered_GET_path_is_decoded_as_a_body()
    {
        var source = new RecordingSource { Current = true };
        using var instruments = new OcspInstruments();
        var handler = Handler(source, instruments);
        source.Known.Add("2A");
        string path = PathOf(Id("2a"));
        Assert.Equal("2A".PadLeft(16, '0'), (await SendAsync(handler, "GET", Id("2a"))).Body);

        byte[] body = System.Runtime.InteropServices.MemoryMarshal.AsBytes(path.AsSpan()).ToArray(); // the GET key's bytes
        var (_, answer) = await SendAsync(handler, "POST", null, body: body);
        Assert.Equal(OcspErrorResponse.For(OcspResponseStatus.MalformedRequest), System.Text.Encoding.ASCII.GetBytes(answer));
        Assert.Single(source.Asked);
    }

    [Fact]
    public void Find_matches_the_whole_request_only()
    {
        var recent = new RecentRequests();
        var id = Id("01");
        var answer = new CachedResponse
        {
            Der = [1], ThisUpdate = T0, NextUpdate = T0.AddDays(1), ETag = "\"1\"", ReplacedBy = T0.AddHours(1),
            Entry = new IndexEntry(CertStatusKind.Good, 0, null, 0, 0, "p", 0, 1),
        };
        byte[] a = [1, 2, 3];
        Assert.Null(recent.Find(post: true, a));
        recent.Remember(true, a, null, id, answer);
        var found = recent.Find(post: true, a);
        Assert.NotNull(found);
        Assert.Same(id, found.CertId);
        Assert.Same(answer, found.Answer);
        Assert.Null(recent.Find(post: false, a)); // a GET path with the same bytes is another request
        Assert.Null(recent.Find(post: true, [1, 2]));
        Assert.Null(recent.Find(post: true, [1, 2, 3, 4]));
        var other = Id("02");
        recent.Remember(true, a, null, other, answer); // remembered again (a race): replaced, not held twice
        Assert.Same(other, recent.Find(post: true, a)!.CertId);

        byte[] longest = new byte[RecentRequests.MaxRequestBytes], tooLong = new byte[RecentRequests.MaxRequestBytes + 1];
        recent.Remember(true, longest, null, id, answer);
        recent.Remember(true, tooLong, null, id, answer);
        Assert.NotNull(recent.Find(post: true, longest));
        Assert.Null(recent.Find(post: true, tooLong));
    }
}
