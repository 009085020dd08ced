using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;

namespace OcspResponder.Cli;

/// <summary>
/// The store as the read verbs (<c>status</c>, <c>staple</c>, <c>serve</c>) open it: only <c>refresh</c> creates a store
/// directory, so a misspelt <c>Store:Path</c> is reported instead of silently reading a new, empty store.
/// </summary>
public static class ReadStore
{
    public static string NoIssuersYet(string location) =>
        $"the store at {location} has no issuers yet (has `refresh` run? is Store:Path right?)";

    /// <summary>Throws a configuration error (exit 2) when the directory store does not exist.</summary>
    public static IObjectStore Open(OcspOptions options)
    {
        if (!options.Store.IsBlob && !string.IsNullOrWhiteSpace(options.Store.Path) && !Directory.Exists(options.Store.Path))
            throw new ConfigLoader.ConfigurationException(NoIssuersYet(options.Store.Path));
        return Composition.CreateStore(options);
    }

    /// <summary>Where the store is, for messages: the directory, or the Blob container.</summary>
    public static string Describe(OcspOptions options) =>
        options.Store.IsBlob ? $"Blob container '{options.Store.BlobContainer}'" : options.Store.Path ?? "";
}
