using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OcspFunctions.Benchmarks.Load;

/// <summary>
/// <c>bare-kestrel --urls URL [--body FILE]</c>: the load baseline. Kestrel set up as the responder sets it up
/// (slim builder, no Server header, console logging at Warning), answering every GET/HEAD/POST with the same fixed
/// bytes (by default the DER of a real response, so the payload size matches). A POST body is read up to the
/// responder's 10,000-byte cap as the responder does; nothing is decoded or looked up.
/// </summary>
public static class BareKestrel
{
    public static int Run(string[] args)
    {
        string urls = "http://127.0.0.1:8081";
        byte[] body = new byte[470];
        bool cachingHeaders = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--urls" when i + 1 < args.Length: urls = args[++i]; break;
                case "--body" when i + 1 < args.Length: body = File.ReadAllBytes(args[++i]); break;
                case "--caching-headers": cachingHeaders = true; break;
                default:
                    Console.Error.WriteLine("usage: bare-kestrel --urls URL [--body FILE] [--caching-headers]");
                    return 2;
            }
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        var app = builder.Build();
        const int cap = 10_000;
        app.Run(async context =>
        {
            var request = context.Request;
            if (HttpMethods.IsPost(request.Method))
            {
                var buffer = new byte[Math.Min(cap + 1, (int?)request.ContentLength ?? cap + 1)];
                int total = 0;
                while (total < buffer.Length)
                {
                    int read = await request.Body.ReadAsync(buffer.AsMemory(total), context.RequestAborted);
                    if (read == 0) break;
                    total += read;
                }
            }
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/ocsp-response";
            context.Response.ContentLength = body.Length;
            if (cachingHeaders)
            {
                // The four RFC 5019 §6.2 headers a responder hit carries, as constants: what writing them costs Kestrel.
                var headers = context.Response.Headers;
                headers.CacheControl = "max-age=3600, public, no-transform, must-revalidate";
                headers.ETag = "\"3f1c2a9b0d4e5f60\"";
                headers.LastModified = "Wed, 02 Dec 2026 10:00:00 GMT";
                headers.Expires = "Sun, 06 Dec 2026 10:00:00 GMT";
            }
            if (!HttpMethods.IsHead(request.Method)) await context.Response.Body.WriteAsync(body, context.RequestAborted);
        });
        Console.Error.WriteLine($"bare-kestrel: {body.Length}-byte body, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, " +
                                $"{Environment.ProcessorCount} processor(s)");
        app.Run();
        return 0;
    }
}
