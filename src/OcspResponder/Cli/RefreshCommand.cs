using OcspFunctions.Hosting;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OcspFunctions.Engine;
using OcspFunctions.Protocol;

namespace OcspResponder.Cli;

public static class RefreshCommand
{
    /// <summary>
    /// Exit codes: 0 success (also when Timing:MaxRunTime left a backlog), 1 an issuer failed, 2 bad configuration, 3 another refresh
    /// holds the lease or took it over during the run.
    /// </summary>
    public static Task<int> RunAsync(string? configFile, bool verbose, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        RunAsync(Composition.LoadValidated(configFile, error), verbose, output, error, cancellationToken, terminal: !Console.IsErrorRedirected);

    public static async Task<int> RunAsync(OcspConfiguration options, bool verbose, TextWriter output, TextWriter error, CancellationToken cancellationToken,
        bool terminal)
    {
        using var loggers = Composition.CreateLoggerFactory(verbose);
        using var http = new HttpClient();
        long lastDraw = 0;
        bool lineOpen = false;
        var engine = new RefreshEngine(options.Options, Composition.CreateStore(options), Composition.CreateSources(options, http),
            Composition.CreateSignerFactory(options), TimeProvider.System, loggers.CreateLogger<RefreshEngine>())
        {
            Progress = terminal
                ? new SyncProgress(p =>
                {
                    // Redraw at most ten times a second; the last one always.
                    long now = Stopwatch.GetTimestamp();
                    if (p.Done != p.Total && Stopwatch.GetElapsedTime(Interlocked.Read(ref lastDraw), now).TotalMilliseconds < 100) return;
                    Interlocked.Exchange(ref lastDraw, now);
                    lock (error)
                    {
                        error.Write($"\r{Printable.Escape(p.Issuer)}: signing {p.Done:N0}/{p.Total:N0}   {(p.Done == p.Total ? "\n" : "")}");
                        lineOpen = p.Done != p.Total;
                    }
                })
                : null,
        };
        var report = await engine.RunAsync(cancellationToken);
        if (lineOpen) error.WriteLine(); // stopped at Timing:MaxRunTime (or failed) before the last serial
        if (report.LockHeld)
        {
            error.WriteLine("refresh: another refresh holds the store lease; try again later");
            return 3;
        }
        if (report.LeaseLost) error.WriteLine("refresh: the store lease was lost; stopped without writing further (the next run continues)");
        foreach (var i in report.Issuers)
        {
            string name = Printable.Escape(i.Name);
            var errors = i.Errors.Select(Printable.Escape).ToList();
            if (!i.Succeeded && i.Changed + i.Refreshed + i.Unchanged == 0)
            {
                // Failed before deciding anything (an input was refused): the counts would be zeros, the reason is what matters.
                output.WriteLine($"{name}: FAILED: {(errors.Count > 0 ? errors[0] : "unknown error")}  (nothing published; the previous responses stay)");
                foreach (var w in i.Warnings) output.WriteLine($"  warning: {Printable.Escape(w)}");
                foreach (var e in errors.Skip(1)) output.WriteLine($"  error: {e}");
                continue;
            }
            output.WriteLine($"{name}: {(i.Succeeded ? "ok" : "FAILED")}  good {i.Good:N0}  revoked {i.Revoked:N0}  " +
                             (i.StickyRevocations > 0 ? $"(kept revoked {i.StickyRevocations:N0})  " : "") +
                             $"signed {i.ResponsesSigned:N0} responses ({i.Changed:N0} changed, {i.Refreshed:N0} refreshed)  " +
                             $"skipped {i.Unchanged:N0}  removed {i.Removed:N0}  packs +{i.PacksWritten}/-{i.PacksDeleted}  errors {i.Errors.Count}" +
                             (i.Deterministic ? "" : "  [no issued-serials list: not deterministic]"));
            if (i.Backlog > 0)
                output.WriteLine($"  backlog: {i.Backlog:N0} serials left for the next runs (Timing:MaxRunTime reached); " +
                                 $"rate {Rate(i.SigningRate)}; clears in {Eta(i.BacklogTimeToClear)}");
            else if (i.SigningRate is { } rate)
                output.WriteLine($"  rate: {Rate(rate)}");
            if (i.Capacity is { } capacity) output.WriteLine($"  capacity: {Printable.Escape(capacity)}");
            foreach (var w in i.Warnings) output.WriteLine($"  warning: {Printable.Escape(w)}");
            foreach (var e in errors) output.WriteLine($"  error: {e}");
        }
        if (report.TimeLimitReached) output.WriteLine("refresh stopped at Timing:MaxRunTime; the next run continues with the backlog");
        if (report.LeaseLost) return 3;
        output.WriteLine($"refresh {(report.Succeeded ? "succeeded" : "FAILED")} in {report.Duration.TotalSeconds:0.0} s");
        return report.Succeeded ? 0 : 1;
    }

    internal static string Rate(double? rate) =>
        rate is { } r ? r.ToString(r < 10 ? "0.###" : "0", System.Globalization.CultureInfo.InvariantCulture) + " responses/s" : "not measured";

    internal static string Eta(TimeSpan? eta) => eta switch
    {
        null => "unknown (no rate yet)",
        { TotalHours: >= 1 } t => $"about {t.TotalHours:0.#} h",
        { } t => $"about {Math.Ceiling(t.TotalMinutes):0} min",
    };

    /// <summary>Progress&lt;T&gt; posts to the thread pool out of order; this reports inline.</summary>
    private sealed class SyncProgress(Action<RefreshProgress> report) : IProgress<RefreshProgress>
    {
        public void Report(RefreshProgress value) => report(value);
    }
}
