using OcspFunctions.Hosting;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspResponder.Cli;

public static class StatusCommand
{
    /// <summary>A refresh this late is stale: the responses are not renewed on the schedule the CA/B rules need.</summary>
    public static readonly TimeSpan StaleAfterDue = ResponderHost.StaleAfterDue;

    /// <summary>Exit codes: 0 all fresh and the last runs succeeded, 1 anything stale or failing, 2 bad configuration.</summary>
    public static async Task<int> RunAsync(string? configFile, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var options = Composition.LoadValidated(configFile, error);
        var store = ReadStore.Open(options);
        using var http = new HttpClient();
        var sources = Composition.CreateSources(options, http);
        var now = DateTimeOffset.UtcNow;
        bool healthy = true;
        foreach (var issuer in options.Options.Issuers)
        {
            // Names, locations, subjects and recorded messages come from inputs: never raw to the terminal.
            string name = Printable.Escape(issuer.Name);
            string id;
            try
            {
                id = new OcspIssuer(await CertificateFiles.LoadAsync(sources, issuer.Certificate, options.Options.MaxSourceBytes, cancellationToken)).KeyHashHex;
            }
            catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or OcspFunctions.Engine.Sources.SourceException)
            {
                output.WriteLine($"{name}: cannot read CA certificate {Printable.Escape(issuer.Certificate)}: {Printable.Escape(e.Message)}");
                healthy = false;
                continue;
            }
            var stored = await store.GetAsync(StoreLayout.Manifest(id), cancellationToken);
            if (stored is null)
            {
                output.WriteLine($"{name} ({id}): never refreshed");
                healthy = false;
                continue;
            }
            var m = IssuerManifest.Parse(stored.Content, StoreLayout.Manifest(id));
            bool stale = m.OldestNextUpdate is { } oldest && oldest <= now
                         || m.NextRefreshDue is { } due && due + StaleAfterDue < now;
            // The backlog can no longer clear before some response expires: clients will get stale answers.
            bool behind = m.Backlog > 0 && m.BacklogClearsBy is { } clears && m.OldestNextUpdate is { } expires && clears >= expires;
            healthy &= m.LastRunSucceeded && !stale && !behind;
            output.WriteLine($"{name} ({id}): {(m.LastRunSucceeded ? "ok" : "FAILING")}{(stale ? ", STALE" : "")}{(behind ? ", BEHIND" : "")}");
            output.WriteLine($"  CA: {Printable.Escape(m.CaSubject)}");
            output.WriteLine($"  good {m.Good:N0}, revoked {m.Revoked:N0}" +
                             (m.Deterministic ? $", issued serials {m.IssuedSerialCount:N0}" : "; no issued-serials list: only revoked serials are answered (not deterministic)"));
            output.WriteLine($"  packs: {m.Packs:N0} in use, {m.RetiredPacks.Count:N0} retired (deleted an hour after retirement)");
            output.WriteLine($"  oldest nextUpdate: {Time(m.OldestNextUpdate)}");
            if (m.Backlog > 0)
                output.WriteLine($"  backlog: {m.Backlog:N0} serials left (rate {RefreshCommand.Rate(m.SigningRate)}); clears by {Time(m.BacklogClearsBy)}" +
                                 (behind ? " — AFTER the oldest response expires" : ""));
            else
                output.WriteLine($"  backlog: none (rate {RefreshCommand.Rate(m.SigningRate)})");
            output.WriteLine($"  next refresh due: {Time(m.NextRefreshDue)}");
            // Warn at 30 days, fail (exit 1) at 7: the responder certificate must never expire unnoticed.
            string expiry = ResponderRollover.ExpiryLevel(m.ResponderNotAfter, now);
            healthy &= expiry != "fail";
            output.WriteLine($"  responder certificate expires: {Time(m.ResponderNotAfter)}" +
                             (ResponderRollover.DaysToExpiry(m.ResponderNotAfter, now) is { } days ? $" ({days:0.#} days)" : "") +
                             expiry switch
                             {
                                 "fail" => $" — EXPIRING: under {ResponderRollover.FailBefore.TotalDays:0} days left, merge a new version now",
                                 "warn" => $" — warning: under {ResponderRollover.WarnBefore.TotalDays:0} days left, request a new one",
                                 _ => "",
                             });
            output.WriteLine($"  last run: {Time(m.LastRunStarted)} → {Time(m.LastRunFinished)}; last success {Time(m.LastSuccess)}");
            foreach (var scope in m.CrlScopes.Values.OrderBy(c => c.Scope, StringComparer.Ordinal))
                output.WriteLine($"  {Printable.Escape(scope.Scope)}: number {Printable.Escape(scope.Number)} from {Printable.Escape(scope.Location)}");
            foreach (var (location, number) in m.CrlNumbers)
                output.WriteLine($"  CRL {Printable.Escape(location)}: number {Printable.Escape(number)} (recorded per location by an earlier version)");
            if (m.StickyRevocations > 0)
                output.WriteLine($"  kept revoked: {m.StickyRevocations:N0} serials no source revokes any more (only certificateHold can be lifted, RFC 5280 §3.3)");
            foreach (var w in m.Warnings) output.WriteLine($"  warning: {Printable.Escape(w)}");
            foreach (var e in m.Errors) output.WriteLine($"  error: {Printable.Escape(e)}");
        }
        return healthy ? 0 : 1;
    }

    private static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
