using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Hosting;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Tests.Serving;

namespace OcspFunctions.Tests.Metrics;

/// <summary>Every measurement of one <see cref="Meter"/> instance (not others of the same name running in parallel tests).</summary>
internal sealed class MeterCapture : IDisposable
{
    private readonly MeterListener _listener = new();

    public MeterCapture(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!ReferenceEquals(instrument.Meter, meter)) return;
            Published.Add(instrument.Name);
            listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    public ConcurrentBag<string> Published { get; } = [];

    public ConcurrentQueue<(string Name, double Value, Dictionary<string, string?> Tags)> Measurements { get; } = new();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, string?>();
        foreach (var t in tags) map[t.Key] = t.Value?.ToString();
        Measurements.Enqueue((instrument.Name, value, map));
    }

    /// <summary>Reads the observable instruments now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    public double Sum(string name, params (string Key, string Value)[] tags) =>
        Measurements.Where(m => m.Name == name && tags.All(t => m.Tags.GetValueOrDefault(t.Key) == t.Value)).Sum(m => m.Value);

    public int Count(string name) => Measurements.Count(m => m.Name == name);

    public void Dispose() => _listener.Dispose();
}

/// <summary>Structured log events as the logger received them (state fields, not just the text).</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, EventId EventId, LogLevel Level, string Message, Dictionary<string, string?> Fields)> Events { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = new Dictionary<string, string?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                foreach (var p in pairs) fields[p.Key] = p.Value?.ToString();
            owner.Events.Enqueue((category, eventId, logLevel, formatter(state, exception), fields));
        }
    }
}

/// <summary>A refreshed workspace served by the real Kestrel host (<see cref="ResponderHost"/>) with the given HTTP settings.</summary>
internal sealed class MeteredResponder : IAsyncDisposable
{
    public required CaWorkspace Ca { get; init; }
    public required WebApplication App { get; init; }
    public required string Url { get; init; }
    public OcspInstruments Instruments => App.Services.GetRequiredService<OcspInstruments>();

    /// <param name="logs">When set, the app logs into it (a host built here rather than by ResponderHost, same registration).</param>
    public static async Task<MeteredResponder> StartAsync(TestPki pki, string hint, HttpServeOptions serve, CapturingLoggerProvider? logs = null)
    {
        var ca = new CaWorkspace(pki, pki.EcCa, hint);
        var options = ca.Options(hint);
        options.Serve.IndexReloadInterval = TimeSpan.Zero;
        Assert.True((await RunningResponder.RefreshAsync(options, ca.StorePath)).Succeeded);
        var configuration = OcspConfiguration.ForOptions(options, new FileSystemStoreOptions { Path = ca.StorePath }, serve);
        WebApplication app;
        if (logs is null)
        {
            app = await ResponderHost.BuildAsync(configuration, ["http://127.0.0.1:0"], CancellationToken.None);
        }
        else
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            await builder.Services.AddOcspResponderAsync(configuration, CancellationToken.None);
            app = builder.Build();
            app.Run(app.Services.GetRequiredService<ResponderEndpoint>().HandleAsync);
        }
        await app.StartAsync();
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new MeteredResponder { Ca = ca, App = app, Url = url };
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
