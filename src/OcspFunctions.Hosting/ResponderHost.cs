using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspResponder.Cli;

namespace OcspResponder.Hosting;

/// <summary>Builds the Kestrel app: <c>GET /</c> for probes, <c>GET /health</c>, and the OCSP handler for everything else.</summary>
public static class ResponderHost
{
    /// <summary>A refresh this late makes the responder unhealthy (same rule as the status verb).</summary>
    public static readonly TimeSpan StaleAfterDue = StatusCommand.StaleAfterDue;

    /// <param name="timer">When hosted by Azure Functions: handles the timer function's <c>POST /RefreshTimer</c>.</param>
    public static async Task<WebApplication> BuildAsync(OcspOptions options, IEnumerable<string> urls, CancellationToken cancellationToken,
        IObjectStore? store = null, Func<HttpContext, Task>? timer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls([.. urls]);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddFilter("OcspResponder", LogLevel.Information);
        builder.Logging.AddFilter("OcspFunctions", LogLevel.Information);

        store ??= Composition.CreateStore(options);
        using var http = new HttpClient();
        var sources = Composition.CreateSources(options, http);
        var issuers = new List<OcspIssuer>();
        foreach (var issuer in options.Issuers)
        {
            var fetch = await sources.FetchAsync(issuer.Certificate, null, options.MaxSourceBytes, cancellationToken);
            issuers.Add(new OcspIssuer(LoadCertificate(fetch.Content!, issuer.Certificate)));
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.Serve);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ResponderMetrics>();
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(sp => new StoreResponseSource(issuers, store, options, TimeProvider.System,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<StoreResponseSource>()));
        builder.Services.AddSingleton<IResponseSource>(sp => sp.GetRequiredService<StoreResponseSource>());
        builder.Services.AddSingleton<OcspHttpHandler>();

        var app = builder.Build();
        var handler = app.Services.GetRequiredService<OcspHttpHandler>();
        var responses = app.Services.GetRequiredService<StoreResponseSource>();
        var metrics = app.Services.GetRequiredService<ResponderMetrics>();
        app.Run(async context =>
        {
            string path = context.Request.Path.Value ?? "";
            bool get = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
            if (get && path == "/")
            {
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("OcspFunctions OCSP responder\n", context.RequestAborted);
                return;
            }
            if (get && path.Equals("/health", StringComparison.OrdinalIgnoreCase))
            {
                await WriteHealthAsync(context, responses, metrics);
                return;
            }
            if (timer is not null && HttpMethods.IsPost(context.Request.Method)
                && path.Equals("/" + FunctionsHost.TimerFunctionName, StringComparison.OrdinalIgnoreCase)
                && context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true)
            {
                await timer(context);
                return;
            }
            await handler.HandleAsync(context);
        });
        return app;
    }

    private static X509Certificate2 LoadCertificate(byte[] bytes, string source)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(bytes);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new SourceException($"{source}: not a readable certificate ({e.Message})", e);
        }
    }

    /// <summary>Per issuer: fresh (no response past nextUpdate, refresh not overdue) and last refresh succeeded; 503 otherwise.</summary>
    private static async Task WriteHealthAsync(HttpContext context, StoreResponseSource responses, ResponderMetrics metrics)
    {
        var now = DateTimeOffset.UtcNow;
        var issuers = new List<object>();
        bool healthy = true;
        foreach (var (issuer, manifest) in await responses.ManifestsAsync(context.RequestAborted))
        {
            bool refreshed = manifest is not null;
            bool stale = manifest is null
                         || manifest.OldestNextUpdate is { } oldest && oldest <= now
                         || manifest.NextRefreshDue is { } due && due + StaleAfterDue < now;
            bool succeeded = manifest?.LastRunSucceeded ?? false;
            healthy &= !stale && succeeded;
            issuers.Add(new
            {
                name = manifest?.Name,
                issuerId = issuer.KeyHashHex,
                subject = issuer.Certificate.Subject,
                fresh = !stale,
                lastRefreshSucceeded = succeeded,
                refreshed,
                lastRun = manifest?.LastRunFinished,
                oldestNextUpdate = manifest?.OldestNextUpdate,
                nextRefreshDue = manifest?.NextRefreshDue,
                good = manifest?.Good,
                revoked = manifest?.Revoked,
                errors = manifest?.Errors,
            });
        }
        context.Response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, new { status = healthy ? "healthy" : "unhealthy", issuers, counters = metrics.Snapshot() },
            new JsonSerializerOptions { WriteIndented = true }, context.RequestAborted);
    }
}
