using Microsoft.Extensions.Logging;
using OcspFunctions.Adapters.Http;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Hosting;

/// <summary>Wires the engine to the adapters the configuration selects; the CLI verbs, serve and the function app all come through here.</summary>
public static class Composition
{
    /// <summary>The store of the first registered adapter whose settings are set (Blob before a directory).</summary>
    public static IObjectStore CreateStore(OcspConfiguration configuration)
    {
        var (adapter, settings) = SelectedStore(configuration);
        return adapter.CreateStore(settings);
    }

    /// <summary>The first registered store adapter whose settings are set, with those settings.</summary>
    public static (IStoreAdapter Adapter, object Settings) SelectedStore(OcspConfiguration configuration)
    {
        foreach (var (adapter, settings) in configuration.Stores)
            if (adapter.Selects(settings)) return (adapter, settings);
        throw new ConfigLoader.ConfigurationException(
            $"no store configured: set Ocsp:Store:{string.Join(" or Ocsp:Store:", Registrations.Stores.Select(s => s.SelectedBy))}");
    }

    /// <summary>Files and http(s) URLs; with a store that reads inputs next to it, also its locations (Blob: <c>blob:CONTAINER/NAME</c>).</summary>
    public static ISourceReader CreateSources(OcspConfiguration configuration, HttpClient http)
    {
        var readers = new List<ISourceReader>();
        foreach (var (adapter, settings) in configuration.Stores)
            if (adapter.Selects(settings) && adapter.CreateSourceReader(settings) is { } reader) readers.Add(reader);
        readers.Add(new FileSourceReader());
        readers.Add(new HttpSourceReader(http, configuration.Options.FetchTimeout));
        return new CompositeSourceReader(readers);
    }

    /// <summary>Per issuer the signer adapter its Responder settings selected (a key file, a Key Vault key…).</summary>
    public static ISignerFactory CreateSignerFactory(OcspConfiguration configuration, OcspInstruments? instruments = null) =>
        new ConfiguredSigners(configuration, instruments);

    /// <summary>The CA certificates, read the one way every certificate is read: through the source readers.</summary>
    public static async Task<IReadOnlyList<OcspIssuer>> LoadIssuersAsync(OcspConfiguration configuration, ISourceReader sources,
        CancellationToken cancellationToken)
    {
        var issuers = new List<OcspIssuer>();
        foreach (var issuer in configuration.Options.Issuers)
            issuers.Add(new OcspIssuer(await CertificateFiles.LoadAsync(sources, issuer.Certificate, configuration.Options.MaxSourceBytes, cancellationToken)));
        return issuers;
    }

    public static RefreshEngine CreateRefreshEngine(OcspConfiguration configuration, HttpClient http, ILogger<RefreshEngine> logger,
        TimeProvider? time = null, OcspInstruments? instruments = null) =>
        new(configuration.Options, CreateStore(configuration), CreateSources(configuration, http), CreateSignerFactory(configuration, instruments),
            time ?? TimeProvider.System, logger);

    public static ILoggerFactory CreateLoggerFactory(bool verbose) => LoggerFactory.Create(builder =>
    {
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // -v: progress (Information) and the details of expected failures, stack traces included (Debug).
        builder.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning);
    });

    /// <summary>Loads and validates the configuration, printing warnings; throws with every error listed.</summary>
    public static OcspConfiguration LoadValidated(string? configFile, TextWriter error) => Validated(ConfigLoader.Load(configFile), error);

    public static OcspConfiguration Validated(OcspConfiguration configuration, TextWriter error)
    {
        var (errors, warnings) = configuration.Validate();
        foreach (var w in warnings) error.WriteLine($"warning: {w}");
        if (errors.Count > 0) throw new ConfigLoader.ConfigurationException("configuration errors:\n  " + string.Join("\n  ", errors));
        return configuration;
    }

    /// <summary>Dispatches each issuer to the factory of the adapter its settings selected; one factory per adapter.</summary>
    private sealed class ConfiguredSigners(OcspConfiguration configuration, OcspInstruments? instruments) : ISignerFactory
    {
        private readonly Dictionary<ISignerAdapter, IResponderKeyFactory> _factories = [];
        private readonly Lock _lock = new();

        public async Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken)
        {
            int index = configuration.Options.Issuers.IndexOf(issuer);
            if (index < 0 || index >= configuration.IssuerSigners.Count || configuration.IssuerSigners[index].Count != 1)
                throw new ArgumentException($"issuer '{issuer.Name}': set exactly one of {string.Join(" and ", Registrations.Signers.Select(s => s.SelectedBy))}");
            var (adapter, settings) = configuration.IssuerSigners[index][0];
            IResponderKeyFactory factory;
            lock (_lock)
            {
                if (!_factories.TryGetValue(adapter, out factory!))
                    _factories[adapter] = factory = adapter.CreateFactory(configuration.SignerShared.GetValueOrDefault(adapter));
            }
            var signer = await factory.CreateAsync(issuer, settings, cancellationToken).ConfigureAwait(false);
            return ThrottleReportingSigner.Wrap(signer, instruments, Printable.Escape(issuer.Name));
        }
    }
}
