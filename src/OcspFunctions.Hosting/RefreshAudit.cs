using Microsoft.Extensions.Logging;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>
/// After a refresh, per issuer: one audit event (category <see cref="AnswerAudit.Category"/>, event <c>RefreshIssuer</c>) —
/// what changed, what was signed, the inputs configured and the CRL numbers the manifest holds — and the refresh
/// instruments (runs by outcome, signatures, signing failures, duration). Built from the report and the manifest the
/// run wrote, so the engine's run loop stays as it is.
/// </summary>
public sealed partial class RefreshAudit(OcspConfiguration configuration, OcspInstruments instruments, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(AnswerAudit.Category);

    public async Task RecordAsync(RefreshReport report, IObjectStore store, CancellationToken cancellationToken)
    {
        if (report.LockHeld) return;
        foreach (var result in report.Issuers)
        {
            string issuer = result.IssuerId ?? Printable.Escape(result.Name);
            instruments.RefreshIssuer(issuer, result.Succeeded, result.ResponsesSigned, result.SigningFailures);
            if (!_logger.IsEnabled(LogLevel.Information)) continue;
            IssuerManifest? manifest = null;
            if (result.IssuerId is { } id)
            {
                try
                {
                    if (await store.GetAsync(StoreLayout.Manifest(id), cancellationToken).ConfigureAwait(false) is { } stored)
                        manifest = IssuerManifest.Parse(stored.Content, StoreLayout.Manifest(id));
                }
                catch (StoreException e)
                {
                    _logger.LogWarning("Audit of the refresh of issuer {Issuer}: manifest unreadable: {Reason}", Printable.Escape(result.Name), Printable.Escape(e.Message));
                }
            }
            var options = configuration.Options.Issuers.FirstOrDefault(i => i.Name == result.Name);
            LogRefresh(_logger, Printable.Escape(result.Name), result.IssuerId ?? "", result.Succeeded ? "succeeded" : "failed",
                result.Changed, result.Refreshed, result.Removed, result.Unchanged, result.ResponsesSigned, result.SigningFailures, result.Good, result.Revoked,
                Inputs(options), CrlNumbers(manifest), result.Errors.Count, result.Warnings.Count);
        }
        instruments.RefreshRun(report.Duration, report.Succeeded);
    }

    [LoggerMessage(EventId = AnswerAudit.RefreshEventId, EventName = "RefreshIssuer", Level = LogLevel.Information,
        Message = "Refresh of issuer {Issuer} ({IssuerId}) {Outcome}: changed {Changed}, refreshed {Refreshed}, removed {Removed}, unchanged {Unchanged}, " +
                  "responses signed {Signed}, signing failures {SigningFailures}, good {Good}, revoked {Revoked}; inputs {Inputs}; CRL numbers {CrlNumbers}; " +
                  "errors {Errors}, warnings {Warnings}")]
    private static partial void LogRefresh(ILogger logger, string issuer, string issuerId, string outcome, int changed, int refreshed, int removed,
        int unchanged, int signed, int signingFailures, int good, int revoked, string inputs, string crlNumbers, int errors, int warnings);

    /// <summary>The issuer's configured inputs, as shown in logs (no URL query or user info: a SAS token stays out).</summary>
    private static string Inputs(IssuerOptions? issuer)
    {
        if (issuer is null) return "";
        var inputs = new List<string> { "certificate " + Shown(issuer.Certificate) };
        inputs.AddRange(issuer.Crls.Select(c => "crl " + Shown(c)));
        if (issuer.IssuedSerials is { Length: > 0 } serials) inputs.Add("issuedSerials " + Shown(serials));
        if (issuer.LocalRevocations is { Length: > 0 } local) inputs.Add("localRevocations " + Shown(local));
        if (issuer.Responder.Certificate is { Length: > 0 } responder) inputs.Add("responder " + Shown(responder));
        return string.Join(", ", inputs);
    }

    /// <summary>Per CRL scope the highest number accepted and where it came from.</summary>
    private static string CrlNumbers(IssuerManifest? manifest) =>
        manifest is null ? "" : string.Join(", ", manifest.CrlScopes.Values.Select(s => $"{Printable.Escape(s.Scope)} #{Printable.Escape(s.Number)} from {Shown(s.Location)}"));

    private static string Shown(string location)
    {
        int scheme = location.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            int query = location.IndexOfAny(['?', '#'], scheme);
            if (query >= 0) location = location[..query] + "?…";
            int start = scheme + 3, end = location.IndexOf('/', start), at = location.LastIndexOf('@', end >= 0 ? end - 1 : location.Length - 1);
            if (at >= start) location = location[..start] + location[(at + 1)..];
        }
        return Printable.Escape(location);
    }
}
