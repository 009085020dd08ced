using OcspFunctions.Adapters.Http;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Tests.Engine;

public sealed class FileSourceReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ocsp-sources-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Fetch_ThenNotModifiedUntilSizeOrTimeChanges()
    {
        var reader = new FileSourceReader();
        var path = Path.Combine(_dir, "serials.txt");
        await File.WriteAllTextAsync(path, "01AB\n");
        var stamp = new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);

        var first = await reader.FetchAsync(path, null, 1024, default);
        Assert.False(first.NotModified);
        Assert.Equal("01AB\n"u8.ToArray(), first.Content);
        Assert.Equal(new DateTimeOffset(stamp), first.Validators!.LastModified);
        Assert.Equal($"5-{stamp.Ticks}", first.Validators.ETag);

        var second = await reader.FetchAsync(path, first.Validators, 1024, default);
        Assert.True(second.NotModified);
        Assert.Null(second.Content);
        Assert.Equal(first.Validators, second.Validators);

        // Same time, different size: a rewrite that kept the timestamp must still be read.
        await File.WriteAllTextAsync(path, "01AB\n02CD\n");
        File.SetLastWriteTimeUtc(path, stamp);
        var third = await reader.FetchAsync(path, first.Validators, 1024, default);
        Assert.False(third.NotModified);
        Assert.Equal("01AB\n02CD\n"u8.ToArray(), third.Content);

        // Same size, different time.
        await File.WriteAllTextAsync(path, "03EF\n04AA\n");
        File.SetLastWriteTimeUtc(path, stamp.AddSeconds(1));
        var fourth = await reader.FetchAsync(path, third.Validators, 1024, default);
        Assert.False(fourth.NotModified);
        Assert.Equal("03EF\n04AA\n"u8.ToArray(), fourth.Content);

        // Only LastModified known (e.g. validators from elsewhere): the size is unknown, so read again.
        var fifth = await reader.FetchAsync(path, new SourceValidators(null, fourth.Validators!.LastModified), 1024, default);
        Assert.False(fifth.NotModified);
    }

    [Fact]
    public async Task Fetch_FileUri()
    {
        var path = Path.Combine(_dir, "a b.crl");
        await File.WriteAllBytesAsync(path, [1, 2, 3]);
        var uri = new Uri(path).AbsoluteUri;
        var reader = new FileSourceReader();
        Assert.True(reader.CanRead(uri));
        Assert.Equal([1, 2, 3], (await reader.FetchAsync(uri, null, 10, default)).Content);
    }

    [Fact]
    public async Task Fetch_OverCapOrMissing_FailsNamingThePath()
    {
        var reader = new FileSourceReader();
        var path = Path.Combine(_dir, "big.crl");
        await File.WriteAllBytesAsync(path, new byte[101]);

        Assert.Equal(101, (await reader.FetchAsync(path, null, 101, default)).Content!.Length);
        var overCap = await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync(path, null, 100, default));
        Assert.Contains(path, overCap.Message);
        Assert.Contains("100-byte cap", overCap.Message);

        var missing = Path.Combine(_dir, "missing.crl");
        var notFound = await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync(missing, null, 100, default));
        Assert.Contains(missing, notFound.Message);

        var dirAsFile = await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync(_dir, null, 100, default));
        Assert.Contains(_dir, dirAsFile.Message);
    }

    [Fact]
    public async Task List_ReturnsFileNamesOnly()
    {
        var serials = Directory.CreateDirectory(Path.Combine(_dir, "Serials")).FullName;
        foreach (var name in new[] { "01AB", "6100000002b8b4d1c1c1c6a4b0000000000002", "desktop.ini" })
            await File.WriteAllBytesAsync(Path.Combine(serials, name), []);
        Directory.CreateDirectory(Path.Combine(serials, "sub"));

        var names = new List<string>();
        await foreach (var name in new FileSourceReader().ListAsync(serials, default)) names.Add(name);

        Assert.Equal(["01AB", "6100000002b8b4d1c1c1c6a4b0000000000002", "desktop.ini"], names.Order(StringComparer.Ordinal));
        var parsed = IssuedSerialsParser.FromFileNames(names, serials);
        Assert.Equal(2, parsed.Serials.Count);
        Assert.Equal(1, parsed.IgnoredNames);
    }

    [Fact]
    public async Task List_MissingDirectory_Fails()
    {
        var missing = Path.Combine(_dir, "nope");
        var e = await Assert.ThrowsAsync<SourceException>(async () =>
        {
            await foreach (var _ in new FileSourceReader().ListAsync(missing, default)) { }
        });
        Assert.Contains(missing, e.Message);
    }

    [Theory]
    [InlineData("/var/ocsp/ca.crl", true)]
    [InlineData("relative/serials.txt", true)]
    [InlineData("C:\\PKI\\ca.crl", true)]
    [InlineData("file:///var/ocsp/ca.crl", true)]
    [InlineData("https://pki.example/ca.crl", false)]
    [InlineData("http://pki.example/ca.crl", false)]
    [InlineData("blob://container/ca.crl", false)]
    [InlineData("", false)]
    public void CanRead(string location, bool expected) => Assert.Equal(expected, new FileSourceReader().CanRead(location));
}

public class CompositeSourceReaderTests
{
    [Fact]
    public async Task DispatchesToFirstReaderThatCanRead_UnknownSchemeFails()
    {
        using var client = new HttpClient();
        var composite = new CompositeSourceReader([new HttpSourceReader(client), new FileSourceReader()]);
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, [7]);
            Assert.Equal([7], (await composite.FetchAsync(path, null, 10, default)).Content);
            Assert.True(composite.CanRead("https://pki.example/ca.crl"));
            Assert.False(composite.CanRead("ftp://pki.example/ca.crl"));

            var e = await Assert.ThrowsAsync<SourceException>(() => composite.FetchAsync("ftp://user:pw@pki.example/ca.crl?sig=secret", null, 10, default));
            Assert.Contains("'ftp://pki.example/ca.crl?…'", e.Message);
            Assert.DoesNotContain("secret", e.Message);
            Assert.DoesNotContain("pw", e.Message);
            Assert.Throws<SourceException>(() => composite.ListAsync("https://pki.example/serials/", default));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class HttpSourceReaderTests
{
    [Fact]
    public async Task Ok_ThenConditionalRequestGets304()
    {
        var body = "01AB\n02CD\n"u8.ToArray();
        await using var server = new LoopbackHttpServer(async (request, stream, ct) =>
        {
            if (request.Headers.TryGetValue("if-none-match", out var inm) && inm == "\"v1\"")
                await stream.WriteResponseAsync(304, "Not Modified", ["ETag: \"v1\""], [], ct);
            else
                await stream.WriteResponseAsync(200, "OK", ["ETag: \"v1\"", "Last-Modified: Fri, 20 Nov 2026 10:00:00 GMT"], body, ct);
        });
        using var client = new HttpClient();
        var reader = new HttpSourceReader(client, TimeSpan.FromSeconds(5));
        var url = server.Url("/serials.txt?sv=2025&sig=secret");

        var first = await reader.FetchAsync(url, null, 1024, default);
        Assert.False(first.NotModified);
        Assert.Equal(body, first.Content);
        Assert.Equal("\"v1\"", first.Validators!.ETag);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero), first.Validators.LastModified);

        var second = await reader.FetchAsync(url, first.Validators, 1024, default);
        Assert.True(second.NotModified);
        Assert.Null(second.Content);
        Assert.Equal(first.Validators, second.Validators);

        Assert.Equal(2, server.Requests.Count);
        Assert.False(server.Requests[0].Headers.ContainsKey("if-none-match"));
        Assert.Equal("GET /serials.txt?sv=2025&sig=secret HTTP/1.1", server.Requests[1].RequestLine);
        Assert.Equal("\"v1\"", server.Requests[1].Headers["if-none-match"]);
        Assert.Equal("Fri, 20 Nov 2026 10:00:00 GMT", server.Requests[1].Headers["if-modified-since"]);
    }

    [Fact]
    public async Task NotFound_FailsWithStatusAndUrl_WithoutQuery()
    {
        await using var server = new LoopbackHttpServer((_, stream, ct) => stream.WriteResponseAsync(404, "Not Found", [], "nope"u8.ToArray(), ct));
        using var client = new HttpClient();
        var e = await Assert.ThrowsAsync<SourceException>(() =>
            new HttpSourceReader(client).FetchAsync(server.Url("/ca.crl?sig=secret"), null, 1024, default));
        Assert.Contains("404", e.Message);
        Assert.Contains(server.Url("/ca.crl"), e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Fact]
    public async Task NotModifiedToAnUnconditionalRequest_Fails()
    {
        await using var server = new LoopbackHttpServer((_, stream, ct) => stream.WriteResponseAsync(304, "Not Modified", [], [], ct));
        using var client = new HttpClient();
        var reader = new HttpSourceReader(client);
        await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync(server.Url("/ca.crl"), null, 1024, default));
        // Validators the 304 omits are kept from the previous fetch.
        var previous = new SourceValidators("\"v7\"", null);
        Assert.Equal(previous, (await reader.FetchAsync(server.Url("/ca.crl"), previous, 1024, default)).Validators);
    }

    [Fact]
    public async Task ContentLengthOverCap_FailsBeforeReadingTheBody()
    {
        await using var server = new LoopbackHttpServer((_, stream, ct) => stream.WriteResponseAsync(200, "OK", [], new byte[2048], ct));
        using var client = new HttpClient();
        var e = await Assert.ThrowsAsync<SourceException>(() => new HttpSourceReader(client).FetchAsync(server.Url("/big.crl"), null, 1024, default));
        Assert.Contains("2048 bytes", e.Message);
        Assert.Contains("1024-byte cap", e.Message);
    }

    [Fact]
    public async Task StreamedBodyOverCap_Fails()
    {
        // No Content-Length: the body runs until the connection closes.
        await using var server = new LoopbackHttpServer((_, stream, ct) => stream.WriteResponseAsync(200, "OK", [], new byte[200_000], ct, contentLength: false));
        using var client = new HttpClient();
        var reader = new HttpSourceReader(client);
        var e = await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync(server.Url("/big.crl"), null, 100_000, default));
        Assert.Contains("100000-byte cap", e.Message);

        Assert.Equal(200_000, (await reader.FetchAsync(server.Url("/big.crl"), null, 200_000, default)).Content!.Length);
    }

    [Fact]
    public async Task SlowServer_TimesOut()
    {
        await using var server = new LoopbackHttpServer(async (_, stream, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), ct);
            await stream.WriteResponseAsync(200, "OK", [], [1], ct);
        });
        using var client = new HttpClient();
        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAsync<SourceException>(() =>
            new HttpSourceReader(client, TimeSpan.FromMilliseconds(300)).FetchAsync(server.Url("/slow.crl"), null, 1024, default));
        Assert.Contains("timed out after 0.3 s", e.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task SlowBody_TimesOut()
    {
        await using var server = new LoopbackHttpServer(async (_, stream, ct) =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n12345"), ct);
            await stream.FlushAsync(ct);
            await Task.Delay(TimeSpan.FromSeconds(10), ct);
        });
        using var client = new HttpClient();
        var e = await Assert.ThrowsAsync<SourceException>(() =>
            new HttpSourceReader(client, TimeSpan.FromMilliseconds(300)).FetchAsync(server.Url("/slow.crl"), null, 1024, default));
        Assert.Contains("timed out", e.Message);
    }

    [Fact]
    public async Task CallerCancellation_IsNotATimeout()
    {
        await using var server = new LoopbackHttpServer(async (_, stream, ct) => await Task.Delay(TimeSpan.FromSeconds(10), ct));
        using var client = new HttpClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new HttpSourceReader(client, TimeSpan.FromSeconds(5)).FetchAsync(server.Url("/x"), null, 1024, cts.Token));
    }

    [Fact]
    public async Task ConnectionRefused_IsASourceException()
    {
        // A port that was just free: nothing listens.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new HttpClient();
        var e = await Assert.ThrowsAsync<SourceException>(() =>
            new HttpSourceReader(client, TimeSpan.FromSeconds(5)).FetchAsync($"http://127.0.0.1:{port}/ca.crl", null, 1024, default));
        Assert.Contains($"http://127.0.0.1:{port}/ca.crl", e.Message);
    }

    [Fact]
    public async Task List_IsNotSupported()
    {
        using var client = new HttpClient();
        var reader = new HttpSourceReader(client);
        Assert.True(reader.CanRead("https://pki.example/serials/"));
        Assert.False(reader.CanRead("/var/serials"));
        Assert.Throws<SourceException>(() => reader.ListAsync("https://pki.example/serials/", default));
        await Task.CompletedTask;
    }
}
