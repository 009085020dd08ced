using System.Diagnostics;
using System.Globalization;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Tests.KeyVault;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>keyvault-throttle</c>: signing throughput of <see cref="KeyVaultSigner"/> against the Key Vault STAND-IN (a
/// loopback server, not Key Vault) limited to R signatures a second (token bucket), as the refresh signs: N
/// SignAsync calls through Parallel.ForEachAsync with the signer's preferred concurrency. Prints the achieved rate,
/// its ratio to what the limit allowed (target ≥ 90 %) and the failures (target 0).
/// </summary>
public static class KeyVaultThrottle
{
    private const double Target = 0.90;

    public static async Task<int> RunAsync(string[] args)
    {
        double rate = 200, burst = double.NaN, latencyMs = 10;
        int signatures = 4000, concurrency = 0, maxLimit = 64;
        bool retryAfter = true;
        string keyKind = "P-256";
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--rate": rate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--signatures": signatures = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--burst": burst = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--latency-ms": latencyMs = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--concurrency": concurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--max-limit": maxLimit = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--key": keyKind = Next(); break;
                case "--no-retry-after": retryAfter = false; break;
                default:
                    Console.Error.WriteLine("usage: keyvault-throttle [--rate R] [--signatures N] [--burst B] [--latency-ms L] " +
                                            "[--concurrency P] [--max-limit M] [--key P-256|P-384|RSA-2048] [--no-retry-after]");
                    return 2;
            }
        }
        if (double.IsNaN(burst)) burst = rate;

        await using var vault = await KeyVaultStandIn.StartAsync();
        vault.RecordRequests = false;
        using var key = TestPki.CreateKey(keyKind);
        vault.AddKey("responder", key, hsm: true);
        var options = vault.SignerOptions(new KeyVaultSignerOptions
        {
            Limiter = new KeyVaultLimiterOptions { Maximum = maxLimit },
        });
        using var signer = await KeyVaultSigner.CreateAsync(vault.KeyId("responder"), new StandInTokenCredential(), options);
        if (concurrency <= 0) concurrency = signer.PreferredConcurrency;

        // Warm up TLS connections and the JIT before the limit applies.
        await Parallel.ForEachAsync(Enumerable.Range(0, 64), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, ct) => await signer.SignAsync(BitConverter.GetBytes(-i), ct));
        var warm = (signer.Statistics.Signatures, signer.Statistics.Throttled, signer.Statistics.Retries);

        Console.WriteLine($"Key Vault STAND-IN (loopback, not Key Vault): {rate:0} signatures/s token bucket, burst {burst:0}, " +
                          $"service time {latencyMs:0.#} ms, 429 {(retryAfter ? "with Retry-After: 1" : "without Retry-After")}");
        Console.WriteLine($"signer: {keyKind} {signer.Algorithm}, limiter after warm-up {signer.Limiter.Limit} cap {signer.Limiter.Maximum}; " +
                          $"{signatures:N0} SignAsync calls, Parallel.ForEachAsync degree {concurrency}");

        vault.SignLatency = TimeSpan.FromMilliseconds(latencyMs);
        var limit = new StandInRateLimit(rate, burst, retryAfter);
        vault.RateLimit = limit;
        int failures = 0;
        string? firstFailure = null;
        var stopwatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, signatures), new ParallelOptions { MaxDegreeOfParallelism = concurrency },
            async (i, ct) =>
            {
                try
                {
                    await signer.SignAsync(BitConverter.GetBytes(i), ct);
                }
                catch (Exception e) when (e is KeyVaultException or InvalidOperationException)
                {
                    if (Interlocked.Increment(ref failures) == 1) firstFailure = e.Message;
                }
            });
        stopwatch.Stop();

        double seconds = stopwatch.Elapsed.TotalSeconds;
        int ok = signatures - failures;
        double achieved = ok / seconds;
        double allowed = burst + rate * seconds; // what the bucket could have granted over the run
        double ratio = ok / allowed;
        var s = signer.Statistics;
        Console.WriteLine($"signed {ok:N0} in {seconds:0.00} s: {achieved:0.0} signatures/s = {achieved / rate:P1} of R " +
                          $"({ok / Math.Max(1, allowed):P1} of the {allowed:0} the bucket allowed incl. the burst)");
        Console.WriteLine($"failures {failures}{(firstFailure is null ? "" : $" (first: {firstFailure})")}");
        Console.WriteLine($"429 answers {s.Throttled - warm.Throttled:N0}, retries {s.Retries - warm.Retries:N0}, " +
                          $"limiter now {signer.Limiter.Limit} (halved {signer.Limiter.Changes.Decreases}x, raised {signer.Limiter.Changes.Increases}x)");
        bool met = failures == 0 && ratio >= Target;
        Console.WriteLine(met ? "keyvault-throttle: target met (>= 90 % of the allowed rate, no failures)" : "keyvault-throttle: TARGET MISSED");
        return met ? 0 : 1;
    }
}
