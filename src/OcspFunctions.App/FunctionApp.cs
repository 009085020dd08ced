using Microsoft.Extensions.DependencyInjection;
using OcspFunctions.Hosting;

namespace OcspFunctions.App;

public static class FunctionApp
{
    /// <summary>An optional JSON file under the app settings (app settings override it).</summary>
    public const string ConfigFileVariable = "OCSP_CONFIG_FILE";

    /// <summary>The responder (the same registration as <c>serve</c>) and the refresh the timer runs.</summary>
    public static async Task<IServiceCollection> AddFunctionAppAsync(this IServiceCollection services, OcspConfiguration configuration,
        CancellationToken cancellationToken)
    {
        await services.AddOcspResponderAsync(configuration, cancellationToken);
        services.AddSingleton<RefreshAudit>();
        services.AddSingleton<RefreshRunner>();
        return services;
    }
}
