using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// A real Azurite blob service (npm azurite@3.37.0, installed by tests/run-tests.sh into tests/.tools/azurite) on a
/// free 127.0.0.1 port with a temporary --location; killed on Dispose. It runs with --skipApiVersionCheck: the Blob
/// SDK sends its default service version (2026-10-06 for 12.30), newer than Azurite 3.37 knows, and production does
/// not pin one.
/// </summary>
public class AzuriteFixture : IDisposable
{
    public const string AzuriteVersion = "3.37.0";
    public const string DevelopmentAccount = "devstoreaccount1";
    public const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _containers;

    public AzuriteFixture() : this(https: false)
    {
    }

    protected AzuriteFixture(bool https)
    {
        string executable = FindAzurite();
        Location = Directory.CreateTempSubdirectory("azurite-").FullName;
        Port = Clients.ExternalTool.FreePort();
        var arguments = new List<string>
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--location", Location, "--silent", "--disableTelemetry", "--skipApiVersionCheck",
        };
        if (https)
        {
            // Azurite accepts bearer tokens only over TLS: a throw-away certificate for 127.0.0.1, trusted by thumbprint.
            string cert = Path.Combine(Location, "tls.pem"), key = Path.Combine(Location, "tls.key");
            OpenSsl.Run(Location, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert);
            TlsCertificate = X509CertificateLoader.LoadCertificateFromFile(cert);
            arguments.AddRange(["--cert", cert, "--key", key, "--oauth", "basic"]);
        }
        Endpoint = new Uri($"{(https ? "https" : "http")}://127.0.0.1:{Port}/{DevelopmentAccount}");

        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        _process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + executable);
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilListening();
    }

    public int Port { get; }

    public string Location { get; }

    /// <summary>The blob endpoint, path-style: <c>http://127.0.0.1:PORT/devstoreaccount1</c>.</summary>
    public Uri Endpoint { get; }

    public X509Certificate2? TlsCertificate { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={DevelopmentAccount};AccountKey={DevelopmentKey};BlobEndpoint={Endpoint.AbsoluteUri};";

    /// <summary>Fast retries for tests (the defaults back off for seconds); <paramref name="handler"/> sees every try.</summary>
    public BlobClientOptions Options(HttpMessageHandler? handler = null)
    {
        var options = BlobStorage.DefaultClientOptions();
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxRetries = 3;
        handler ??= new SocketsHttpHandler();
        var inner = handler;
        while (inner is DelegatingHandler { InnerHandler: { } next }) inner = next;
        if (TlsCertificate is { } trusted && inner is SocketsHttpHandler sockets)
            sockets.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == trusted.Thumbprint;
        options.Transport = new HttpClientTransport(new HttpClient(handler));
        return options;
    }

    /// <summary>The account through the adapter's own factory, with the test's client options.</summary>
    public BlobStorage Storage(BlobClientOptions? options = null, string container = "ocsp") =>
        new(new BlobStoreOptions { BlobConnectionString = ConnectionString, BlobContainer = container }, options ?? Options());

    public BlobServiceClient Service(BlobClientOptions? options = null) => Storage(options).Service;

    /// <summary>A container name no other test uses (Azurite is shared by a test class).</summary>
    public string NewContainer(string hint) => $"{hint}-{Interlocked.Increment(ref _containers)}-{Guid.NewGuid().ToString("N")[..8]}";

    public BlobObjectStore Store(string hint, BlobClientOptions? options = null, int listPageSize = 5000) =>
        new(Service(options).GetBlobContainerClient(NewContainer(hint)), listPageSize);

    private void WaitUntilListening()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"azurite-blob exited with code {_process.ExitCode}: {Output}");
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                using var stream = client.GetStream();
                Stream s = stream;
                if (TlsCertificate is not null)
                {
                    var tls = new SslStream(stream, false, (_, _, _, _) => true);
                    tls.AuthenticateAsClient("127.0.0.1");
                    s = tls;
                }
                // Any HTTP answer means it serves requests.
                s.Write(Encoding.ASCII.GetBytes($"GET /{DevelopmentAccount}?comp=list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
                var buffer = new byte[5];
                if (s.Read(buffer) > 0 && Encoding.ASCII.GetString(buffer).StartsWith("HTTP", StringComparison.Ordinal)) return;
            }
            catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
            {
            }
            Thread.Sleep(100);
        }
        throw new InvalidOperationException($"azurite-blob did not answer on port {Port} within 60 s: {Output}");
    }

    private string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>tests/.tools/azurite/node_modules/.bin/azurite-blob of this checkout (or $AZURITE_BLOB).</summary>
    private static string FindAzurite()
    {
        if (Environment.GetEnvironmentVariable("AZURITE_BLOB") is { Length: > 0 } overridden) return overridden;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OcspFunctions.sln"))) dir = dir.Parent;
        string path = Path.Combine(dir?.FullName ?? ".", "tests", ".tools", "azurite", "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(path))
            throw new InvalidOperationException(
                $"Azurite is not installed ({path} is missing): run tests/run-tests.sh, which installs azurite@{AzuriteVersion} there with npm");
        return path;
    }


    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try { Directory.Delete(Location, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        GC.SuppressFinalize(this);
    }
}

/// <summary>Azurite over HTTPS with <c>--oauth basic</c>: it checks a bearer token's issuer, audience and lifetime (not its signature).</summary>
public sealed class AzuriteOAuthFixture() : AzuriteFixture(https: true);
