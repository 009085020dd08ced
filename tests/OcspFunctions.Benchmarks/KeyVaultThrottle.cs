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
        bool retryAfter = true, refresh = false;
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
                case "--refresh": refresh = true; break;
                default:
                    Console.Error.WriteLine("usage: keyvault-throttle [--rate R] [--signatures N] [--burst B] [--latency-ms L] " +
                                            "[--concurrency P] [--max-limit M] [--key P-256|P-384|RSA-2048] [--no-retry-after] [--refresh]");
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
        if (refresh) return await RefreshAsync(signer, key, signatures, rate, burst);
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

    /// <summary>
    /// <c>--refresh</c>: the real RefreshEngine signs signatures/2 issued serials (SHA-1 + SHA-256: two responses each)
    /// through the Key Vault signer into a file store, with the engine's own concurrency (the signer's hint).
    /// </summary>
    private static async Task<int> RefreshAsync(KeyVaultSigner signer, System.Security.Cryptography.AsymmetricAlgorithm vaultKey, int signatures,
        double rate, double burst)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ocspfunctions-kv-refresh-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            using var caKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            var now = DateTimeOffset.UtcNow.AddMinutes(-5);
            var caRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Throttle CA", caKey,
                System.Security.Cryptography.HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
            using var ca = caRequest.CreateSelfSigned(now, now.AddYears(1));
            var publicKey = new System.Security.Cryptography.X509Certificates.PublicKey(vaultKey);
            var responderRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest(
                new System.Security.Cryptography.X509Certificates.X500DistinguishedName("CN=Throttle OCSP Responder"), publicKey,
                System.Security.Cryptography.HashAlgorithmName.SHA256);
            foreach (var extension in ResponderCsr.ResponderExtensions()) responderRequest.CertificateExtensions.Add(extension);
            using var responder = responderRequest.Create(ca, now, now.AddDays(60), [0x01, 0x23, 0x45]);
            File.WriteAllText(Path.Combine(dir, "ca.pem"), ca.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir, "responder.pem"), responder.ExportCertificatePem());
            int serials = Math.Max(1, signatures / 2);
            File.WriteAllLines(Path.Combine(dir, "issued.txt"), Enumerable.Range(1, serials).Select(i => (0x100000 + i).ToString("X", CultureInfo.InvariantCulture)));

            var options = new OcspFunctions.Engine.OcspOptions
            {
                Issuers =
                {
                    new OcspFunctions.Engine.IssuerOptions
                    {
                        Name = "throttle", Certificate = Path.Combine(dir, "ca.pem"), IssuedSerials = Path.Combine(dir, "issued.txt"),
                        Responder = { Certificate = Path.Combine(dir, "responder.pem") }, // the key: FixedSigner below
                    },
                },
            };
            var engine = new OcspFunctions.Engine.RefreshEngine(options, new OcspFunctions.Adapters.FileSystem.FileSystemObjectStore(Path.Combine(dir, "store")),
                new OcspFunctions.Engine.Sources.CompositeSourceReader([new OcspFunctions.Engine.Sources.FileSourceReader()]), new FixedSigner(signer),
                TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<OcspFunctions.Engine.RefreshEngine>.Instance);
            var stopwatch = Stopwatch.StartNew();
            var report = await engine.RunAsync(CancellationToken.None);
            stopwatch.Stop();
            var result = report.Issuers.Single();
            double seconds = stopwatch.Elapsed.TotalSeconds;
            double allowed = burst + rate * seconds;
            double ratio = result.ResponsesSigned / allowed;
            Console.WriteLine($"refresh: {result.ResponsesSigned:N0} responses for {serials:N0} serials in {seconds:0.00} s = " +
                              $"{result.ResponsesSigned / seconds:0.0}/s = {result.ResponsesSigned / seconds / rate:P1} of R " +
                              $"({ratio:P1} of the {allowed:0} the bucket allowed incl. the burst); signing failures {result.SigningFailures}; " +
                              $"run {(report.Succeeded ? "succeeded" : "FAILED: " + string.Join("; ", result.Errors.Take(3)))}");
            bool met = report.Succeeded && result.SigningFailures == 0 && ratio >= Target;
            Console.WriteLine(met ? "keyvault-throttle --refresh: target met (>= 90 % of the allowed rate, no failures)" : "keyvault-throttle --refresh: TARGET MISSED");
            return met ? 0 : 1;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Hands the engine the one signer under test.</summary>
    private sealed class FixedSigner(OcspFunctions.Protocol.Signing.IOcspSigner signer) : OcspFunctions.Engine.ISignerFactory
    {
        public Task<OcspFunctions.Protocol.Signing.IOcspSigner> CreateAsync(OcspFunctions.Engine.IssuerOptions issuer, CancellationToken cancellationToken) =>
            Task.FromResult(signer);
    }
}
