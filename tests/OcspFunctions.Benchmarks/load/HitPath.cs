using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OcspFunctions.Hosting;

namespace OcspFunctions.Benchmarks.Load;

/// <summary>
/// <c>hit-path --config FILE --requests FILE [--seconds N]</c>: the responder's own share of a hit, in process and without
/// Kestrel — <see cref="ResponderEndpoint.HandleAsync"/> on a reused <see cref="DefaultHttpContext"/> for every request of
/// an <c>ocsp-requests</c> file (GET, then POST), after a warm-up. Prints µs of thread CPU and bytes allocated per request,
/// the two figures the load run's "CPU/bare" comes from, with Kestrel's part left out.
/// </summary>
public static class HitPath
{
    public static int Run(string[] args)
    {
        string? config = null, requests = null;
        double seconds = 5;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" when i + 1 < args.Length: config = args[++i]; break;
                case "--requests" when i + 1 < args.Length: requests = args[++i]; break;
                case "--seconds" when i + 1 < args.Length: seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                default: config = null; i = args.Length; break;
            }
        }
        if (config is null || requests is null)
        {
            Console.Error.WriteLine("usage: hit-path --config FILE --requests FILE [--seconds N]");
            return 2;
        }
        return RunAsync(config, requests, seconds).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(string configFile, string requestsFile, double seconds)
    {
        var configuration = ConfigLoader.Load(configFile);
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        await services.AddOcspResponderAsync(configuration, CancellationToken.None);
        using var provider = services.BuildServiceProvider();
        var endpoint = provider.GetRequiredService<ResponderEndpoint>();
        var lines = File.ReadAllLines(requestsFile).Select(l => l.Split('\t')).Where(p => p.Length == 2).ToArray();
        var paths = lines.Select(p => p[0]).ToArray();
        var bodies = lines.Select(p => Convert.FromHexString(p[1])).ToArray();

        foreach (var method in new[] { "GET", "POST" })
        {
            var context = new DefaultHttpContext();
            context.Request.Method = method;
            var requestFeature = context.Features.Get<IHttpRequestFeature>()!;
            var body = new MemoryStream();
            int index = 0;
            async Task One()
            {
                int i = index++ % paths.Length;
                context.Response.Headers.Clear();
                context.Response.StatusCode = 200;
                if (method == "GET")
                {
                    context.Request.Path = "/x";
                    requestFeature.RawTarget = paths[i];
                }
                else
                {
                    context.Request.Path = "/";
                    context.Request.ContentLength = bodies[i].Length;
                    context.Request.Body = new MemoryStream(bodies[i], writable: false);
                }
                context.Response.Body = body;
                body.Position = 0;
                await endpoint.HandleAsync(context);
                if (context.Response.StatusCode != 200 || body.Position < 100) throw new InvalidOperationException($"{method} {paths[i]}: not a hit");
            }
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed.TotalSeconds < Math.Max(2, seconds)) for (int k = 0; k < 1000; k++) await One();
            long n = 0;
            long bytes0 = GC.GetAllocatedBytesForCurrentThread();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            while (wall.Elapsed.TotalSeconds < seconds) { for (int k = 0; k < 1000; k++) await One(); n += 1000; }
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            long bytes = GC.GetAllocatedBytesForCurrentThread() - bytes0;
            // The POST body stream is the harness's own allocation (MemoryStream: 64 bytes a request), not the responder's.
            Console.WriteLine($"hit-path {method}: {n} requests, {wall.Elapsed.TotalMicroseconds / n:F2} us wall, {cpu.TotalMicroseconds / n:F2} us CPU, " +
                              $"{(double)bytes / n:F0} bytes allocated per request{(method == "POST" ? " (64 of them the harness's body stream)" : "")}");
        }
        return 0;
    }
}
