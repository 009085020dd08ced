using System.Text.Json;
using OcspFunctions.Engine;
using OcspResponder.Cli;

namespace OcspResponder.Hosting;

/// <summary>
/// The Azure Functions custom handler (azure.md): listens on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT; the HTTP
/// function's requests arrive forwarded as they are (enableForwardingHttpRequest), the timer function arrives as
/// <c>POST /RefreshTimer</c> with the host's JSON payload and is answered with <c>{"Outputs":{},"Logs":[…],"ReturnValue":null}</c> —
/// a non-2xx status when the refresh failed, so the invocation shows as failed. Configuration comes from app settings.
/// </summary>
public static class FunctionsHost
{
    public const string PortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";
    public const string TimerFunctionName = "RefreshTimer";

    /// <summary>An optional JSON file under the app settings (app settings override it).</summary>
    public const string ConfigFileVariable = "OCSP_CONFIG_FILE";

    /// <summary>Admits one timer-triggered refresh at a time and at most one per interval.</summary>
    public sealed class TimerGate(TimeProvider time, TimeSpan interval)
    {
        private readonly SemaphoreSlim _running = new(1, 1);
        private DateTimeOffset _lastStart = DateTimeOffset.MinValue;

        public async Task<IDisposable?> TryEnterAsync()
        {
            if (!await _running.WaitAsync(0).ConfigureAwait(false)) return null;
            var now = time.GetUtcNow();
            if (now - _lastStart < interval)
            {
                _running.Release();
                return null;
            }
            _lastStart = now;
            return new Releaser(_running);
        }

        private sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
        {
            public void Dispose() => semaphore.Release();
        }
    }

    public static bool IsHosted => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PortVariable));

    public static async Task<int> RunAsync(TextWriter error, CancellationToken cancellationToken)
    {
        string? port = Environment.GetEnvironmentVariable(PortVariable);
        if (string.IsNullOrEmpty(port) || !int.TryParse(port, out _))
        {
            error.WriteLine($"functions: {PortVariable} is not set; this mode is started by the Azure Functions host");
            return 2;
        }
        string url = $"http://127.0.0.1:{port}";
        OcspOptions options;
        try
        {
            options = Composition.LoadValidated(Environment.GetEnvironmentVariable(ConfigFileVariable), error);
        }
        catch (Exception e) when (e is ConfigLoader.ConfigurationException or IOException)
        {
            // Answer the host anyway so the problem shows in the portal instead of a crash loop.
            error.WriteLine($"functions: {e.Message}");
            await RunMisconfiguredAsync(url, e.Message, cancellationToken);
            return 2;
        }
        // The HTTP function's catch-all route forwards any internet request, so a forged POST /RefreshTimer looks exactly
        // like the host's timer call: runs closer together than Serve:MinimumTimerInterval are skipped.
        var gate = new TimerGate(TimeProvider.System, options.Serve.MinimumTimerInterval);
        var app = await ResponderHost.BuildAsync(options, [url], cancellationToken, timer: ctx => RunTimerAsync(ctx, options, gate));
        await app.RunAsync(cancellationToken);
        return 0;
    }

    /// <summary>Runs one refresh for the timer invocation and answers in the custom-handler response shape.</summary>
    public static async Task RunTimerAsync(HttpContext context, OcspOptions options, TimerGate gate)
    {
        var logs = new List<string>();
        using var entered = await gate.TryEnterAsync();
        if (entered is null)
        {
            // Not a failure: the previous run is recent or still going (or this is a forged call).
            logs.Add($"refresh skipped: another timer-triggered refresh ran less than {options.Serve.MinimumTimerInterval.TotalSeconds:0} s ago or is running");
            await WriteInvocationResultAsync(context, StatusCodes.Status200OK, logs);
            return;
        }
        using (var payload = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false))
        {
            // IsPastDue: the host missed schedules (e.g. scaled to zero); one run catches up anyway.
            if (payload.RootElement.TryGetProperty("Data", out var data) && data.TryGetProperty("timer", out var timer)
                && timer.TryGetProperty("IsPastDue", out var pastDue) && pastDue.ValueKind == JsonValueKind.True)
                logs.Add("timer is past due; refreshing now");
        }
        var output = new StringWriter();
        int exit;
        try
        {
            exit = await RefreshCommand.RunAsync(options, verbose: false, output, output, context.RequestAborted, terminal: false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            output.WriteLine($"refresh failed: {e.Message}");
            exit = 1;
        }
        logs.AddRange(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        await WriteInvocationResultAsync(context, exit == 0 ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError, logs);
    }

    /// <summary>The custom-handler response shape; any non-2xx status marks the invocation failed.</summary>
    private static async Task WriteInvocationResultAsync(HttpContext context, int status, List<string> logs)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, object?>
        {
            ["Outputs"] = new Dictionary<string, object>(),
            ["Logs"] = logs,
            ["ReturnValue"] = null,
        }, cancellationToken: context.RequestAborted);
    }

    private static async Task RunMisconfiguredAsync(string url, string message, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        var app = builder.Build();
        app.Run(async context =>
        {
            if (context.Request.Path == "/")
            {
                await context.Response.WriteAsync("OcspFunctions: misconfigured\n", context.RequestAborted);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body,
                new Dictionary<string, object?> { ["Outputs"] = new Dictionary<string, object>(), ["Logs"] = new[] { message }, ["ReturnValue"] = null },
                cancellationToken: context.RequestAborted);
        });
        await app.RunAsync(cancellationToken);
    }
}
