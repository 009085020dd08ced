using System.Diagnostics;
using System.Text;
using System.Text.Json;
using OcspFunctions.Tests.Clients;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Serving;

/// <summary>
/// The real <c>OcspResponder serve</c> process over a CA workspace, with its console log captured, so tests see exactly what
/// an operator's log would hold.
/// </summary>
public sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServeProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    /// <summary>A JSON configuration over <paramref name="ca"/> with absolute paths; <paramref name="storePath"/> overrides Store:Path.</summary>
    public static string WriteConfig(CaWorkspace ca, string name, string? storePath = null)
    {
        var config = new
        {
            Ocsp = new
            {
                Store = new { Path = storePath ?? Path.Combine(ca.Directory, "store") },
                Timing = new { Validity = "1.00:00:00" },
                Issuers = new[]
                {
                    new
                    {
                        Name = name,
                        Certificate = ca.CaCertPath,
                        Crls = new[] { ca.CrlPath },
                        IssuedSerials = ca.IndexPath,
                        Responder = new { Certificate = ca.ResponderCertPath, Key = ca.ResponderKeyPath },
                    },
                },
            },
        };
        string path = Path.Combine(ca.Directory, "ocsp.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }

    /// <summary>Starts <c>serve --config CONFIG</c> on a free loopback port and waits until it accepts connections.</summary>
    public static async Task<ServeProcess> StartAsync(string config)
    {
        int port = ExternalTool.FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OcspResponder.dll"));
        foreach (var a in new[] { "serve", "--config", config, "--urls", $"http://127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        var process = new Process { StartInfo = psi };
        var serve = new ServeProcess(process, port);
        process.OutputDataReceived += (_, e) => serve.Append(e.Data);
        process.ErrorDataReceived += (_, e) => serve.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!await ExternalTool.WaitForPortAsync(port, TimeSpan.FromSeconds(60), () => process.HasExited))
        {
            serve.Dispose();
            throw new InvalidOperationException("serve did not start: " + serve.Log);
        }
        return serve;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
