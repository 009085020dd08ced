using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using OcspFunctions.Engine.Telemetry;
using OpenTelemetry.Metrics;

namespace OcspFunctions.Hosting;

/// <summary>
/// Where the <see cref="OcspInstruments.MeterName"/> meter goes (README, Metrics): Azure Monitor when
/// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set, OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter
/// reads the other OTEL_* variables itself), Prometheus text for <c>serve</c> when <c>Serve:PrometheusMetrics</c> is true.
/// </summary>
public static class OcspTelemetry
{
    public const string AppInsightsVariable = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AppInsightsAuthenticationVariable = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string OtlpVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string PrometheusPath = "/metrics";

    /// <summary>Whether any exporter is configured (else no MeterProvider is built and the instruments cost nothing).</summary>
    public static bool AnyExporter(bool prometheus, Func<string, string?> environment) =>
        prometheus || !string.IsNullOrEmpty(environment(AppInsightsVariable)) || !string.IsNullOrEmpty(environment(OtlpVariable));

    public static MeterProviderBuilder AddOcspMetrics(this MeterProviderBuilder metrics, bool prometheus, Func<string, string?> environment)
    {
        metrics.AddMeter(OcspInstruments.MeterName);
        if (environment(AppInsightsVariable) is { Length: > 0 } connectionString)
        {
            var credential = Credential(environment(AppInsightsAuthenticationVariable));
            metrics.AddAzureMonitorMetricExporter(o =>
            {
                o.ConnectionString = connectionString;
                if (credential is not null) o.Credential = credential;
            });
        }
        if (!string.IsNullOrEmpty(environment(OtlpVariable))) metrics.AddOtlpExporter();
        if (prometheus) metrics.AddPrometheusExporter();
        return metrics;
    }

    /// <summary>
    /// Entra ID ingestion (the infrastructure disables key-based ingestion): <c>Authorization=AAD</c> with the
    /// user-assigned identity's <c>ClientId=…</c>, as the Functions host reads the same setting.
    /// </summary>
    public static TokenCredential? Credential(string? authenticationString)
    {
        if (string.IsNullOrEmpty(authenticationString)) return null;
        var parts = authenticationString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        if (!parts.TryGetValue("Authorization", out var authorization) || !authorization.Equals("AAD", StringComparison.OrdinalIgnoreCase)) return null;
        return parts.TryGetValue("ClientId", out var clientId) && clientId.Length > 0
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
    }
}
