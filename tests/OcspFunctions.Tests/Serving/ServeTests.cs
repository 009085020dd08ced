using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Serving;

/// <summary>The HTTP responder over a refreshed store: answers, headers (RFC 5019 §6 / RFC 9919 §7), conditional requests, health.</summary>
[Collection("pki")]
public sealed class ServeTests(TestPki pki)
{
    private static readonly HttpClient Http = new();

    private static async Task<HttpResponseMessage> PostAsync(string url, byte[] request)
    {
        var content = new ByteArrayContent(request);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
        return await Http.PostAsync(url, content);
    }

    [Fact]
    public async Task Post_and_get_answer_with_a_response_openssl_verifies_and_rfc5019_headers()
    {
        await using var r = await RunningResponder.StartAsync(pki, "serve-basic");
        var leaf = r.Ca.Source.Good.First();
        var request = pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-cert", leaf.CertPath, "-no_nonce");

        using var post = await PostAsync(r.Url + "/", request);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal("application/ocsp-response", post.Content.Headers.ContentType!.ToString());
        var body = await post.Content.ReadAsByteArrayAsync();
        string file = Path.Combine(r.Ca.Directory, "post.der");
        File.WriteAllBytes(file, body);
        var verify = OpenSsl.Run(r.Ca.Directory, ["ocsp", "-respin", file, "-issuer", r.Ca.CaCertPath, "-CAfile", r.Ca.CaCertPath, "-cert", leaf.CertPath], check: false);
        Assert.Contains("Response verify OK", verify.Output, StringComparison.Ordinal);
        Assert.Contains(": good", verify.StdOut, StringComparison.Ordinal);

        using var get = await Http.GetAsync(r.Url + "/" + OcspGetPath.Encode(request));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(body, await get.Content.ReadAsByteArrayAsync());

        var single = OcspResponse.Decode(body).Basic!.Responses.Single();
        Assert.Equal(body.Length, get.Content.Headers.ContentLength);
        Assert.Equal("\"" + Convert.ToHexStringLower(SHA256.HashData(body)) + "\"", get.Headers.ETag!.ToString());
        Assert.Equal(single.ThisUpdate, get.Content.Headers.LastModified);
        Assert.Equal(single.NextUpdate, get.Content.Headers.Expires);
        var raw = get.Content.Headers.GetValues("Last-Modified").Single();
        Assert.EndsWith(" GMT", raw, StringComparison.Ordinal);
        Assert.EndsWith(" GMT", get.Headers.GetValues("Date").Single(), StringComparison.Ordinal);
        var cacheControl = get.Headers.CacheControl!;
        Assert.True(cacheControl.Public && cacheControl.NoTransform && cacheControl.MustRevalidate);
        // max-age ends before nextUpdate, before the refresh replaces the response, and within the 1 h cap.
        Assert.InRange(cacheControl.MaxAge!.Value, TimeSpan.FromMinutes(55), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Conditional_get_and_head()
    {
        await using var r = await RunningResponder.StartAsync(pki, "serve-conditional");
        var leaf = r.Ca.Source.Good.First();
        string url = r.Url + "/" + OcspGetPath.Encode(pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-cert", leaf.CertPath, "-no_nonce"));
        using var first = await Http.GetAsync(url);
        var etag = first.Headers.ETag!.ToString();

        using var byTag = new HttpRequestMessage(HttpMethod.Get, url);
        byTag.Headers.TryAddWithoutValidation("If-None-Match", etag);
        using var notModified = await Http.SendAsync(byTag);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var otherTag = new HttpRequestMessage(HttpMethod.Get, url);
        otherTag.Headers.TryAddWithoutValidation("If-None-Match", "\"abc\"");
        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(otherTag)).StatusCode);

        using var byDate = new HttpRequestMessage(HttpMethod.Get, url);
        byDate.Headers.IfModifiedSince = first.Content.Headers.LastModified;
        Assert.Equal(HttpStatusCode.NotModified, (await Http.SendAsync(byDate)).StatusCode);
        using var byOldDate = new HttpRequestMessage(HttpMethod.Get, url);
        byOldDate.Headers.IfModifiedSince = first.Content.Headers.LastModified!.Value.AddHours(-1);
        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(byOldDate)).StatusCode);

        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(first.Content.Headers.ContentLength, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Unknown_serial_unknown_issuer_and_garbage_get_unsigned_errors_that_are_not_cacheable()
    {
        await using var r = await RunningResponder.StartAsync(pki, "serve-errors");
        var notIssued = pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-serial", "0x0BADC0FFEE", "-no_nonce");
        var otherIssuer = pki.MakeRequest("-issuer", pki.RsaCa.CertPath, "-cert", pki.RsaCa.Leaves[0].CertPath, "-no_nonce");
        foreach (var request in new[] { notIssued, otherIssuer })
        {
            using var response = await PostAsync(r.Url, request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal([0x30, 0x03, 0x0A, 0x01, 0x06], await response.Content.ReadAsByteArrayAsync());
            Assert.True(response.Headers.CacheControl!.NoCache);
        }
        foreach (var path in new[] { "/!!!", "/AAAA", "/" + new string('A', 6_000) })
        {
            using var response = await Http.GetAsync(r.Url + path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal([0x30, 0x03, 0x0A, 0x01, 0x01], await response.Content.ReadAsByteArrayAsync());
        }
        // Past Kestrel's 8 KB request line the server itself answers 414 before any handler runs.
        using (var huge = await Http.GetAsync(r.Url + "/" + new string('A', 20_000))) Assert.Equal(HttpStatusCode.RequestUriTooLong, huge.StatusCode);
        using var big = await PostAsync(r.Url, new byte[20_000]);
        Assert.Equal([0x30, 0x03, 0x0A, 0x01, 0x01], await big.Content.ReadAsByteArrayAsync());
        using var put = await Http.PutAsync(r.Url + "/", new ByteArrayContent([1]));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
    }

    [Fact]
    public async Task Sha256_certids_windows_double_slash_and_raw_base64_are_answered()
    {
        await using var r = await RunningResponder.StartAsync(pki, "serve-forms");
        var leaf = r.Ca.Source.Revoked.First();
        var sha256 = pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-sha256", "-cert", leaf.CertPath, "-no_nonce");
        string b64 = Convert.ToBase64String(sha256);
        foreach (var path in new[] { "/" + OcspGetPath.Encode(sha256), "//" + b64, "/" + b64.Replace('+', '-').Replace('/', '_').TrimEnd('=') })
        {
            using var response = await Http.GetAsync(r.Url + path);
            var single = OcspResponse.Decode(await response.Content.ReadAsByteArrayAsync()).Basic!.Responses.Single();
            Assert.Equal(CertIdHashAlgorithm.Sha256, single.CertId.HashAlgorithm);
            Assert.Equal(CertStatusKind.Revoked, single.Status.Kind);
        }
    }

    [Fact]
    public async Task A_new_revocation_is_served_after_the_next_refresh()
    {
        await using var r = await RunningResponder.StartAsync(pki, "serve-update");
        var leaf = r.Ca.Source.Good.First();
        var request = pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-cert", leaf.CertPath, "-no_nonce");
        async Task<CertStatusKind> StatusAsync()
        {
            using var response = await PostAsync(r.Url, request);
            return OcspResponse.Decode(await response.Content.ReadAsByteArrayAsync()).Basic!.Responses.Single().Status.Kind;
        }
        Assert.Equal(CertStatusKind.Good, await StatusAsync());
        r.Ca.Revoke(r.Ca.LeafPath(leaf.Name), "keyCompromise");
        r.Ca.GenerateCrl();
        Assert.True((await RunningResponder.RefreshAsync(r.Options, r.Ca.StorePath)).Succeeded);
        Assert.Equal(CertStatusKind.Revoked, await StatusAsync());
    }

    [Fact]
    public async Task Health_reports_fresh_issuers_and_probe_root_answers()
    {
        await using var r = await RunningResponder.StartAsync(pki, "serve-health");
        using var root = await Http.GetAsync(r.Url + "/");
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        using var health = await Http.GetAsync(r.Url + "/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var json = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        Assert.Equal("healthy", json.RootElement.GetProperty("status").GetString());
        var issuer = json.RootElement.GetProperty("issuers")[0];
        Assert.Equal("fresh", issuer.GetProperty("state").GetString());

        // A failing refresh turns health to 503.
        File.WriteAllText(r.Ca.CrlPath, "garbage");
        Assert.False((await RunningResponder.RefreshAsync(r.Options, r.Ca.StorePath)).Succeeded);
        using var failing = await Http.GetAsync(r.Url + "/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
    }

    [Fact]
    public async Task An_expired_stored_response_is_never_served()
    {
        // Responses that lasted 1 hour (private-PKI settings), then the clock moved past nextUpdate: simulate by
        // refreshing with a validity that has already run out for the server's clock.
        await using var r = await RunningResponder.StartAsync(pki, "serve-expired", configure: o =>
        {
            o.Timing.AllowPrivatePki = true;
            o.Timing.Validity = TimeSpan.FromMinutes(1);
            o.Timing.RefreshAfter = TimeSpan.FromSeconds(30);
        });
        var leaf = r.Ca.Source.Good.First();
        var request = pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-cert", leaf.CertPath, "-no_nonce");
        using var fresh = await PostAsync(r.Url, request);
        var single = OcspResponse.Decode(await fresh.Content.ReadAsByteArrayAsync()).Basic!.Responses.Single();
        var wait = single.NextUpdate!.Value - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        using var expired = await PostAsync(r.Url, request);
        Assert.Equal([0x30, 0x03, 0x0A, 0x01, 0x03], await expired.Content.ReadAsByteArrayAsync()); // tryLater
        Assert.True(expired.Headers.CacheControl!.NoStore);
        _ = CultureInfo.InvariantCulture;
    }
}
