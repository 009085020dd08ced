namespace OcspFunctions.Engine.Sources;

/// <summary>Dispatches each location to the first reader that can read it (files, http(s), and later Blob storage).</summary>
public sealed class CompositeSourceReader(IEnumerable<ISourceReader> readers) : ISourceReader
{
    private readonly ISourceReader[] _readers = readers.ToArray();

    public bool CanRead(string location) => Array.Exists(_readers, r => r.CanRead(location));

    public Task<SourceFetch> FetchAsync(string location, SourceValidators? previous, long maxBytes, CancellationToken cancellationToken) =>
        Find(location).FetchAsync(location, previous, maxBytes, cancellationToken);

    public IAsyncEnumerable<string> ListAsync(string location, CancellationToken cancellationToken) =>
        Find(location).ListAsync(location, cancellationToken);

    private ISourceReader Find(string location) =>
        Array.Find(_readers, r => r.CanRead(location))
        ?? throw new SourceException($"no reader for '{SourceSupport.Display(location)}': unsupported location or scheme");
}
