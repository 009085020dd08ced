using System.Diagnostics;
using System.Text.Json;

namespace OcspFunctions.Tests.Functions;

/// <summary>
/// One <c>dotnet publish src/OcspFunctions.App</c> (framework-dependent, as deployed) into a temporary directory per
/// test run, shared by the tests below. It reuses this run's build of the app (the test project references it), so
/// the cost is the publish step, not a second build.
/// </summary>
public sealed class PublishedApp : IDisposable
{
    public PublishedApp()
    {
        Directory = Path.Combine(Path.GetTempPath(), "ocsp-functions-publish-" + Guid.NewGuid().ToString("N"));
        string project = Path.Combine(RepositoryRoot, "src", "OcspFunctions.App", "OcspFunctions.App.csproj");
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var start = new ProcessStartInfo("dotnet", ["publish", project, "-c", configuration, "--no-build", "-nologo", "-v", "q", "-o", Directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish failed ({process.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
    }

    public string Directory { get; }

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OcspFunctions.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public JsonDocument Json(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, name)));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// What the Functions host reads from the deployed package. The host and Core Tools cannot be installed here
/// (environment.md), so these checks of the published metadata stand in for loading it in the host.
/// </summary>
public sealed class PublishedAppTests(PublishedApp published) : IClassFixture<PublishedApp>
{
    [Fact]
    public void Functions_metadata_holds_exactly_the_http_and_timer_functions_with_their_bindings()
    {
        using var metadata = published.Json("functions.metadata");
        var functions = metadata.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        Assert.Equal(["RefreshTimer", "ocsp"], functions.Keys.Order(StringComparer.Ordinal));
        foreach (var f in functions.Values)
        {
            Assert.Equal("dotnet-isolated", f.GetProperty("language").GetString());
            Assert.Equal("OcspFunctions.App.dll", f.GetProperty("scriptFile").GetString());
        }

        var http = functions["ocsp"].GetProperty("bindings").EnumerateArray().ToList();
        var trigger = Assert.Single(http, b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal("Anonymous", trigger.GetProperty("authLevel").GetString());
        Assert.Equal(["get", "head", "post"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal("{*path}", trigger.GetProperty("route").GetString());
        Assert.Contains(http, b => b.GetProperty("type").GetString() == "http" && b.GetProperty("direction").GetString() == "Out");
        Assert.Equal(2, http.Count);

        var timer = Assert.Single(functions["RefreshTimer"].GetProperty("bindings").EnumerateArray());
        Assert.Equal("timerTrigger", timer.GetProperty("type").GetString());
        Assert.Equal("%OCSP_REFRESH_SCHEDULE%", timer.GetProperty("schedule").GetString());
    }

    [Fact]
    public void Worker_config_starts_the_app_dll_and_extensions_json_loads_the_function_metadata()
    {
        using var worker = published.Json("worker.config.json");
        var description = worker.RootElement.GetProperty("description");
        Assert.Equal("dotnet-isolated", description.GetProperty("language").GetString());
        Assert.Equal("OcspFunctions.App.dll", description.GetProperty("defaultWorkerPath").GetString());
        Assert.True(File.Exists(Path.Combine(published.Directory, "OcspFunctions.App.dll")));

        // extensions.json: the host-side extensions the worker needs. Timer and HTTP triggers are built into the host; the
        // Startup entry loads functions.metadata (worker indexing) from the DLL shipped under .azurefunctions.
        using var extensions = published.Json("extensions.json");
        var startup = Assert.Single(extensions.RootElement.GetProperty("extensions").EnumerateArray(),
            e => e.GetProperty("typeName").GetString()!.Contains("FunctionMetadataLoader", StringComparison.Ordinal));
        string hint = startup.GetProperty("hintPath").GetString()!;
        Assert.True(File.Exists(Path.Combine(published.Directory, hint)), hint);
        Assert.True(File.Exists(Path.Combine(published.Directory, ".azurefunctions", "Microsoft.Azure.Functions.Worker.Extensions.dll")));
    }

    [Fact]
    public void Host_json_is_the_repository_roots_with_no_route_prefix_a_timeout_and_no_custom_handler()
    {
        Assert.Equal(File.ReadAllText(Path.Combine(PublishedApp.RepositoryRoot, "host.json")), File.ReadAllText(Path.Combine(published.Directory, "host.json")));
        using var host = published.Json("host.json");
        Assert.Equal("2.0", host.RootElement.GetProperty("version").GetString());
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.True(TimeSpan.TryParse(host.RootElement.GetProperty("functionTimeout").GetString(), out var timeout));
        Assert.InRange(timeout, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30));
        Assert.False(host.RootElement.TryGetProperty("customHandler", out _));
        Assert.False(Directory.Exists(Path.Combine(published.Directory, "ocsp")));
        Assert.False(Directory.Exists(Path.Combine(published.Directory, "RefreshTimer")));
    }
}
