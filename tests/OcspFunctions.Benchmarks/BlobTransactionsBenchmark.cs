using System.Diagnostics;
using System.Globalization;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>blob-transactions</c> (issue 12): the real refresh (<see cref="RefreshEngine"/>, local P-256 key, inputs from the
/// <c>refresh</c> fixture's files) over the Blob store (<see cref="BlobObjectStore"/> through the adapter's
/// <see cref="BlobStorage"/>) against a real Azurite: a full run into an empty container, a nothing-to-do run, and a
/// run after one revocation. Per run, the HTTP requests by Blob operation as they went on the wire
/// (<see cref="BlobRequestCounter"/>, under the SDK's transport), next to what Azurite logged as served and to
/// <see cref="CountingStore"/>'s store operations.
/// </summary>
public static class BlobTransactionsBenchmark
{
    private sealed record RunCounts(string Name, TimeSpan Wall, int Signed, IReadOnlyDictionary<string, BlobRequestCounter.Count> Requests,
        long AzuriteServed, string StoreOperations);

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var opts = BenchArgs.Parse(args, "--serials", "--key", "--dir");
        int serials = opts.Int("--serials", 100_000);
        string key = opts.Get("--key") ?? "p256";
        string baseDir = opts.Get("--dir") ?? Path.Combine(Path.GetTempPath(), "ocspfunctions-bench");
        var files = RefreshFixture.Ensure(baseDir, serials, key, Console.Out);
        string local = Path.Combine(baseDir, $"blob-transactions-{serials}-{key}.local-revocations.txt");
        File.WriteAllText(local, "# SERIAL TIME [REASON]\n");

        using var azurite = AzuriteProcess.Start();
        var counter = new BlobRequestCounter();
        var clientOptions = BlobStorage.DefaultClientOptions();
        clientOptions.Transport = new HttpClientTransport(new HttpClient(counter));
        var storage = new BlobStorage(new BlobStoreOptions { BlobConnectionString = azurite.ConnectionString, BlobContainer = "ocsp" }, clientOptions);
        var options = new OcspOptions
        {
            Issuers =
            {
                new IssuerOptions
                {
                    Name = "bench-" + key,
                    Certificate = files.CaPath,
                    Crls = { files.CrlPath },
                    IssuedSerials = files.IssuedPath,
                    IssuedSerialsFormat = IssuedSerialsFormat.Text,
                    LocalRevocations = local,
                    Responder = { Certificate = files.ResponderCertPath, Key = files.ResponderKeyPath },
                },
            },
        };
        var (errors, _) = OcspOptionsValidator.Validate(options);
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
        Console.WriteLine($"blob-transactions: {serials:N0} serials ({files.Revoked:N0} revoked by CRL), {key} key, SHA-1 + SHA-256 CertIDs; " +
                          $"Azurite on 127.0.0.1:{azurite.Port} (container 'ocsp'); .NET {Environment.Version}, {Environment.ProcessorCount} cores");

        var runs = new List<RunCounts>();
        bool ok = true;
        async Task RunOnce(string name)
        {
            counter.Take();
            long servedBefore = azurite.Served;
            var counting = new CountingStore(storage.CreateStore());
            var engine = new RefreshEngine(options, counting, new CompositeSourceReader([new FileSourceReader()]),
                new LocalKeySignerFactory(), TimeProvider.System, NullLogger<RefreshEngine>.Instance);
            var sw = Stopwatch.StartNew();
            var report = await engine.RunAsync(CancellationToken.None);
            sw.Stop();
            var r = report.Issuers.Single();
            foreach (var e in r.Errors.Take(3)) Console.WriteLine($"  error: {e}");
            ok &= report.Succeeded;
            await Task.Delay(500); // Azurite writes its access-log line after answering
            runs.Add(new RunCounts(name, sw.Elapsed, r.ResponsesSigned, counter.Take(), azurite.Served - servedBefore, counting.Summary));
            Console.WriteLine($"{name}: {(report.Succeeded ? "succeeded" : "FAILED")} in {sw.Elapsed.TotalSeconds:F1} s, {r.ResponsesSigned:N0} responses signed, " +
                              $"{r.PacksWritten} packs written, backlog {r.Backlog:N0}");
        }

        await RunOnce("full (empty container)");
        await RunOnce("nothing-to-do");
        var serial = File.ReadLines(files.IssuedPath).Where(l => l.Length > 0 && l[0] != '#').Skip(1).First().Split(',')[0];
        File.AppendAllText(local, $"{serial} {DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)} keyCompromise\n");
        await RunOnce("one revocation");
        Print(runs);
        bool expected = runs[0].Signed == 2 * serials && runs[1].Signed == 0 && runs[2].Signed == 2;
        Console.WriteLine($"signed {runs[0].Signed:N0} / {runs[1].Signed} / {runs[2].Signed} (expected {2 * serials:N0} / 0 / 2): {(expected ? "ok" : "WRONG")}");
        return ok && expected ? 0 : 1;
    }

    private static void Print(List<RunCounts> runs)
    {
        var kinds = runs.SelectMany(r => r.Requests.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        Console.WriteLine();
        Console.WriteLine($"| Blob operation (HTTP requests sent) | {string.Join(" | ", runs.Select(r => r.Name))} | total |");
        Console.WriteLine($"|---|{string.Concat(runs.Select(_ => "--:|"))}--:|");
        foreach (var kind in kinds)
        {
            var cells = runs.Select(r => r.Requests.TryGetValue(kind, out var c) ? Cell(c) : "0");
            long total = runs.Sum(r => r.Requests.TryGetValue(kind, out var c) ? c.Requests : 0);
            Console.WriteLine($"| {kind} | {string.Join(" | ", cells)} | {total:N0} |");
        }
        long Sum(RunCounts r) => r.Requests.Values.Sum(c => c.Requests);
        Console.WriteLine($"| **all requests** | {string.Join(" | ", runs.Select(r => $"**{Sum(r):N0}**"))} | **{runs.Sum(Sum):N0}** |");
        Console.WriteLine($"| Azurite access-log lines (served) | {string.Join(" | ", runs.Select(r => r.AzuriteServed.ToString("N0", CultureInfo.InvariantCulture)))} | {runs.Sum(r => r.AzuriteServed):N0} |");
        Console.WriteLine($"| wall time | {string.Join(" | ", runs.Select(r => $"{r.Wall.TotalSeconds:F1} s"))} | |");
        Console.WriteLine($"| responses signed | {string.Join(" | ", runs.Select(r => r.Signed.ToString("N0", CultureInfo.InvariantCulture)))} | |");
        Console.WriteLine();
        Console.WriteLine("Non-2xx answers in brackets (status×count) are the adapter's protocol, not failures: 404 on the first write (no");
        Console.WriteLine("container yet: created, then written again), 409 on the lease blob's create-if-absent; each is a request all the same.");
        foreach (var r in runs) Console.WriteLine($"{r.Name}: CountingStore {r.StoreOperations}");
    }

    private static string Cell(BlobRequestCounter.Count c)
    {
        var failures = c.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}").ToList();
        if (c.Failed > 0) failures.Add($"no answer×{c.Failed}");
        return failures.Count == 0 ? c.Requests.ToString("N0", CultureInfo.InvariantCulture) : $"{c.Requests:N0} ({string.Join(", ", failures)})";
    }
}
