using OcspFunctions.Engine.Store;
using OcspFunctions.Hosting;

namespace OcspResponder.Cli;

/// <summary>
/// The store as the read verbs (<c>status</c>, <c>staple</c>, <c>serve</c>) open it: only <c>refresh</c> creates a store
/// directory, so a misspelt <c>Store:Path</c> is reported instead of silently reading a new, empty store.
/// </summary>
public static class ReadStore
{
    public static string NoIssuersYet(string location) =>
        $"the store at {location} has no issuers yet (has `refresh` run? is Store:Path right?)";

    /// <summary>Throws a configuration error (exit 2) when the selected store certainly holds nothing (a missing directory).</summary>
    public static IObjectStore Open(OcspConfiguration configuration)
    {
        var (adapter, settings) = Composition.SelectedStore(configuration);
        if (!adapter.MayHoldResponses(settings)) throw new ConfigLoader.ConfigurationException(NoIssuersYet(adapter.Describe(settings)));
        return adapter.CreateStore(settings);
    }

    /// <summary>Where the store is, for messages: the directory, or the Blob container.</summary>
    public static string Describe(OcspConfiguration configuration)
    {
        var (adapter, settings) = Composition.SelectedStore(configuration);
        return adapter.Describe(settings);
    }
}
