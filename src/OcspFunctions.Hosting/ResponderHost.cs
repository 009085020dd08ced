using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using System.Text.Json;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>Builds the Kestrel app of <c>serve</c>: the same <see cref="ResponderEndpoint"/> the function app's HTTP trigger calls.</summary>
public static class ResponderHost
{
    /// <summary>A refresh this late makes the responder unhealthy (same rule as the status verb).</summary>
    public static readonly TimeSpan StaleAfterDue = TimeSpan.FromHours(1);

    /// <summary>Serves the configuration's store (or <paramref name="store"/>) on <paramref name="urls"/>.</summary>
    public static async Task<WebApplication> BuildAsync(OcspConfiguration configuration, IEnumerable<string> urls, CancellationToken cancellationToken,
        IObjectStore? store = null)
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

        await builder.Services.AddOcspResponderAsync(configuration, cancellationToken, store);
        var app = builder.Build();
        var endpoint = app.Services.GetRequiredService<ResponderEndpoint>();
        app.Run(endpoint.HandleAsync);
        return app;
    }

    /// <summary>Engine options built in code with an explicit store (tests, tools): key files, default HTTP settings.</summary>
    public static Task<WebApplication> BuildAsync(OcspOptions options, IEnumerable<string> urls, CancellationToken cancellationToken, IObjectStore store) =>
        BuildAsync(OcspConfiguration.ForOptions(options), urls, cancellationToken, store);

    /// <summary>Per issuer: fresh (no response past nextUpdate, refresh not overdue) and last refresh succeeded; 503 otherwise.</summary>
    internal static async Task WriteHealthAsync(HttpContext context, StoreResponseSource responses, ResponderMetrics metrics)
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
