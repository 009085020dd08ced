using Microsoft.Extensions.Logging;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Hosting;

namespace OcspFunctions.App;

/// <summary>A refresh failed for at least one issuer; its message names them and their first errors.</summary>
public sealed class RefreshFailedException(string message) : Exception(message);

/// <summary>One refresh through the composition root, reported through ILogger with structured fields; throws when it failed.</summary>
public sealed class RefreshRunner(OcspConfiguration configuration, ILoggerFactory loggers, TimeProvider time, OcspInstruments instruments,
    RefreshAudit audit) : IDisposable
{
    private readonly HttpClient _http = new();
    private readonly ILogger _logger = loggers.CreateLogger<RefreshRunner>();

    public async Task<RefreshReport> RunAsync(CancellationToken cancellationToken)
    {
        var engine = Composition.CreateRefreshEngine(configuration, _http, loggers.CreateLogger<RefreshEngine>(), time, instruments);
        var report = await engine.RunAsync(cancellationToken).ConfigureAwait(false);
        // Metrics and one audit event per issuer, from the report and the manifests the run wrote.
        await audit.RecordAsync(report, Composition.CreateStore(configuration), cancellationToken).ConfigureAwait(false);
        if (report.LockHeld)
        {
            // Another run (a replay after a lost host lease, or a CLI refresh) is writing; it publishes, this one has nothing to do.
            _logger.LogWarning("Refresh skipped: another refresh holds the store lease");
            return report;
        }
        if (report.LeaseLost)
        {
            // Not a failure of the inputs: another run took the store over; what this one published is consistent.
            _logger.LogWarning("Refresh stopped: the store lease was lost; stopped without writing further (the next run continues)");
            return report;
        }
        foreach (var i in report.Issuers)
        {
            _logger.Log(i.Succeeded ? LogLevel.Information : LogLevel.Error,
                "Issuer {Issuer}: {Outcome}; good {Good}, revoked {Revoked}, signed {Signed} ({Changed} changed, {Refreshed} refreshed), " +
                "skipped {Unchanged}, removed {Removed}, packs +{PacksWritten}/-{PacksDeleted}, errors {ErrorCount}, deterministic {Deterministic}, backlog {Backlog}",
                i.Name, i.Succeeded ? "ok" : "FAILED", i.Good, i.Revoked, i.ResponsesSigned, i.Changed, i.Refreshed, i.Unchanged, i.Removed,
                i.PacksWritten, i.PacksDeleted, i.Errors.Count, i.Deterministic, i.Backlog);
            foreach (var w in i.Warnings) _logger.LogWarning("Issuer {Issuer}: {Warning}", i.Name, w);
            foreach (var e in i.Errors) _logger.LogError("Issuer {Issuer}: {Error}", i.Name, e);
        }
        _logger.LogInformation("Refresh {Outcome} in {Seconds:0.0} s", report.Succeeded ? "succeeded" : "FAILED", report.Duration.TotalSeconds);
        if (!report.Succeeded)
        {
            var failed = report.Issuers.Where(i => !i.Succeeded)
                .Select(i => $"'{i.Name}'" + (i.Errors.Count > 0 ? $" ({i.Errors[0]})" : ""));
            throw new RefreshFailedException($"refresh failed for {string.Join(", ", failed)}");
        }
        return report;
    }

    public void Dispose() => _http.Dispose();
}
