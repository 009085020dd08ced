using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>refresh</c>: a whole refresh (the real <see cref="RefreshEngine"/> over a directory store and a local key) at
/// 1,000,000 serials, against the bare signature rate of the same key on all cores. Each refresh runs in a fresh
/// child process (<c>refresh-child</c>) so its peak working set is its own; the bare rate is measured in this
/// process right before and right after the full refresh and averaged.
/// </summary>
public static class RefreshBenchmark
{
    private const double RateTarget = 0.80;
    private static readonly TimeSpan NothingToDoTarget = TimeSpan.FromSeconds(10);
    private const long MemoryTarget = 1L << 30;
    private const int MemoryTargetSerials = 1_000_000;
    /// <summary>Issue 12 at 10,000,000 serials: a nothing-to-do run within 30 s and 1.5 GB (the full run's peak is reported).</summary>
    private const int ScaleTargetSerials = 10_000_000;
    private static readonly TimeSpan ScaleNothingToDoTarget = TimeSpan.FromSeconds(30);
    private const long ScaleMemoryTarget = 1536L << 20;
    private const int MessageSize = 170;

    private sealed record ChildResult(Dictionary<string, string> Values, double ProcessSeconds)
    {
        public double Get(string key) => double.Parse(Values[key], CultureInfo.InvariantCulture);
        public long Long(string key) => long.Parse(Values[key], CultureInfo.InvariantCulture);
        public double CpuSeconds => Get("user_s") + Get("sys_s");
    }

    /// <summary>A rate measured in this process, with the CPU time (user + system) it took.</summary>
    private sealed record Measured(int Count, double Seconds, double UserSeconds, double SysSeconds)
    {
        public double Rate => Count / Seconds;
        public double CpuMicrosPerOp => (UserSeconds + SysSeconds) * 1e6 / Count;
    }

    private sealed record KeyRun(string Key, int Serials, Measured BareBefore, Measured BareAfter, ChildResult Full, ChildResult Idle)
    {
        public double Bare => (BareBefore.Rate + BareAfter.Rate) / 2;
        public double BareCpu => (BareBefore.CpuMicrosPerOp + BareAfter.CpuMicrosPerOp) / 2;
    }

    public static int Run(string[] args)
    {
        var opts = Args.Parse(args);
        string baseDir = opts.Get("--dir") ?? Path.Combine(Path.GetTempPath(), "ocspfunctions-bench");
        string keyArg = opts.Get("--key") ?? "both";
        string[] keys = keyArg switch
        {
            "p256" => ["p256"],
            "rsa2048" => ["rsa2048"],
            "both" => ["p256", "rsa2048"],
            _ => throw new ArgumentException("--key p256|rsa2048|both"),
        };
        int? serialsAll = opts.Int("--serials");
        int p256Serials = serialsAll ?? 1_000_000;
        int rsaSerials = opts.Int("--rsa-serials") ?? serialsAll ?? 200_000;
        int concurrency = opts.Int("--concurrency") ?? 0;
        string gc = opts.Get("--gc") ?? "workstation";
        if (gc is not ("server" or "workstation")) throw new ArgumentException("--gc server|workstation");
        bool keep = opts.Has("--keep");

        Console.WriteLine($"refresh benchmark: .NET {Environment.Version}, {Environment.ProcessorCount} cores, " +
                          $"{Environment.OSVersion.VersionString}, refresh child GC: {gc}{(gc == "workstation" ? " (as the OcspResponder CLI and the Functions worker)" : "")}, " +
                          $"SigningConcurrency {(concurrency > 0 ? concurrency : Environment.ProcessorCount)}");
        Console.WriteLine($"inputs and stores under {baseDir}");
        var runs = new List<KeyRun>();
        foreach (var key in keys)
        {
            int serials = key == "rsa2048" ? rsaSerials : p256Serials;
            int responses = serials * 2;
            int bareCount = opts.Int("--bare") ?? responses;
            var files = RefreshFixture.Ensure(baseDir, serials, key, Console.Out);
            string store = Path.Combine(baseDir, $"refresh-store-{key}");
            DeleteStore(store);                                        // left over from a --keep run
            string label = Label(key);
            Console.WriteLine($"[{label}] {serials:N0} serials ({files.Revoked:N0} revoked) -> {responses:N0} responses (SHA-1 + SHA-256 CertIDs)" +
                              (key == "rsa2048" && serials < MemoryTargetSerials ? $"; RSA-2048 run at {serials:N0} serials to keep it short (--rsa-serials / --serials to change)" : ""));

            byte[] pkcs8 = LoadPkcs8(files.ResponderKeyPath);
            Console.Write($"[{label}] bare sign, {bareCount:N0} signatures on {Environment.ProcessorCount} threads ... ");
            var before = BareSign(pkcs8, key, bareCount);
            Console.WriteLine($"{before.Rate:N0}/s");

            Console.Write($"[{label}] full refresh (child process) ... ");
            var full = RunChild(files, baseDir, store, concurrency, gc);
            Console.WriteLine($"{full.Get("engine_s"):F1} s, {full.Long("signed"):N0} signed");

            Console.Write($"[{label}] bare sign again ... ");
            var after = BareSign(pkcs8, key, bareCount);
            Console.WriteLine($"{after.Rate:N0}/s");

            Console.Write($"[{label}] nothing-to-do refresh (child process) ... ");
            var idle = RunChild(files, baseDir, store, concurrency, gc);
            Console.WriteLine($"{idle.Get("engine_s"):F1} s, {idle.Long("signed"):N0} signed");

            runs.Add(new KeyRun(key, serials, before, after, full, idle));
        }
        int exit = Print(runs);
        if (!keep)
        {
            foreach (var key in keys) DeleteStore(Path.Combine(baseDir, $"refresh-store-{key}"));
        }
        return exit;
    }

    private static string Label(string key) => key == "rsa2048" ? "RSA-2048" : "P-256";

    private static int Print(List<KeyRun> runs)
    {
        Console.WriteLine();
        Console.WriteLine("| key | serials | run | wall | ops | ops/s | vs bare | CPU µs/op | peak WS (VmHWM) |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|---:|");
        bool allMet = true;
        var notes = new List<string>();
        var verdicts = new List<string>();
        foreach (var r in runs)
        {
            string label = Label(r.Key);
            string serials = r.Serials.ToString("N0", CultureInfo.InvariantCulture);
            foreach (var (name, m) in new[] { ("bare sign, before", r.BareBefore), ("bare sign, after", r.BareAfter) })
                Console.WriteLine($"| {label} | {serials} | {name} | {m.Seconds:F1} s | {m.Count:N0} sig | {m.Rate:N0} | | {m.CpuMicrosPerOp:F0} | |");
            Console.WriteLine($"| {label} | {serials} | **bare sign, mean** | | | **{r.Bare:N0}** | 100 % | {r.BareCpu:F0} | |");
            long signed = r.Full.Long("signed");
            double fullRate = signed / r.Full.Get("engine_s");
            double ratio = fullRate / r.Bare;
            Console.WriteLine($"| {label} | {serials} | **full refresh** | {r.Full.Get("engine_s"):F1} s | {signed:N0} resp | **{fullRate:N0}** | **{ratio:P0}** | " +
                              $"{r.Full.CpuSeconds * 1e6 / Math.Max(1, signed):F0} | {r.Full.Long("vmhwm") / 1048576.0:N0} MB |");
            Console.WriteLine($"| {label} | {serials} | **nothing-to-do** | **{r.Idle.Get("engine_s"):F1} s** | {r.Idle.Long("signed"):N0} resp | | | " +
                              $"{r.Idle.CpuSeconds:F1} s total | {r.Idle.Long("vmhwm") / 1048576.0:N0} MB |");

            double signingRate = signed / Math.Max(1e-9, r.Full.Get("signing_s"));
            notes.Add($"{label}: the signing phase alone (first to last signature; the target is judged on the whole run above) " +
                      $"{signingRate:N0} responses/s = {signingRate / r.Bare:P0} of bare");
            notes.Add($"{label}: full refresh phases: inputs {r.Full.Get("before_signing_s"):F1} s, signing {r.Full.Get("signing_s"):F1} s, " +
                      $"index + manifest {r.Full.Get("after_signing_s"):F1} s; process {r.Full.ProcessSeconds:F1} s; CPU user {r.Full.Get("user_s"):F0} s + sys {r.Full.Get("sys_s"):F0} s; " +
                      $"GC pauses {r.Full.Get("gc_pause_s"):F1} s (gen0/1/2 {r.Full.Values["gc012"]}), allocated {r.Full.Long("allocated") / 1048576.0:N0} MB");
            bool fullOk = r.Full.Values["succeeded"] == "True" && signed == 2L * r.Serials;
            bool idleOk = r.Idle.Values["succeeded"] == "True" && r.Idle.Long("signed") == 0;
            bool rateMet = ratio >= RateTarget;
            bool scale = r.Serials >= ScaleTargetSerials;
            var idleTarget = scale ? ScaleNothingToDoTarget : NothingToDoTarget;
            bool idleMet = r.Idle.Get("engine_s") <= idleTarget.TotalSeconds;
            // At 1,000,000 serials both runs within 1 GB; at 10,000,000 the nothing-to-do run within 1.5 GB.
            long peak = scale ? r.Idle.Long("vmhwm") : Math.Max(r.Full.Long("vmhwm"), r.Idle.Long("vmhwm"));
            bool? memMet = scale ? peak <= ScaleMemoryTarget : r.Serials >= MemoryTargetSerials ? peak <= MemoryTarget : null;
            verdicts.Add($"{label}: full refresh signed {signed:N0} (expected {2L * r.Serials:N0}): {(fullOk ? "ok" : "WRONG")}; " +
                         $"nothing-to-do signed {r.Idle.Long("signed")}: {(idleOk ? "ok" : "WRONG (must be 0)")}");
            verdicts.Add($"{label}: target full refresh >= {RateTarget:P0} of the bare sign rate: {ratio:P0} -> {(rateMet ? "met" : "NOT MET")}");
            verdicts.Add($"{label}: target nothing-to-do <= {idleTarget.TotalSeconds:F0} s: {r.Idle.Get("engine_s"):F1} s -> {(idleMet ? "met" : "NOT MET")}");
            verdicts.Add(scale
                ? $"{label}: target nothing-to-do peak memory <= 1.5 GB at {ScaleTargetSerials:N0} serials: {peak / 1048576.0:N0} MB -> {(memMet == true ? "met" : "NOT MET")} " +
                  $"(full refresh peak {r.Full.Long("vmhwm") / 1048576.0:N0} MB, reported)"
                : $"{label}: target peak memory <= 1 GB at {MemoryTargetSerials:N0} serials: {peak / 1048576.0:N0} MB at {r.Serials:N0} -> " +
                  (memMet is null ? "n/a (not run at 1,000,000 serials)" : memMet.Value ? "met" : "NOT MET"));
            allMet &= fullOk && idleOk && rateMet && idleMet && memMet != false;
        }
        Console.WriteLine();
        foreach (var n in notes) Console.WriteLine(n);
        Console.WriteLine();
        foreach (var v in verdicts) Console.WriteLine(v);
        Console.WriteLine(allMet ? "refresh: all targets met" : "refresh: TARGET(S) NOT MET");
        return allMet ? 0 : 1;
    }

    private static Measured Measure(int count, Action work)
    {
        using var self = Process.GetCurrentProcess();
        var user = self.UserProcessorTime;
        var sys = self.PrivilegedProcessorTime;
        var sw = Stopwatch.StartNew();
        work();
        double seconds = sw.Elapsed.TotalSeconds;
        self.Refresh();
        return new Measured(count, seconds, (self.UserProcessorTime - user).TotalSeconds, (self.PrivilegedProcessorTime - sys).TotalSeconds);
    }

    private static byte[] LoadPkcs8(string pemPath)
    {
        var pem = File.ReadAllText(pemPath);
        var fields = PemEncoding.Find(pem);
        return Convert.FromBase64String(pem[fields.Base64Data]);
    }

    /// <summary>SignData over 170-byte messages on every core, one key object per thread.</summary>
    private static Measured BareSign(byte[] pkcs8, string key, int count)
    {
        int threads = Environment.ProcessorCount;
        var messages = new byte[64][];
        var random = new Random(42);
        for (int i = 0; i < messages.Length; i++) random.NextBytes(messages[i] = new byte[MessageSize]);
        var keys = new AsymmetricAlgorithm[threads];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
        // Key import and warm-up outside the measurement.
        Parallel.For(0, threads, parallel, t =>
        {
            AsymmetricAlgorithm k = key == "rsa2048" ? RSA.Create() : ECDsa.Create();
            k.ImportPkcs8PrivateKey(pkcs8, out _);
            keys[t] = k;
            for (int i = 0; i < 50; i++) Sign(k, messages[i & 63]);
        });
        int perThread = (count + threads - 1) / threads;
        var result = Measure(perThread * threads, () => Parallel.For(0, threads, parallel, t =>
        {
            var k = keys[t];
            for (int i = 0; i < perThread; i++) Sign(k, messages[i & 63]);
        }));
        foreach (var k in keys) k.Dispose();
        return result;
    }

    private static byte[] Sign(AsymmetricAlgorithm key, byte[] data) => key switch
    {
        ECDsa ec => ec.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException(),
    };

    private static ChildResult RunChild(RefreshFiles files, string baseDir, string store, int concurrency, string gc)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(typeof(RefreshBenchmark).Assembly.Location);
        foreach (var a in new[] { "refresh-child", "--dir", baseDir, "--serials", files.Serials.ToString(CultureInfo.InvariantCulture),
                     "--key", files.Key, "--store", store, "--concurrency", concurrency.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_gcServer"] = gc == "server" ? "1" : "0";
        psi.Environment["DOTNET_GCConserveMemory"] = "7"; // as OcspResponder and OcspFunctions.App ship it (their csproj)
        var sw = Stopwatch.StartNew();
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the refresh child");
        string? resultLine = null;
        for (string? line; (line = child.StandardOutput.ReadLine()) is not null;)
        {
            if (line.StartsWith("RESULT ", StringComparison.Ordinal)) resultLine = line;
            else Console.WriteLine($"    child: {line}");
        }
        child.WaitForExit();
        double seconds = sw.Elapsed.TotalSeconds;
        if (child.ExitCode != 0 || resultLine is null)
            throw new InvalidOperationException($"refresh child failed (exit {child.ExitCode})");
        var values = resultLine["RESULT ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        return new ChildResult(values, seconds);
    }


    private static void DeleteStore(string store)
    {
        if (!Directory.Exists(store)) return;
        Directory.Delete(store, recursive: true);
    }

    /// <summary><c>refresh-fixture [--serials N] [--key p256|rsa2048] [--dir DIR]</c>: only generate (or find) the cached inputs.</summary>
    public static int Fixture(string[] args)
    {
        var opts = Args.Parse(args);
        var files = RefreshFixture.Ensure(opts.Get("--dir") ?? Path.Combine(Path.GetTempPath(), "ocspfunctions-bench"),
            opts.Int("--serials") ?? 1_000_000, opts.Get("--key") ?? "p256", Console.Out);
        Console.WriteLine(files.Directory);
        return 0;
    }

    /// <summary>The measured process: one refresh over the store, then its figures on one RESULT line.</summary>
    public static int Child(string[] args)
    {
        var started = Stopwatch.GetTimestamp();
        var opts = Args.Parse(args);
        var files = RefreshFixture.Paths(opts.Get("--dir")!, opts.Int("--serials")!.Value, opts.Get("--key")!);
        string store = opts.Get("--store")!;
        var options = new OcspOptions
        {
            SigningConcurrency = opts.Int("--concurrency") ?? 0,
            // The 10,000,000-serial list is 540 MB, over the default 512 MiB cap: an operator at that size raises it too.
            MaxSourceBytes = 2L << 30,
            Issuers =
            {
                new IssuerOptions
                {
                    Name = "bench-" + files.Key,
                    Certificate = files.CaPath,
                    Crls = { files.CrlPath },
                    IssuedSerials = files.IssuedPath,
                    IssuedSerialsFormat = IssuedSerialsFormat.Text,
                    Responder = { Certificate = files.ResponderCertPath, Key = files.ResponderKeyPath },
                },
            },
        };
        // --hash sha1: one response per serial (a 10,000,000-serial store in half the signing time).
        if (opts.Get("--hash") is { } hash) options.Issuers[0].HashAlgorithms = [.. hash.Split(',')];
        // One run signs everything, as a bulk load run by hand with a raised Timing:MaxRunTime (the default 4 minutes would
        // stop a 10,000,000-serial load part-way and leave the rest to later runs); the timer interval above it, as validated.
        options.Timing.MaxRunTime = TimeSpan.FromSeconds(opts.Int("--max-run-time") ?? 6 * 3600);
        options.Serve.RefreshInterval = options.Timing.MaxRunTime + TimeSpan.FromMinutes(1);
        var (errors, _) = OcspOptionsValidator.Validate(options);
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));

        var progress = new TimingProgress();
        var counting = new CountingStore(new FileSystemObjectStore(store));
        // --log: the engine's log (phase times, checkpoints) on stderr, timestamped; stdout keeps only the figures.
        using var loggers = opts.Has("--log")
            ? LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
                .AddFilter("OcspFunctions", LogLevel.Information).Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(
                    o => o.LogToStandardErrorThreshold = LogLevel.Trace))
            : NullLoggerFactory.Instance;
        var engine = new RefreshEngine(options, counting, new CompositeSourceReader([new FileSourceReader()]),
            new LocalKeySignerFactory(), TimeProvider.System, loggers.CreateLogger<RefreshEngine>()) { Progress = progress };
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var pauseBefore = GC.GetTotalPauseDuration();
        long engineStart = Stopwatch.GetTimestamp();
        // What the GC held when the RSS was highest (sampled every 250 ms): the peak's managed share and its slack.
        long peakRss = 0, peakHeap = 0, peakCommitted = 0;
        using var sampler = new Timer(_ =>
        {
            long rss = ProcStatus.Bytes("VmRSS");
            if (rss <= peakRss) return;
            var info = GC.GetGCMemoryInfo();
            (peakRss, peakHeap, peakCommitted) = (rss, info.HeapSizeBytes, info.TotalCommittedBytes);
        }, null, 0, 250);
        var report = engine.RunAsync(CancellationToken.None).GetAwaiter().GetResult();
        long engineEnd = Stopwatch.GetTimestamp();
        sampler.Dispose();
        var result = report.Issuers.Single();
        foreach (var e in result.Errors.Take(5)) Console.WriteLine($"error: {e}");
        Console.WriteLine(counting.Summary);

        using var self = Process.GetCurrentProcess();
        self.Refresh();
        long first = progress.First == 0 ? engineEnd : progress.First;
        long last = progress.Last == 0 ? engineEnd : progress.Last;
        var fields = new (string, object)[]
        {
            ("engine_s", Stopwatch.GetElapsedTime(engineStart, engineEnd).TotalSeconds),
            ("startup_s", Stopwatch.GetElapsedTime(started, engineStart).TotalSeconds),
            ("before_signing_s", Stopwatch.GetElapsedTime(engineStart, first).TotalSeconds),
            ("signing_s", Stopwatch.GetElapsedTime(first, last).TotalSeconds),
            ("after_signing_s", Stopwatch.GetElapsedTime(last, engineEnd).TotalSeconds),
            ("signed", result.ResponsesSigned),
            ("changed", result.Changed),
            ("refreshed", result.Refreshed),
            ("unchanged", result.Unchanged),
            ("failures", result.SigningFailures),
            ("succeeded", result.Succeeded),
            ("vmhwm", ProcStatus.Bytes("VmHWM")),
            ("vmrss", ProcStatus.Bytes("VmRSS")),
            ("peak_ws", self.PeakWorkingSet64),
            ("user_s", self.UserProcessorTime.TotalSeconds),
            ("sys_s", self.PrivilegedProcessorTime.TotalSeconds),
            ("allocated", GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore),
            ("gc_pause_s", (GC.GetTotalPauseDuration() - pauseBefore).TotalSeconds),
            ("gc012", $"{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}"),
            ("peak_rss_heap", peakHeap),
            ("peak_rss_committed", peakCommitted),
        };
        Console.WriteLine("RESULT " + string.Join(' ', fields.Select(f => $"{f.Item1}={Convert.ToString(f.Item2, CultureInfo.InvariantCulture)}")));
        return 0;
    }

    /// <summary>Timestamps of the first and last signed serial (reported inline by the engine).</summary>
    private sealed class TimingProgress : IProgress<RefreshProgress>
    {
        public long First;
        public long Last;

        public void Report(RefreshProgress value)
        {
            long now = Stopwatch.GetTimestamp();
            Interlocked.CompareExchange(ref First, now, 0);
            if (value.Done == value.Total) Volatile.Write(ref Last, now);
        }
    }

    private sealed class Args
    {
        private readonly Dictionary<string, string?> _values = [];

        public static Args Parse(string[] args)
        {
            var result = new Args();
            for (int i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
                bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                result._values[args[i]] = hasValue ? args[++i] : null;
            }
            return result;
        }

        public bool Has(string name) => _values.ContainsKey(name);

        public string? Get(string name) => _values.GetValueOrDefault(name);

        public int? Int(string name) => Get(name) is { } v ? int.Parse(v.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) : null;
    }
}
