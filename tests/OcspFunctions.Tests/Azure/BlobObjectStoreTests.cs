using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Azure.Storage.Blobs;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// Sits between the SDK's pipeline and the network: records every try and can answer in Azurite's place
/// (a 503, a hang) before forwarding.
/// </summary>
public sealed class RecordingHandler(Func<int, HttpRequestMessage, CancellationToken, Task<HttpResponseMessage?>>? fault = null)
    : DelegatingHandler(new SocketsHttpHandler())
{
    public sealed record Try(HttpMethod Method, Uri Uri, Dictionary<string, string> Headers, HttpStatusCode? Status);

    private int _attempts;

    public ConcurrentQueue<Try> Tries { get; } = new();

    public int Attempts => _attempts;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        int attempt = Interlocked.Increment(ref _attempts);
        var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        HttpResponseMessage? response = null;
        try
        {
            if (fault is not null) response = await fault(attempt, request, cancellationToken);
            response ??= await base.SendAsync(request, cancellationToken);
            return response;
        }
        finally
        {
            Tries.Enqueue(new Try(request.Method, request.RequestUri!, headers, response?.StatusCode));
        }
    }
}

/// <summary>Blob-specific behaviour of <see cref="BlobObjectStore"/> on the SDK against a real Azurite: paging, headers, retries, errors.</summary>
public sealed class BlobObjectStoreTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task List_follows_the_continuation_across_pages()
    {
        var handler = new RecordingHandler();
        var store = azurite.Store("paging", azurite.Options(handler), listPageSize: 7);
        var expected = Enumerable.Range(0, 40).Select(i => $"responses/sha1/AB/{i:X4}").ToList();
        await Parallel.ForEachAsync(expected.Append("responses/sha256/CD/01").Append("other"), async (name, ct) =>
            await store.PutAsync(name, Encoding.ASCII.GetBytes(name), ct));

        var listed = await store.ListAsync("responses/sha1/", None).ToListAsync();
        Assert.Equal(expected, listed.Order(StringComparer.Ordinal));
        var lists = handler.Tries.Where(t => t.Uri.Query.Contains("comp=list", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, lists.Count); // 40 names, 7 a page
        Assert.All(lists, t => Assert.Contains("maxresults=7", t.Uri.Query, StringComparison.Ordinal));
        Assert.Equal(5, lists.Count(t => t.Uri.Query.Contains("marker=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task List_pages_past_5000_names_at_the_default_page_size()
    {
        var handler = new RecordingHandler();
        var store = azurite.Store("big", azurite.Options(handler));
        var names = Enumerable.Range(0, 5003).Select(i => $"responses/sha1/00/{i:X5}").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (name, ct) =>
            await store.PutAsync(name, ReadOnlyMemory<byte>.Empty, ct));

        var listed = await store.ListAsync("responses/", None).ToListAsync();
        Assert.Equal(names, listed.Order(StringComparer.Ordinal));
        var lists = handler.Tries.Where(t => t.Uri.Query.Contains("comp=list", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lists.Count);
        Assert.All(lists, t => Assert.Contains("maxresults=5000", t.Uri.Query, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Requests_carry_the_sdk_default_version_a_shared_key_and_writes_are_single_put_blobs()
    {
        var handler = new RecordingHandler();
        var store = azurite.Store("headers", azurite.Options(handler));
        await store.PutAsync("issuers/AA/packs/p1", new byte[] { 0x30, 0x03, 0x0A, 0x01, 0x00 }, None);
        await store.PutAsync("issuers/AA/index.tsv", "x\n"u8.ToArray(), None);
        Assert.NotNull(await store.GetAsync("issuers/AA/packs/p1", None));
        Assert.Equal(new byte[] { 0x0A, 0x01 }, await store.GetRangeAsync("issuers/AA/packs/p1", 2, 2, None));

        // No pinned service version: the newest this SDK knows (Azurite runs with --skipApiVersionCheck for it).
        var newest = Enum.GetValues<BlobClientOptions.ServiceVersion>().Max().ToString()[1..].Replace('_', '-');
        Assert.True(DateTime.TryParseExact(newest, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _), newest);
        var tries = handler.Tries.ToList();
        Assert.All(tries, t =>
        {
            Assert.Equal(newest, t.Headers["x-ms-version"]);
            Assert.StartsWith("SharedKey devstoreaccount1:", t.Headers["Authorization"], StringComparison.Ordinal);
        });
        // The first write found no container: it was created (PUT ?restype=container) and the write sent again.
        Assert.Contains(tries, t => t.Method == HttpMethod.Put && t.Uri.Query == "?restype=container" && t.Status == HttpStatusCode.Created);
        var puts = tries.Where(t => t.Method == HttpMethod.Put && t.Status == HttpStatusCode.Created && t.Uri.Query.Length == 0).ToList();
        Assert.Equal(2, puts.Count);
        // One Put Blob each (atomic), never Put Block + Put Block List.
        Assert.DoesNotContain(tries, t => t.Uri.Query.Contains("comp=block", StringComparison.Ordinal));
        Assert.All(puts, t => Assert.Equal("BlockBlob", t.Headers["x-ms-blob-type"]));
        // Packs are many responses back to back, not one application/ocsp-response.
        Assert.All(puts, t => Assert.Equal("application/octet-stream", t.Headers["x-ms-blob-content-type"]));
        // A ranged read names both ends, inclusive.
        var ranged = Assert.Single(tries, t => t.Headers.ContainsKey("x-ms-range"));
        Assert.Equal("bytes=2-3", ranged.Headers["x-ms-range"]);
        Assert.Equal(HttpStatusCode.PartialContent, ranged.Status);
    }

    [Fact]
    public async Task Reads_of_a_missing_container_do_not_create_it()
    {
        var handler = new RecordingHandler();
        var store = azurite.Store("absent", azurite.Options(handler));
        Assert.Null(await store.GetAsync("a", None));
        Assert.Null(await store.GetRangeAsync("a", 0, 1, None));
        Assert.Empty(await store.ListAsync("", None).ToListAsync());
        Assert.False(await store.DeleteAsync("a", None));
        Assert.DoesNotContain(handler.Tries, t => t.Uri.Query.Contains("restype=container", StringComparison.Ordinal) && t.Method == HttpMethod.Put);
    }

    [Fact]
    public async Task Names_with_spaces_plus_percent_and_unicode_are_signed_and_stored()
    {
        var store = azurite.Store("odd");
        string name = "odd dir/a b+c=%25 ü&x.txt";
        await store.PutAsync(name, "odd"u8.ToArray(), None);
        Assert.Equal("odd"u8.ToArray(), (await store.GetAsync(name, None))!.Content);
        Assert.Equal([name], await store.ListAsync("odd dir/a b+", None).ToListAsync());
        Assert.True(await store.DeleteAsync(name, None));
    }

    [Fact]
    public async Task A_wrong_account_key_is_refused_by_azurite_and_reported_without_the_key()
    {
        string wrongKey = Convert.ToBase64String(Enumerable.Repeat((byte)7, 64).ToArray());
        string connectionString = azurite.ConnectionString.Replace(AzuriteFixture.DevelopmentKey, wrongKey, StringComparison.Ordinal);
        var storage = new BlobStorage(new BlobStoreOptions { BlobConnectionString = connectionString, BlobContainer = azurite.NewContainer("wrongkey") }, azurite.Options());
        var store = storage.CreateStore();
        var e = await Assert.ThrowsAsync<StoreException>(() => store.PutAsync("responses/x", "x"u8.ToArray(), None));
        Assert.Contains("HTTP 403", e.Message, StringComparison.Ordinal);
        Assert.Contains("AuthorizationFailure", e.Message, StringComparison.Ordinal);
        Assert.Contains("responses/x", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<StoreException>(() => store.GetAsync("responses/x", None));
    }

    [Fact]
    public async Task A_503_twice_is_retried_with_backoff_then_succeeds()
    {
        var store = azurite.Store("retry");
        await store.PutAsync("m", "v"u8.ToArray(), None);
        var handler = new RecordingHandler((attempt, _, _) =>
            Task.FromResult(attempt <= 2 ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) : null));
        var flaky = new BlobObjectStore(azurite.Service(azurite.Options(handler)).GetBlobContainerClient(store.Container));
        Assert.Equal("v"u8.ToArray(), (await flaky.GetAsync("m", None))!.Content);
        Assert.Equal(3, handler.Attempts);
        Assert.Equal([HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK], handler.Tries.Select(t => t.Status));
    }

    [Fact]
    public async Task Retries_give_up_after_max_retries_with_a_store_exception()
    {
        var handler = new RecordingHandler((_, _, _) => Task.FromResult<HttpResponseMessage?>(new HttpResponseMessage(HttpStatusCode.InternalServerError)));
        var store = azurite.Store("give-up", azurite.Options(handler));
        var e = await Assert.ThrowsAsync<StoreException>(() => store.GetAsync("m", None));
        Assert.Contains("HTTP 500", e.Message, StringComparison.Ordinal);
        Assert.Equal(4, handler.Attempts); // the try and MaxRetries (3)

        // 4xx other than 408/429 is not retried.
        var forbidden = new RecordingHandler((_, _, _) => Task.FromResult<HttpResponseMessage?>(new HttpResponseMessage(HttpStatusCode.Forbidden)));
        var store403 = azurite.Store("no-retry", azurite.Options(forbidden));
        await Assert.ThrowsAsync<StoreException>(() => store403.GetAsync("m", None));
        Assert.Equal(1, forbidden.Attempts);
    }

    [Fact]
    public async Task A_try_that_exceeds_the_network_timeout_is_retried()
    {
        var store = azurite.Store("timeout");
        await store.PutAsync("m", "v"u8.ToArray(), None);
        var handler = new RecordingHandler(async (attempt, _, ct) =>
        {
            if (attempt == 1) await Task.Delay(TimeSpan.FromSeconds(30), ct); // hangs until the per-try timeout cancels it
            return null;
        });
        var options = azurite.Options(handler);
        options.Retry.NetworkTimeout = TimeSpan.FromMilliseconds(500);
        var slow = new BlobObjectStore(azurite.Service(options).GetBlobContainerClient(store.Container));
        Assert.Equal("v"u8.ToArray(), (await slow.GetAsync("m", None))!.Content);
        Assert.Equal(2, handler.Attempts);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_a_store_exception()
    {
        var options = azurite.Options();
        options.Retry.MaxRetries = 1;
        var storage = new BlobStorage(new BlobStoreOptions
        {
            BlobConnectionString = $"AccountName=devstoreaccount1;AccountKey={AzuriteFixture.DevelopmentKey};BlobEndpoint=http://127.0.0.1:1/devstoreaccount1",
        }, options);
        var e = await Assert.ThrowsAsync<StoreException>(() => storage.CreateStore().GetAsync("m", None));
        Assert.Contains("'m'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connection_strings_are_parsed_by_the_sdk_without_echoing_secrets()
    {
        static Uri Endpoint(string connectionString) => new BlobStorage(new BlobStoreOptions { BlobConnectionString = connectionString }).Service.Uri;
        Assert.Equal("http://127.0.0.1:10000/devstoreaccount1", Endpoint("UseDevelopmentStorage=true").AbsoluteUri.TrimEnd('/'));
        Assert.Equal("https://acct.blob.core.windows.net/",
            Endpoint($"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={AzuriteFixture.DevelopmentKey};EndpointSuffix=core.windows.net").AbsoluteUri);
        Assert.Equal("https://acct.blob.core.chinacloudapi.cn/",
            Endpoint($"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={AzuriteFixture.DevelopmentKey};EndpointSuffix=core.chinacloudapi.cn").AbsoluteUri);
        var badKey = Assert.Throws<ArgumentException>(() => Endpoint("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=not*base64SECRET"));
        Assert.DoesNotContain("SECRET", badKey.Message, StringComparison.Ordinal);
        var garbage = Assert.Throws<ArgumentException>(() => Endpoint("not a connection string SECRET"));
        Assert.DoesNotContain("SECRET", garbage.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new BlobStorage(new BlobStoreOptions { BlobConnectionString = "UseDevelopmentStorage=true", BlobContainer = "Bad_Name" }));
    }

    [Fact]
    public async Task The_factory_builds_a_store_and_reader_on_one_client_from_store_options()
    {
        var options = new BlobStoreOptions { BlobConnectionString = azurite.ConnectionString, BlobContainer = azurite.NewContainer("factory") };
        Assert.True(options.IsBlob);
        var storage = AzureAdapters.CreateBlobStorage(options);
        Assert.Null(storage.Credential); // Shared Key
        var store = storage.CreateStore();
        await store.PutAsync("sources/ca.pem", "pem"u8.ToArray(), None);
        var fetch = await storage.CreateSourceReader().FetchAsync($"blob:{options.BlobContainer}/sources/ca.pem", null, 1000, None);
        Assert.Equal("pem"u8.ToArray(), fetch.Content);
        // The one-call entry points build their own client and reach the same blobs.
        Assert.Equal("pem"u8.ToArray(), (await AzureAdapters.CreateStore(options).GetAsync("sources/ca.pem", None))!.Content);
        Assert.Equal("pem"u8.ToArray(), (await AzureAdapters.CreateSourceReader(options).FetchAsync($"blob:{options.BlobContainer}/sources/ca.pem", null, 1000, None)).Content);
    }
}
