using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.FileSystem;

/// <summary>The directory store's settings, under <c>Ocsp:Store</c>.</summary>
public sealed class FileSystemStoreOptions
{
    /// <summary>Directory of the embedded store; relative to the configuration file.</summary>
    public string? Path { get; set; }
}

/// <summary>Registers the directory store: selected by <c>Ocsp:Store:Path</c>.</summary>
public sealed class FileSystemStoreAdapter : StoreAdapter<FileSystemStoreOptions>
{
    public override string SelectedBy => "Path (a directory)";

    protected override void ResolvePaths(FileSystemStoreOptions options, Func<string, string> resolve)
    {
        if (options.Path is { } path) options.Path = resolve(path);
    }

    protected override bool Selects(FileSystemStoreOptions options) => !string.IsNullOrWhiteSpace(options.Path);

    protected override IObjectStore CreateStore(FileSystemStoreOptions options) => new FileSystemObjectStore(options.Path!);

    protected override string Describe(FileSystemStoreOptions options) => options.Path ?? "";

    /// <summary>Only <c>refresh</c> creates the directory; a read verb finding none means a wrong Store:Path.</summary>
    protected override bool MayHoldResponses(FileSystemStoreOptions options) => Directory.Exists(options.Path);
}
