using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

namespace OcspFunctions.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "crl-memory") return CrlMemory.Run(args[1..]);
        if (args.Length > 0 && args[0] == "issued-memory") return IssuedMemory.Run(args[1..]);
        // Load and hostile-input helpers for load/run-load.sh (not BenchmarkDotNet benchmarks).
        if (args.Length > 0 && args[0] == "bare-kestrel") return Load.BareKestrel.Run(args[1..]);
        if (args.Length > 0 && args[0] == "hit-path") return Load.HitPath.Run(args[1..]);
        if (args.Length > 0 && args[0] == "ocsp-requests") return Load.OcspRequests.Run(args[1..]);
        if (args.Length > 0 && args[0] == "hostile") return Load.HostileRun.RunAsync(args[1..]).GetAwaiter().GetResult();
        if (args.Length > 0 && args[0] == "keyvault-throttle") return KeyVaultThrottle.RunAsync(args[1..]).GetAwaiter().GetResult();
        if (args.Length > 0 && args[0] == "refresh") return RefreshBenchmark.Run(args[1..]);
        if (args.Length > 0 && args[0] == "refresh-child") return RefreshBenchmark.Child(args[1..]);
        if (args.Length > 0 && args[0] == "refresh-fixture") return RefreshBenchmark.Fixture(args[1..]);
        if (args.Length > 0 && args[0] == "freshness") return FreshnessBenchmark.Run(args[1..]);
        if (args.Length > 0 && args[0] == "blob-transactions") return BlobTransactionsBenchmark.Run(args[1..]);
        if (args.Length > 0 && args[0] == "serve-index") return ServeIndexBenchmark.Run(args[1..]);
        if (args.Length > 0 && args[0] == "index-scale") return IndexScaleBenchmark.Run(args[1..]);
        if (args.Length > 0 && args[0] == "index-scale-refresh") return IndexScaleBenchmark.RefreshChild(args[1..]);
        if (args.Length > 0 && args[0] == "index-scale-serve") return IndexScaleBenchmark.ServeChild(args[1..]);

        // Short runs: 1 launch, 3 warm-ups, 10 measured iterations; allocations reported.
        var job = Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10).WithId("Short");
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
