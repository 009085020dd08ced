using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>
/// Everything the responder answers over HTTP: <c>GET /</c> for probes, <c>GET /health</c>, and the OCSP handler for
/// every other path. <c>serve</c> (Kestrel) and the function app's catch-all HTTP trigger both call <see cref="HandleAsync"/>.
/// </summary>
public sealed class ResponderEndpoint(OcspHttpHandler handler, StoreResponseSource responses, ResponderMetrics metrics, TimeProvider time)
{
    /// <summary>Not async itself: an OCSP request goes straight to the handler's task (no state machine of its own).</summary>
    public Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "";
        bool get = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        if (get && path is "" or "/")
        {
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("OcspFunctions OCSP responder\n", context.RequestAborted);
        }
        if (get && path.Equals("/health", StringComparison.OrdinalIgnoreCase))
            return ResponderHost.WriteHealthAsync(context, responses, metrics, time.GetUtcNow());
        return handler.HandleAsync(context);
    }
}

public static class ResponderServices
{
    /// <summary>
    /// Registers the responder (store, response source, handler, <see cref="ResponderEndpoint"/>) for a configuration; the CA
    /// certificates are read now, through the source readers.
    /// </summary>
    public static async Task<IServiceCollection> AddOcspResponderAsync(this IServiceCollection services, OcspConfiguration configuration,
        CancellationToken cancellationToken, IObjectStore? store = null)
    {
        store ??= Composition.CreateStore(configuration);
        IReadOnlyList<OcspIssuer> issuers;
        using (var http = new HttpClient())
            issuers = await Composition.LoadIssuersAsync(configuration, Composition.CreateSources(configuration, http), cancellationToken);
        services.AddSingleton(configuration);
        services.AddSingleton(configuration.Options);
        services.AddSingleton(configuration.Serve);
        services.TryAddSingleton(TimeProvider.System); // a host (or a test) may bring its own clock
        // The gauges read the manifests the responder has loaded (no I/O in a collection callback).
        services.AddSingleton(sp => new OcspInstruments(() => sp.GetRequiredService<StoreResponseSource>().LoadedReadings(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ResponderMetrics>();
        services.AddSingleton<AnswerAudit>();
        services.AddSingleton(store);
        services.AddSingleton(sp => new StoreResponseSource(issuers, store, configuration.Options, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<StoreResponseSource>()) { Instruments = sp.GetRequiredService<OcspInstruments>() });
        services.AddSingleton<IResponseSource>(sp => sp.GetRequiredService<StoreResponseSource>());
        services.AddSingleton<OcspHttpHandler>();
        services.AddSingleton<ResponderEndpoint>();
        return services;
    }
}
