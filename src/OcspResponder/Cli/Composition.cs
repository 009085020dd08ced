using Microsoft.Extensions.Logging;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;

namespace OcspResponder.Cli;

/// <summary>Wires the engine to its adapters: the embedded default is a directory store and local key files.</summary>
public static class Composition
{
    public static IObjectStore CreateStore(OcspOptions options) =>
        string.IsNullOrWhiteSpace(options.Store.Path)
            ? throw new ConfigLoader.ConfigurationException("Ocsp:Store:Path is required (the directory that holds the responses)")
            : new FileSystemObjectStore(options.Store.Path);

    public static ISourceReader CreateSources(OcspOptions options, HttpClient http) =>
        new CompositeSourceReader([new FileSourceReader(), new HttpSourceReader(http, options.FetchTimeout)]);

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
