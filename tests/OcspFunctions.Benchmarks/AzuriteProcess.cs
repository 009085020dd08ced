using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// A real Azurite blob service (tests/.tools/azurite, installed by tests/run-tests.sh; as the tests' AzuriteFixture
/// starts it) on a free 127.0.0.1 port with a temporary --location, WITHOUT --silent: Azurite then prints one access-log
/// line per request it served, which <see cref="Served"/> counts (what really reached it).
/// </summary>
public sealed partial class AzuriteProcess : IDisposable
{
    public const string Account = "devstoreaccount1";
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private long _served;

    private AzuriteProcess(Process process, int port, string location)
    {
        _process = process;
        Port = port;
        Location = location;
    }

    public int Port { get; }

    public string Location { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint=http://127.0.0.1:{Port}/{Account};";

    /// <summary>Requests Azurite logged as served (access-log lines, e.g. <c>127.0.0.1 - - [date] "PUT /devstoreaccount1/... HTTP/1.1" 201 -</c>).</summary>
    public long Served => Interlocked.Read(ref _served);

    public static AzuriteProcess Start()
    {
        string executable = Find();
        string location = Directory.CreateTempSubdirectory("azurite-bench-").FullName;
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                                  "--location", location, "--disableTelemetry", "--skipApiVersionCheck" })
            start.ArgumentList.Add(a);
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + executable);
        var azurite = new AzuriteProcess(process, port, location);
        process.OutputDataReceived += (_, e) => azurite.Line(e.Data);
        process.ErrorDataReceived += (_, e) => azurite.Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        azurite.WaitUntilListening();
        return azurite;
    }

    [GeneratedRegex("\"(GET|PUT|HEAD|DELETE|POST|OPTIONS) /")]
    private static partial Regex AccessLine();

    private void Line(string? line)
    {
        if (line is null) return;
        if (AccessLine().IsMatch(line)) Interlocked.Increment(ref _served);
        else lock (_output) _output.AppendLine(line);
    }

    private void WaitUntilListening()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited) throw new InvalidOperationException($"azurite-blob exited with code {_process.ExitCode}: {_output}");
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new InvalidOperationException($"azurite-blob did not listen on port {Port} within 60 s: {_output}");
    }

    /// <summary>tests/.tools/azurite/node_modules/.bin/azurite-blob of this checkout (or $AZURITE_BLOB).</summary>
    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("AZURITE_BLOB") is { Length: > 0 } overridden) return overridden;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OcspFunctions.sln"))) dir = dir.Parent;
        string path = Path.Combine(dir?.FullName ?? ".", "tests", ".tools", "azurite", "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(path)) throw new InvalidOperationException($"Azurite is not installed ({path} is missing): run tests/run-tests.sh");
        return path;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        try { Directory.Delete(Location, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
