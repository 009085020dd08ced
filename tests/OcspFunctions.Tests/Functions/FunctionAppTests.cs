using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.App;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;
using OcspFunctions.Hosting;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Tests.Serving;

namespace OcspFunctions.Tests.Functions;

/// <summary>
/// The function classes of src/OcspFunctions.App driven in-process, as the isolated worker would call them. The Azure
/// Functions host and Core Tools cannot be installed here (environment.md: the npm package downloads the host from
/// outside the registries), so these tests and <see cref="PublishedAppTests"/> stand in for running under the host.
/// </summary>
[Collection("pki")]
public sealed class FunctionAppTests(TestPki pki)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private sealed class App : IAsyncDisposable
    {
        public required CaWorkspace Ca { get; init; }
        public required OcspOptions Options { get; init; }
        public required ServiceProvider Services { get; init; }
        public required List<string> Logs { get; init; }

        public OcspHttpFunction Http => new(Services.GetRequiredService<ResponderEndpoint>());

        public RefreshTimerFunction Timer => new(Services.GetRequiredService<RefreshRunner>(), Services.GetRequiredService<ILogger<RefreshTimerFunction>>());

        public FileSystemObjectStore Store => new(Ca.StorePath);

        public OcspIssuer Issuer => new(Ca.Source.Certificate);

        public ValueTask DisposeAsync() => Services.DisposeAsync();
    }

    /// <summary>The app's own registration (<see cref="FunctionApp.AddFunctionAppAsync"/>) over a workspace; refreshed first unless told not to.</summary>
    private async Task<App> CreateAsync(string hint, bool refresh = true)
    {
        var ca = new CaWorkspace(pki, pki.EcCa, hint);
        var options = ca.Options(hint);
        options.Serve.IndexReloadInterval = TimeSpan.Zero;
        if (refresh) Assert.True((await RunningResponder.RefreshAsync(options, ca.StorePath)).Succeeded);
        var logs = new List<string>();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(new ListLoggerProvider(logs)).SetMinimumLevel(LogLevel.Information));
        await services.AddFunctionAppAsync(OcspConfiguration.ForOptions(options, new FileSystemStoreOptions { Path = ca.StorePath }), None);
        return new App { Ca = ca, Options = options, Services = services.BuildServiceProvider(), Logs = logs };
    }

    private static (HttpContext Context, MemoryStream Body) Request(IServiceProvider services, string method, string rawTarget, byte[]? body = null,
        string? contentType = null)
    {
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = method;
        int query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        context.Request.Path = Uri.UnescapeDataString(query >= 0 ? rawTarget[..query] : rawTarget);
        // Kestrel (behind the host's proxy) keeps the raw target; the handler reads it.
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = rawTarget;
        if (body is not null)
        {
            context.Request.Body = new MemoryStream(body);
            context.Request.ContentLength = body.Length;
            context.Request.ContentType = contentType;
        }
        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;
        return (context, responseBody);
    }

    [Fact]
    public async Task Http_function_answers_get_in_every_accepted_form_post_head_health_and_root_with_the_stored_bytes()
    {
        await using var app = await CreateAsync("fn-http");
        var leaf = app.Ca.Source.Good.First();
        var request = pki.MakeRequest("-issuer", app.Ca.CaCertPath, "-cert", leaf.CertPath, "-no_nonce");
        var stored = await StoredResponses.FindAsync(app.Store, app.Issuer, leaf.SerialHex);
        Assert.NotNull(stored);
        string base64 = Convert.ToBase64String(request);

        // GET: raw base64, percent-encoded, '//' (Windows), base64url without padding; POST; all give the stored bytes.
        foreach (var target in new[]
                 {
                     "/" + base64, "/" + Uri.EscapeDataString(base64), "//" + base64,
                     "/" + base64.TrimEnd('=').Replace('+', '-').Replace('/', '_'),
                 })
        {
            var (context, body) = Request(app.Services, "GET", target);
            Assert.IsType<Microsoft.AspNetCore.Mvc.EmptyResult>(await app.Http.RunAsync(context.Request));
            Assert.Equal(200, context.Response.StatusCode);
            Assert.Equal("application/ocsp-response", context.Response.ContentType);
            Assert.Equal(stored.Der, body.ToArray());
        }
        var (post, postBody) = Request(app.Services, "POST", "/", request, "application/ocsp-request");
        await app.Http.RunAsync(post.Request);
        Assert.Equal(stored.Der, postBody.ToArray());
        Assert.Contains("public", post.Response.Headers.CacheControl.ToString(), StringComparison.Ordinal);

        var (head, headBody) = Request(app.Services, "HEAD", "/" + base64);
        await app.Http.RunAsync(head.Request);
        Assert.Equal(200, head.Response.StatusCode);
        Assert.Equal(stored.Der.Length, head.Response.ContentLength);
        Assert.Equal(0, headBody.Length);

        var (health, healthBody) = Request(app.Services, "GET", "/health");
        await app.Http.RunAsync(health.Request);
        Assert.Equal(200, health.Response.StatusCode);
        using (var json = JsonDocument.Parse(healthBody.ToArray()))
            Assert.Equal("healthy", json.RootElement.GetProperty("status").GetString());

        var (root, rootBody) = Request(app.Services, "GET", "/");
        await app.Http.RunAsync(root.Request);
        Assert.Equal(200, root.Response.StatusCode);
        Assert.StartsWith("OcspFunctions", Encoding.UTF8.GetString(rootBody.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_RefreshTimer_is_just_an_ocsp_path_and_runs_no_refresh()
    {
        await using var app = await CreateAsync("fn-timer-path");
        string manifest = StoreLayout.Manifest(app.Issuer.KeyHashHex);
        var before = (await app.Store.GetAsync(manifest, None))!.Content.ToArray();

        // What the custom handler's host used to send for the timer: now an OCSP POST with a JSON body (malformed).
        byte[] payload = Encoding.UTF8.GetBytes("""{"Data":{"timer":{"IsPastDue":true}},"Metadata":{}}""");
        var (post, postBody) = Request(app.Services, "POST", "/RefreshTimer", payload, "application/json");
        await app.Http.RunAsync(post.Request);
        Assert.Equal(200, post.Response.StatusCode);
        Assert.Equal("application/ocsp-response", post.Response.ContentType);
        Assert.Equal(OcspResponseStatus.MalformedRequest, OcspResponse.Decode(postBody.ToArray()).Status);

        // As a GET the name is a path that is not base64 of a request: malformedRequest too, never a refresh.
        var (get, getBody) = Request(app.Services, "GET", "/RefreshTimer");
        await app.Http.RunAsync(get.Request);
        Assert.Equal(OcspResponseStatus.MalformedRequest, OcspResponse.Decode(getBody.ToArray()).Status);

        Assert.Equal(before, (await app.Store.GetAsync(manifest, None))!.Content.ToArray());
        Assert.DoesNotContain(app.Logs, l => l.Contains("Refresh", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Timer_function_refreshes_through_the_composition_root_and_logs_structured_results()
    {
        await using var app = await CreateAsync("fn-timer", refresh: false);
        Assert.Null(await app.Store.GetAsync(StoreLayout.Manifest(app.Issuer.KeyHashHex), None));

        await app.Timer.RunAsync(new TimerInfo { IsPastDue = true }, None);

        Assert.NotNull(await StoredResponses.FindAsync(app.Store, app.Issuer, app.Ca.Source.Good.First().SerialHex));
        Assert.Contains(app.Logs, l => l.Contains("past due", StringComparison.Ordinal));
        Assert.Contains(app.Logs, l => l.StartsWith("Information: Issuer fn-timer: ok; good ", StringComparison.Ordinal));
        Assert.Contains(app.Logs, l => l.StartsWith("Information: Refresh succeeded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Timer_function_fails_the_invocation_when_an_issuer_fails_and_keeps_the_published_responses()
    {
        await using var app = await CreateAsync("fn-timer-fail");
        var leaf = app.Ca.Source.Good.First();
        var before = (await StoredResponses.FindAsync(app.Store, app.Issuer, leaf.SerialHex))!.Der;
        File.WriteAllText(app.Ca.CrlPath, "not a CRL");

        var e = await Assert.ThrowsAsync<RefreshFailedException>(() => app.Timer.RunAsync(new TimerInfo(), None));
        Assert.Contains("'fn-timer-fail'", e.Message, StringComparison.Ordinal);
        Assert.Contains(app.Logs, l => l.StartsWith("Error: Issuer fn-timer-fail: FAILED", StringComparison.Ordinal));
        Assert.Equal(before, (await StoredResponses.FindAsync(app.Store, app.Issuer, leaf.SerialHex))!.Der);
    }

    [Fact]
    public async Task Timer_function_succeeds_without_writing_while_another_refresh_holds_the_store_lease()
    {
        // A replayed timer run (host lease lost, azure-functions-host #2968) or a CLI refresh: the lease keeps this one out.
        await using var app = await CreateAsync("fn-timer-lease", refresh: false);
        await using (var lease = await new FileSystemObjectStore(app.Ca.StorePath).TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(1), None))
        {
            Assert.NotNull(lease);
            await app.Timer.RunAsync(new TimerInfo(), None);
        }
        Assert.Contains(app.Logs, l => l == "Warning: Refresh skipped: another refresh holds the store lease");
        Assert.Null(await app.Store.GetAsync(StoreLayout.Manifest(app.Issuer.KeyHashHex), None));
    }

    [Fact]
    public async Task Timer_function_honours_the_hosts_cancellation()
    {
        await using var app = await CreateAsync("fn-timer-cancel", refresh: false);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => app.Timer.RunAsync(new TimerInfo(), cancelled.Token));
        Assert.Null(await app.Store.GetAsync(StoreLayout.IndexShard(app.Issuer.KeyHashHex, 1, 0), None));
        Assert.Empty(await ShardedIndexStore.ReadAllAsync(app.Store, app.Issuer.KeyHashHex, None).ContinueWith(t => t.Result.Entries, TaskScheduler.Default));
    }

    /// <summary>Keeps "Level: message" lines.</summary>
    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines) lines.Add($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }
}
