using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// A real <c>OcspResponder serve --config CONFIG</c> process on a free loopback port (the OcspResponder.dll built next
/// to this benchmark), and RFC 5019 POST requests to it, each answer decoded.
/// </summary>
public sealed class ServeProbe : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly OcspIssuer _issuer;

    private ServeProbe(Process process, int port, OcspIssuer issuer)
    {
        _process = process;
        _issuer = issuer;
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Url { get; }

    public int ProcessId => _process.Id;

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public static async Task<ServeProbe> StartAsync(string config, OcspIssuer issuer, CancellationToken cancellationToken)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "OcspResponder.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("OcspResponder.dll is not next to the benchmark: build the solution (Release)", dll);
        int port = FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "serve", "--config", config, "--urls", $"http://127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start dotnet");
        var probe = new ServeProbe(process, port, issuer);
        process.OutputDataReceived += (_, e) => probe.Append(e.Data);
        process.ErrorDataReceived += (_, e) => probe.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"serve exited ({process.ExitCode}): {probe.Log}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("serve did not listen within 60 s: " + probe.Log);
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return probe;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>
    /// POSTs a one-CertID request (SHA-1, no nonce) for <paramref name="serial"/>; the decoded status, or null when the
    /// server answered with an error status (unauthorized: not in its index yet) or did not answer.
    /// </summary>
    public async Task<(CertStatus? Status, string Text)> QueryAsync(SerialNumber serial, CancellationToken cancellationToken)
    {
        var certId = _issuer.CertIdFor(serial, CertIdHashAlgorithm.Sha1);
        using var content = new ByteArrayContent(OcspRequest.Encode([certId]));
        content.Headers.ContentType = new("application/ocsp-request");
        try
        {
            using var answer = await _http.PostAsync(Url, content, cancellationToken);
            if (answer.StatusCode != HttpStatusCode.OK) return (null, "HTTP " + (int)answer.StatusCode);
            var response = OcspResponse.Decode(await answer.Content.ReadAsByteArrayAsync(cancellationToken));
            if (response.Status != OcspResponseStatus.Successful || response.Basic is null) return (null, response.Status.ToString());
            var single = response.Basic.Responses.Single();
            if (single.CertId.SerialNumber != serial) throw new InvalidOperationException($"asked for {serial}, answered for {single.CertId.SerialNumber}");
            return (single.Status, single.Status.ToString());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, e.GetType().Name + ": " + e.Message);
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
