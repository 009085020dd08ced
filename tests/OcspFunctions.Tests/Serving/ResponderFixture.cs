using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Hosting;

namespace OcspFunctions.Tests.Serving;

/// <summary>A refreshed store over a private copy of an openssl CA, served by the real Kestrel host on a free loopback port.</summary>
public sealed class RunningResponder : IAsyncDisposable
{
    private RunningResponder(CaWorkspace ca, OcspOptions options, WebApplication app, string url)
    {
        Ca = ca;
        Options = options;
        App = app;
        Url = url;
    }

    public CaWorkspace Ca { get; }
    public OcspOptions Options { get; }
    public WebApplication App { get; }
    public string Url { get; }
    public OcspIssuer Issuer => new(X509CertificateLoader.LoadCertificateFromFile(Ca.CaCertPath));

    public static Task<RunningResponder> StartAsync(TestPki pki, string hint, TestCa? source = null, Action<OcspOptions>? configure = null) =>
        StartAsync(new CaWorkspace(pki, source ?? pki.EcCa, hint), hint, configure);

    /// <summary>
    /// Refreshes a store over <paramref name="ca"/> and serves it; on <paramref name="url"/> (e.g. <c>http://127.0.0.1:PORT</c>, for
    /// certificates whose AIA names the responder) or else on a free loopback port.
    /// </summary>
    public static async Task<RunningResponder> StartAsync(CaWorkspace ca, string hint, Action<OcspOptions>? configure = null, string? url = null)
    {
        var options = ca.Options(hint);
        options.Serve.IndexReloadInterval = TimeSpan.Zero;
        configure?.Invoke(options);
        var report = await RefreshAsync(options, ca.StorePath);
        if (!report.Succeeded) throw new InvalidOperationException(string.Join("; ", report.Issuers.SelectMany(i => i.Errors)));
        var app = await ResponderHost.BuildAsync(options, [url ?? "http://127.0.0.1:0"], CancellationToken.None, new FileSystemObjectStore(ca.StorePath));
        await app.StartAsync();
        url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningResponder(ca, options, app, url);
    }

    public static Task<RefreshReport> RefreshAsync(OcspOptions options, string storePath) =>
        new RefreshEngine(options, new FileSystemObjectStore(storePath), new CompositeSourceReader([new FileSourceReader()]),
            new LocalKeySignerFactory(), TimeProvider.System, NullLogger<RefreshEngine>.Instance).RunAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
