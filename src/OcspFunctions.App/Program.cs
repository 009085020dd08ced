using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OcspFunctions.App;
using OpenTelemetry;
using OcspFunctions.Hosting;

// The isolated worker with ASP.NET Core integration: the host proxies each HTTP request to this process's Kestrel, so
// the function reads the raw request and writes the responder's bytes itself.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// App settings (Ocsp__…), optionally over a JSON file named by OCSP_CONFIG_FILE. A configuration error stops the worker
// with every error in the host's log (nothing is served from a half-understood configuration).
var configuration = Composition.Validated(ConfigLoader.Load(Environment.GetEnvironmentVariable(FunctionApp.ConfigFileVariable)), Console.Error);
var scheduleErrors = RefreshSchedule.Check(Environment.GetEnvironmentVariable(RefreshSchedule.Variable), configuration.Options, DateTime.UtcNow);
if (scheduleErrors.Count > 0) throw new ConfigLoader.ConfigurationException("configuration errors:\n  " + string.Join("\n  ", scheduleErrors));
await builder.Services.AddFunctionAppAsync(configuration, CancellationToken.None);

// Metrics (README, Metrics): the worker's OpenTelemetry integration, the OcspFunctions meter to Azure Monitor
// (APPLICATIONINSIGHTS_CONNECTION_STRING, Entra ID ingestion) and/or OTLP (OTEL_EXPORTER_OTLP_ENDPOINT).
if (OcspTelemetry.AnyExporter(prometheus: false, Environment.GetEnvironmentVariable))
    builder.Services.AddOpenTelemetry().UseFunctionsWorkerDefaults()
        .WithMetrics(metrics => metrics.AddOcspMetrics(prometheus: false, Environment.GetEnvironmentVariable));

builder.Build().Run();
