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
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // A POST body (≤ Serve:MaxRequestBytes) slower than 240 bytes/s after a 5 s grace is cut off with 408
            // (Kestrel's default, stated here because the README promises it).
            k.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(240, TimeSpan.FromSeconds(5));
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddFilter("OcspResponder", LogLevel.Information);
        builder.Logging.AddFilter("OcspFunctions", LogLevel.Information);

        await builder.Services.AddOcspResponderAsync(configuration, cancellationToken, store);
        bool prometheus = configuration.Serve.PrometheusMetrics;
        if (OcspTelemetry.AnyExporter(prometheus, Environment.GetEnvironmentVariable))
            builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddOcspMetrics(prometheus, Environment.GetEnvironmentVariable));
        var app = builder.Build();
        // Before the responder (which answers every other path): GET /metrics, Prometheus text format.
        if (prometheus) app.UseOpenTelemetryPrometheusScrapingEndpoint(OcspTelemetry.PrometheusPath);
        var endpoint = app.Services.GetRequiredService<ResponderEndpoint>();
        app.Run(endpoint.HandleAsync);
        return app;
    }

    /// <summary>Engine options built in code with an explicit store (tests, tools): key files, default HTTP settings.</summary>
    public static Task<WebApplication> BuildAsync(OcspOptions options, IEnumerable<string> urls, CancellationToken cancellationToken, IObjectStore store) =>
        BuildAsync(OcspConfiguration.ForOptions(options), urls, cancellationToken, store);

    /// <summary>
    /// The public health view — /health is anonymous on the internet, so no paths, no error text, no configuration:
    /// per issuer a state (fresh; failing: the last refresh failed but the responses are current; stale: a response
    /// past its nextUpdate, the refresh over an hour overdue, or never refreshed), counts, how many warnings and
    /// errors the last run recorded, and times; 503 unless every issuer is fresh. The text is in the log and <c>status</c>.
    /// </summary>
    internal static async Task WriteHealthAsync(HttpContext context, StoreResponseSource responses, ResponderMetrics metrics, DateTimeOffset now)
    {
        var issuers = new List<object>();
        bool healthy = true;
        foreach (var (issuer, manifest) in await responses.ManifestsAsync(context.RequestAborted))
        {
            string state = HealthState(manifest, now);
            healthy &= state == "fresh";
            issuers.Add(new
            {
                // Both public in the CA certificate; the operator's issuer name is configuration and stays out.
                issuerId = issuer.KeyHashHex,
                subject = issuer.Certificate.Subject,
                state,
                lastRefreshSucceeded = manifest?.LastRunSucceeded ?? false,
                lastRun = manifest?.LastRunFinished,
                lastSuccess = manifest?.LastSuccess,
                oldestNextUpdate = manifest?.OldestNextUpdate,
                nextRefreshDue = manifest?.NextRefreshDue,
                responderNotAfter = manifest?.ResponderNotAfter,
                responderDaysToExpiry = ResponderRollover.DaysToExpiry(manifest?.ResponderNotAfter, now),
                good = manifest?.Good,
                revoked = manifest?.Revoked,
                issuedSerials = manifest?.IssuedSerialCount,
                // Serials the last refresh left for the next runs (Timing:MaxRunTime reached): a number only.
                backlog = manifest?.Backlog,
                warnings = manifest?.Warnings.Count ?? 0,
                errors = manifest?.Errors.Count ?? 0,
            });
        }
        context.Response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, new { status = healthy ? "healthy" : "unhealthy", issuers, counters = metrics.Snapshot() },
            new JsonSerializerOptions { WriteIndented = true }, context.RequestAborted);
    }

    /// <summary>
    /// <c>stale</c> beats <c>failing</c>: stale responses are what clients notice; <c>expiring</c> (the responder certificate
    /// has 7 days or less, <see cref="ResponderRollover.FailBefore"/>) comes last.
    /// </summary>
    public static string HealthState(IssuerManifest? manifest, DateTimeOffset now) =>
        manifest is null
        || manifest.OldestNextUpdate is { } oldest && oldest <= now
        || manifest.NextRefreshDue is { } due && due + StaleAfterDue < now
            ? "stale"
            : !manifest.LastRunSucceeded ? "failing"
            : ResponderRollover.ExpiryLevel(manifest.ResponderNotAfter, now) == "fail" ? "expiring"
            : "fresh";
}
