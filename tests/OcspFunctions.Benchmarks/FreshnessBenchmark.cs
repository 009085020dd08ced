using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>freshness</c> (issue 12, "freshness under backlog"): a bulk load of N serials (the <c>refresh</c> fixture: 10 %
/// revoked by CRL) into an EMPTY directory store through a signer limited to R signatures/s, by refresh runs started
/// every interval as the timer starts them (each a fresh <see cref="RefreshEngine"/>, bounded by Timing:MaxRunTime).
/// At change-at seconds a revocation and a new issuance are made (<see cref="FreshnessChanges"/>) and a real
/// <c>OcspResponder serve</c> over the same store (Serve:IndexReloadInterval 30 s) is polled until it answers both
/// correctly. Prints the seconds from each change to its first correct answer against the 6-minute target.
/// </summary>
public static class FreshnessBenchmark
{
    private static readonly TimeSpan Target = TimeSpan.FromMinutes(6);

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var opts = BenchArgs.Parse(args, "--serials", "--key", "--rate", "--interval", "--change-at", "--max-run-time", "--until-clear",
            "--dir", "--poll", "--max-runs");
        int serials = opts.Int("--serials", 1_000_000);
        string key = opts.Get("--key") ?? "p256";
        double rate = opts.Double("--rate", 2000);
        var interval = opts.Seconds("--interval", TimeSpan.FromMinutes(5));
        var changeAt = opts.Seconds("--change-at", TimeSpan.FromSeconds(60));
        var maxRunTime = opts.Seconds("--max-run-time", new TimingOptions().MaxRunTime);
        var poll = opts.Seconds("--poll", TimeSpan.FromSeconds(1));
        bool untilClear = opts.Has("--until-clear");
        string baseDir = opts.Get("--dir") ?? Path.Combine(Path.GetTempPath(), "ocspfunctions-bench");

        var files = RefreshFixture.Ensure(baseDir, serials, key, Console.Out);
        var work = Prepare(baseDir, files);
        var options = Options(files, work, interval, maxRunTime);
        var (errors, _) = OcspOptionsValidator.Validate(options);
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
        string config = WriteServeConfig(files, work, options);

        int algorithms = 2; // the default CertID hashes, SHA-1 + SHA-256, as an operator runs it
        double bulkSeconds = (double)serials * algorithms / rate;
        int bulkRuns = (int)Math.Ceiling(bulkSeconds / maxRunTime.TotalSeconds);
        int maxRuns = opts.Int("--max-runs", bulkRuns + 3);
        Console.WriteLine($"freshness: {serials:N0} serials ({files.Revoked:N0} revoked by CRL) x {algorithms} CertID hashes = {serials * (long)algorithms:N0} responses, " +
                          $"signer limited to {rate:N0} signatures/s (token bucket), {key}; .NET {Environment.Version}, {Environment.ProcessorCount} cores");
        Console.WriteLine($"runs every {interval.TotalSeconds:F0} s, Timing:MaxRunTime {maxRunTime.TotalSeconds:F0} s, Serve:IndexReloadInterval " +
                          $"{options.Serve.IndexReloadInterval.TotalSeconds:F0} s; changes at +{changeAt.TotalSeconds:F0} s; poll every {poll.TotalSeconds:F1} s");
        Console.WriteLine($"expected bulk signing: {bulkSeconds:F0} s of signing = {bulkRuns} runs, the last starting at +{(bulkRuns - 1) * interval.TotalSeconds:F0} s; " +
                          $"work directory {work.Directory}");

        var issuer = new OcspIssuer(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(files.CaPath));
        using var serve = await ServeProbe.StartAsync(config, issuer, CancellationToken.None);
        Console.WriteLine($"serve: pid {serve.ProcessId} on {serve.Url} over {work.Store}");
        using var signers = new RateLimitedSignerFactory(new LocalKeySignerFactory(), rate);
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var changes = new FreshnessChanges(serve, work.Issued, work.LocalRevocations, clock);
        var served = Task.Run(async () =>
        {
            await changes.MakeAsync(changeAt, stop.Token);
            await changes.PollAsync(poll, stop.Token);
        });

        // Without --until-clear the benchmark stops once both are served, or once the target is missed for sure.
        var decided = untilClear ? Task.Delay(Timeout.Infinite)
            : Task.WhenAny(served, Task.Delay(changeAt + Target + poll + TimeSpan.FromSeconds(5)));
        int backlog = -1;
        for (int n = 1; n <= maxRuns; n++)
        {
            var due = interval * (n - 1);
            if (due > clock.Elapsed) await Task.WhenAny(Task.Delay(due - clock.Elapsed), decided);
            if (served.IsFaulted) await served;                                       // a failed poll: its exception
            if (decided.IsCompleted || (served.IsCompleted && backlog == 0)) break;
            if (clock.Elapsed - due > TimeSpan.FromSeconds(1))
                Console.WriteLine($"+{clock.Elapsed.TotalSeconds,6:F1} s  run {n} starts late (the previous run overran the interval)");
            bool sawChanges = changes.Made;                                          // made before this run read its inputs
            backlog = await OneRunAsync(n, options, work.Store, signers, clock, decided, backlog);
            if (backlog == 0 && sawChanges && !served.IsCompleted)
            {
                // Everything this run saw is signed: the server needs at most one index reload more.
                await Task.WhenAny(served, Task.Delay(options.Serve.IndexReloadInterval * 3));
            }
            if (decided.IsCompleted || (served.IsCompleted && backlog == 0)) break;
        }
        if (!served.IsCompleted)
            Console.WriteLine($"+{clock.Elapsed.TotalSeconds,6:F1} s  stopped: {(untilClear ? "no more runs" : "the target can no longer be met (--until-clear runs on until the backlog is 0)")}");
        await stop.CancelAsync();
        try { await served; } catch (OperationCanceledException) { }
        return Verdict(changes, clock);
    }

    /// <summary>One timer invocation: a fresh engine over the store. Returns the backlog it left (-1 when stopped early).</summary>
    private static async Task<int> OneRunAsync(int n, OcspOptions options, string store, RateLimitedSignerFactory signers, Stopwatch clock, Task stopWhen,
        int previousBacklog)
    {
        var started = clock.Elapsed;
        long before = signers.Signatures;
        Console.WriteLine($"+{started.TotalSeconds,6:F1} s  run {n} starts");
        using var cancel = new CancellationTokenSource();
        var engine = new RefreshEngine(options, new FileSystemObjectStore(store), new CompositeSourceReader([new FileSourceReader()]),
            signers, TimeProvider.System, NullLogger<RefreshEngine>.Instance);
        var running = engine.RunAsync(cancel.Token);
        if (await Task.WhenAny(running, stopWhen) != running)
        {
            await cancel.CancelAsync();
            try { await running; } catch (OperationCanceledException) { }
            var took = clock.Elapsed - started;
            long signed = signers.Signatures - before;
            Console.WriteLine($"+{clock.Elapsed.TotalSeconds,6:F1} s  run {n} stopped by the benchmark (both changes served, or the target missed for sure): " +
                              $"{signed:N0} responses signed in {took.TotalSeconds:F0} s ({signed / took.TotalSeconds:N0}/s) before the stop" +
                              (previousBacklog > 0 ? $"; backlog about {Math.Max(0, previousBacklog - signed / 2):N0} serials (the last report's less these)" : ""));
            return -1;
        }
        var report = await running;
        var r = report.Issuers.Single();
        var elapsed = clock.Elapsed - started;
        string clear = r.BacklogTimeToClear is { } t ? $", time to clear {t.TotalMinutes:F1} min" : "";
        Console.WriteLine($"+{clock.Elapsed.TotalSeconds,6:F1} s  run {n} ended after {elapsed.TotalSeconds:F0} s: {(report.Succeeded ? "succeeded" : "FAILED")}" +
                          $"{(report.TimeLimitReached ? ", time limit reached" : "")}{(report.LockHeld ? ", LEASE HELD by another run" : "")}; " +
                          $"{r.ResponsesSigned:N0} responses signed ({r.SigningRate?.ToString("N0", CultureInfo.InvariantCulture) ?? "-"}/s), " +
                          $"planned {r.Changed:N0} changed + {r.Refreshed:N0} due; backlog {r.Backlog:N0} serials{clear}");
        if (r.Capacity is { } capacity) Console.WriteLine($"          capacity: {capacity}");
        foreach (var e in r.Errors.Take(3)) Console.WriteLine($"          error: {e}");
        foreach (var w in r.Warnings.Take(3)) Console.WriteLine($"          warning: {w}");
        return report.Succeeded ? r.Backlog : -1;
    }

    private static int Verdict(FreshnessChanges changes, Stopwatch clock)
    {
        Console.WriteLine();
        bool met = true;
        foreach (var (what, at, servedAt) in new[]
                 {
                     ($"revocation of {changes.Revoked} ({changes.RevokedBefore})", changes.RevokedAt, changes.RevokedServedAt),
                     ($"new issuance of {changes.Issued}", changes.IssuedAt, changes.IssuedServedAt),
                 })
        {
            if (!changes.Made)
            {
                Console.WriteLine($"{what}: not made (the benchmark ended first)");
                met = false;
                continue;
            }
            var latency = servedAt - at;
            bool ok = latency is { } l && l <= Target;
            met &= ok;
            Console.WriteLine(latency is { } x
                ? $"{what}: made at +{at.TotalSeconds:F1} s, first correct answer at +{servedAt!.Value.TotalSeconds:F1} s = {x.TotalSeconds:F1} s -> {(ok ? "met" : "NOT MET")} (target <= {Target.TotalMinutes:F0} min)"
                : $"{what}: made at +{at.TotalSeconds:F1} s, NOT served after {(clock.Elapsed - at).TotalSeconds:F0} s -> NOT MET");
        }
        Console.WriteLine($"wall time {clock.Elapsed.TotalSeconds:F0} s");
        Console.WriteLine(met ? "freshness: target met" : "freshness: TARGET NOT MET");
        return met ? 0 : 1;
    }

    private sealed record Work(string Directory, string Issued, string LocalRevocations, string Store);

    /// <summary>A fresh work directory: a copy of the issued list (the benchmark appends to it), an empty local-revocations file, an empty store.</summary>
    private static Work Prepare(string baseDir, RefreshFiles files)
    {
        string dir = Path.Combine(baseDir, $"freshness-{files.Serials}-{files.Key}");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        var work = new Work(dir, Path.Combine(dir, "issued.txt"), Path.Combine(dir, "local-revocations.txt"), Path.Combine(dir, "store"));
        File.Copy(files.IssuedPath, work.Issued);
        File.WriteAllText(work.LocalRevocations, "# SERIAL TIME [REASON], e.g. 01AB23 2026-11-20T10:00:00Z keyCompromise\n");
        Directory.CreateDirectory(work.Store);
        return work;
    }

    private static OcspOptions Options(RefreshFiles files, Work work, TimeSpan interval, TimeSpan maxRunTime)
    {
        var options = new OcspOptions
        {
            Issuers =
            {
                new IssuerOptions
                {
                    Name = "bench-" + files.Key,
                    Certificate = files.CaPath,
                    Crls = { files.CrlPath },
                    IssuedSerials = work.Issued,
                    IssuedSerialsFormat = IssuedSerialsFormat.Text,
                    LocalRevocations = work.LocalRevocations,
                    Responder = { Certificate = files.ResponderCertPath, Key = files.ResponderKeyPath },
                },
            },
        };
        options.Serve.RefreshInterval = interval;
        options.Timing.MaxRunTime = maxRunTime;
        return options;
    }

    /// <summary>The server's configuration: the same store and issuer, default serving settings, no path prefix.</summary>
    private static string WriteServeConfig(RefreshFiles files, Work work, OcspOptions options)
    {
        string Span(TimeSpan t) => t.ToString("c", CultureInfo.InvariantCulture);
        var issuer = options.Issuers[0];
        var config = new
        {
            Ocsp = new
            {
                Store = new { Path = work.Store },
                Serve = new { PathPrefix = "", RefreshInterval = Span(options.Serve.RefreshInterval) },
                Timing = new { MaxRunTime = Span(options.Timing.MaxRunTime) },
                Issuers = new[]
                {
                    new
                    {
                        issuer.Name,
                        issuer.Certificate,
                        Crls = issuer.Crls.ToArray(),
                        IssuedSerials = work.Issued,
                        LocalRevocations = work.LocalRevocations,
                        Responder = new { Certificate = files.ResponderCertPath, Key = files.ResponderKeyPath },
                    },
                },
            },
        };
        string path = Path.Combine(work.Directory, "ocsp.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }
}
