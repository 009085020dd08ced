using Microsoft.Extensions.Logging;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;

namespace OcspResponder.Cli;

/// <summary>Wires the engine to its adapters: the embedded default is a directory store and local key files.</summary>
public static class Composition
{
    /// <summary>Blob storage when a Blob connection string or service URI is set; otherwise the directory store.</summary>
    public static IObjectStore CreateStore(OcspOptions options) =>
        options.Store.IsBlob ? AzureAdapters.CreateStore(options.Store)
        : string.IsNullOrWhiteSpace(options.Store.Path)
            ? throw new ConfigLoader.ConfigurationException("set Ocsp:Store:Path (a directory) or Ocsp:Store:BlobServiceUri / BlobConnectionString")
            : new FileSystemObjectStore(options.Store.Path);

    /// <summary>Files and http(s) URLs; with a Blob store configured, also <c>blob:CONTAINER/NAME</c> in the same account.</summary>
    public static ISourceReader CreateSources(OcspOptions options, HttpClient http)
    {
        var readers = new List<ISourceReader>();
        if (options.Store.IsBlob) readers.Add(AzureAdapters.CreateSourceReader(options.Store));
        readers.Add(new FileSourceReader());
        readers.Add(new HttpSourceReader(http, options.FetchTimeout));
        return new CompositeSourceReader(readers);
    }

    /// <summary>Per issuer a local key file, or a Key Vault key through DefaultAzureCredential (the managed identity in Azure).</summary>
    public static ISignerFactory CreateSignerFactory(OcspOptions options) =>
        new ResponderSignerFactory(new LocalKeySignerFactory(),
            options.Issuers.Any(i => !string.IsNullOrWhiteSpace(i.Responder.KeyVaultKeyId))
                ? KeyVaultSignerFactory.CreateDefault(options.Store.ManagedIdentityClientId)
                : null);

    public static ILoggerFactory CreateLoggerFactory(bool verbose) => LoggerFactory.Create(builder =>
    {
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
    });

    /// <summary>Loads and validates the configuration, printing warnings; throws with every error listed.</summary>
    public static OcspOptions LoadValidated(string? configFile, TextWriter error)
    {
        var options = ConfigLoader.Load(configFile);
        var (errors, warnings) = OcspOptionsValidator.Validate(options);
        foreach (var w in warnings) error.WriteLine($"warning: {w}");
        if (errors.Count > 0) throw new ConfigLoader.ConfigurationException("configuration errors:\n  " + string.Join("\n  ", errors));
        return options;
    }
}
