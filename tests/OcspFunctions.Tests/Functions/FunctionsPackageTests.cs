using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Functions;

/// <summary>Publishes the Functions package once (self-contained linux-x64, ReadyToRun) for the tests below.</summary>
public sealed class PublishedPackage : IDisposable
{
    public PublishedPackage()
    {
        string repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "OcspFunctions.sln"))) repo = Path.GetDirectoryName(repo) ?? throw new InvalidOperationException("repository root not found");
        Root = Path.Combine(Path.GetTempPath(), "ocsp-funcapp-" + Guid.NewGuid().ToString("N")[..8]);
        // The README's publish command, to a temporary folder.
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = repo, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "publish", "src/OcspResponder", "-c", "Release", "-r", "linux-x64", "--self-contained", "true", "-p:PublishReadyToRun=true", "-o", Root, "-nologo" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(600_000)) process.Kill(entireProcessTree: true);
        if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet publish failed:\n{stdout.Result}\n{stderr.Result}");
    }

    public string Root { get; }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// The Functions custom-handler contract (azure.md), tested by doing what the Functions host does — the host itself
/// cannot run here: start the executable named in host.json with FUNCTIONS_CUSTOMHANDLER_PORT, poll GET /, POST the
/// timer payload to /RefreshTimer, forward OCSP GET and POST requests unchanged.
/// </summary>
[Collection("pki")]
public sealed class FunctionsPackageTests(TestPki pki, PublishedPackage package) : IClassFixture<PublishedPackage>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };

    private const string TimerPayload = """
        {"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-21T05:00:00+00:00","Next":"2026-11-21T05:05:00+00:00","LastUpdated":"2026-11-21T05:00:00+00:00"},"IsPastDue":false}},
         "Metadata":{"sys":{"MethodName":"RefreshTimer","UtcNow":"2026-11-21T05:05:00.0123Z","RandGuid":"0d5b3a36-5f1c-4d0b-8d6a-1f5f0f6f2e11"}}}
        """;

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Package_has_the_functions_layout()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(package.Root, "host.json")));
        var handler = host.RootElement.GetProperty("customHandler");
        string executable = handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString()!;
        Assert.True(File.Exists(Path.Combine(package.Root, executable)), executable);
        Assert.True((File.GetUnixFileMode(Path.Combine(package.Root, executable)) & UnixFileMode.UserExecute) != 0);
        Assert.True(handler.GetProperty("enableForwardingHttpRequest").GetBoolean());
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());

        using var http = JsonDocument.Parse(File.ReadAllText(Path.Combine(package.Root, "ocsp", "function.json")));
        var trigger = http.RootElement.GetProperty("bindings")[0];
        Assert.Equal("httpTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("anonymous", trigger.GetProperty("authLevel").GetString());
        Assert.Equal("{*path}", trigger.GetProperty("route").GetString());
        Assert.Equal(["get", "head", "post"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()).Order());

        using var timer = JsonDocument.Parse(File.ReadAllText(Path.Combine(package.Root, "RefreshTimer", "function.json")));
        var timerTrigger = timer.RootElement.GetProperty("bindings")[0];
        Assert.Equal("timerTrigger", timerTrigger.GetProperty("type").GetString());
        Assert.Equal("%OCSP_REFRESH_SCHEDULE%", timerTrigger.GetProperty("schedule").GetString());
        // Self-contained: no runtime needed on the image; ReadyToRun code in the main assembly.
        Assert.True(File.Exists(Path.Combine(package.Root, "libcoreclr.so")));
    }

    [Fact]
    public async Task Published_binary_answers_the_hosts_requests()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "functions");
        int port = Clients.ExternalTool.FreePort();
        string store = Path.Combine(ca.Directory, "store");
        var settings = new Dictionary<string, string>
        {
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Ocsp__Store__Path"] = store,
            ["Ocsp__Timing__Validity"] = "1.00:00:00",
            ["Ocsp__Serve__MinimumTimerInterval"] = "00:00:00",
            ["Ocsp__Issuers__0__Name"] = "functions-ca",
            ["Ocsp__Issuers__0__Certificate"] = ca.CaCertPath,
            ["Ocsp__Issuers__0__Crls__0"] = ca.CrlPath,
            ["Ocsp__Issuers__0__IssuedSerials"] = ca.IndexPath,
            ["Ocsp__Issuers__0__Responder__Certificate"] = ca.ResponderCertPath,
            ["Ocsp__Issuers__0__Responder__Key"] = ca.ResponderKeyPath,
        };
        using var process = StartLikeTheHost(settings);
        try
        {
            string url = $"http://127.0.0.1:{port}";
            await WaitForRootAsync(url, process);

            using (var timer = await Http.PostAsync(url + "/RefreshTimer", new StringContent(TimerPayload, Encoding.UTF8, "application/json")))
            {
                string body = await timer.Content.ReadAsStringAsync();
                Assert.True(timer.StatusCode == HttpStatusCode.OK, body);
                using var json = JsonDocument.Parse(body);
                Assert.Equal(JsonValueKind.Object, json.RootElement.GetProperty("Outputs").ValueKind);
                Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("ReturnValue").ValueKind);
                Assert.Contains(json.RootElement.GetProperty("Logs").EnumerateArray(), l => l.GetString()!.Contains("refresh succeeded", StringComparison.Ordinal));
            }

            var leaf = ca.Source.Good.First();
            var request = pki.MakeRequest("-issuer", ca.CaCertPath, "-cert", leaf.CertPath, "-no_nonce");
            using var get = await Http.GetAsync(url + "/" + OcspGetPath.Encode(request));
            var content = new ByteArrayContent(request);
            content.Headers.ContentType = new("application/ocsp-request");
            using var post = await Http.PostAsync(url + "/", content);
            foreach (var response in new[] { get, post })
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                string file = Path.Combine(ca.Directory, $"fn-{Guid.NewGuid():N}.der");
                File.WriteAllBytes(file, await response.Content.ReadAsByteArrayAsync());
                var verify = OpenSsl.Run(ca.Directory, ["ocsp", "-respin", file, "-issuer", ca.CaCertPath, "-CAfile", ca.CaCertPath, "-cert", leaf.CertPath], check: false);
                Assert.Contains("Response verify OK", verify.Output, StringComparison.Ordinal);
                Assert.Contains(": good", verify.StdOut, StringComparison.Ordinal);
            }

            // A refresh that fails makes the invocation fail (non-2xx), with the reason in Logs.
            File.WriteAllText(ca.CrlPath, "not a CRL");
            using var failed = await Http.PostAsync(url + "/RefreshTimer", new StringContent(TimerPayload, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            using var failedJson = JsonDocument.Parse(await failed.Content.ReadAsStringAsync());
            Assert.Contains(failedJson.RootElement.GetProperty("Logs").EnumerateArray(), l => l.GetString()!.Contains("FAILED", StringComparison.Ordinal));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task A_misconfigured_app_still_answers_the_host_and_reports_why()
    {
        int port = Clients.ExternalTool.FreePort();
        using var process = StartLikeTheHost(new() { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        try
        {
            string url = $"http://127.0.0.1:{port}";
            await WaitForRootAsync(url, process);
            using var timer = await Http.PostAsync(url + "/RefreshTimer", new StringContent(TimerPayload, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, timer.StatusCode);
            Assert.Contains("Ocsp:Issuers is empty", await timer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Timer_calls_closer_than_the_minimum_interval_are_skipped()
    {
        var time = new SteppingTime(DateTimeOffset.UtcNow);
        var gate = new OcspResponder.Hosting.FunctionsHost.TimerGate(time, TimeSpan.FromSeconds(60));
        using (var first = await gate.TryEnterAsync()) Assert.NotNull(first);
        Assert.Null(await gate.TryEnterAsync());
        time.Now += TimeSpan.FromSeconds(61);
        var running = await gate.TryEnterAsync();
        Assert.NotNull(running);
        time.Now += TimeSpan.FromMinutes(5);
        Assert.Null(await gate.TryEnterAsync()); // one at a time, however long it runs
        running!.Dispose();
        Assert.NotNull(await gate.TryEnterAsync());
    }

    private sealed class SteppingTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>As the host does: the executable and arguments from host.json, the app folder as working directory.</summary>
    private Process StartLikeTheHost(Dictionary<string, string> settings)
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(package.Root, "host.json")));
        var description = host.RootElement.GetProperty("customHandler").GetProperty("description");
        var psi = new ProcessStartInfo(Path.Combine(package.Root, description.GetProperty("defaultExecutablePath").GetString()!))
        {
            WorkingDirectory = package.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in description.GetProperty("arguments").EnumerateArray()) psi.ArgumentList.Add(a.GetString()!);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("Ocsp__", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        foreach (var (k, v) in settings) psi.Environment[k] = v;
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The host polls GET / until any HTTP answer; start-up must finish within 30–60 s.</summary>
    private static async Task WaitForRootAsync(string url, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(process.HasExited, $"the handler exited with {(process.HasExited ? process.ExitCode : 0)}");
            try
            {
                using var response = await Http.GetAsync(url + "/");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        Assert.Fail("the handler did not answer GET / within 30 s");
    }

}
