using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// Reads local files: plain paths or <c>file://</c> URIs. A file counts as unchanged while its size and last write
/// time are (ETag <c>"{length}-{ticks}"</c>, LastModified = last write time), so refreshes skip re-parsing it.
/// </summary>
public sealed partial class FileSourceReader : ISourceReader
{
    public bool CanRead(string location) => TryGetPath(location, out _);

    public async Task<SourceFetch> FetchAsync(string location, SourceValidators? previous, long maxBytes, CancellationToken cancellationToken)
    {
        var path = GetPath(location);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new SourceException($"cannot read '{path}': no such file");
            // Taken before reading: a write during the read changes them, so the next fetch reads again.
            var lastWrite = new DateTimeOffset(info.LastWriteTimeUtc);
            var validators = new SourceValidators($"{info.Length}-{lastWrite.UtcTicks}", lastWrite);
            if (previous is not null && previous.ETag == validators.ETag && previous.LastModified == validators.LastModified)
                return SourceFetch.Unchanged(validators);
            if (info.Length > maxBytes) throw new SourceException($"'{path}' is {info.Length} bytes, over the {maxBytes}-byte cap");

            // Share with writers so an operator's tool is never blocked by a refresh.
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var content = await SourceSupport.ReadCappedAsync(stream, maxBytes, $"'{path}'", info.Length, cancellationToken).ConfigureAwait(false);
            return new SourceFetch(content, validators, false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new SourceException($"cannot read '{path}': {e.Message}", e);
        }
    }

    public async IAsyncEnumerable<string> ListAsync(string location, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = GetPath(location);
        // Directory enumeration blocks: leave the caller's context first.
        await Task.Yield();
        IEnumerator<string> files;
        try
        {
            files = Directory.EnumerateFiles(path).GetEnumerator();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new SourceException($"cannot list '{path}': {e.Message}", e);
        }
        using (files)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string? name;
                try
                {
                    name = files.MoveNext() ? Path.GetFileName(files.Current) : null;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SourceException($"cannot list '{path}': {e.Message}", e);
                }
                if (name is null) break;
                yield return name;
            }
        }
    }

    private static string GetPath(string location) =>
        TryGetPath(location, out var path) ? path : throw new SourceException($"'{SourceSupport.Display(location)}' is not a file location");

    private static bool TryGetPath(string location, out string path)
    {
        path = location;
        if (string.IsNullOrWhiteSpace(location)) return false;
        if (location.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || !uri.IsFile) return false;
            path = uri.LocalPath;
            return true;
        }
        // Any other "scheme://" (and "blob:CONTAINER/NAME") belongs to another reader; "C:\x" and relative paths are ours.
        return !UriScheme().IsMatch(location) && !location.StartsWith("blob:", StringComparison.OrdinalIgnoreCase);
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.\-]*://", RegexOptions.CultureInvariant)]
    private static partial Regex UriScheme();
}
