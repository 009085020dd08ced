using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.FileSystem;

/// <summary>
/// The embedded store: a directory. Writes go to a temporary file in the same directory, flushed to disk, and are
/// renamed over the target (atomic on POSIX and NTFS), so a reader or a killed run never sees half an object. The lease is an
/// exclusive OS file lock, released by the OS if the process dies.
/// </summary>
public sealed class FileSystemObjectStore : IObjectStore
{
    private readonly string _root;
    private readonly SemaphoreSlim _conditional = new(1, 1);

    /// <summary>Directories known to exist, so a write does not create (stat) its directory every time.</summary>
    private readonly ConcurrentDictionary<string, byte> _directories = new(StringComparer.Ordinal);

    private readonly string _tempPrefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private long _tempCounter;

    public FileSystemObjectStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    public async Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken)
    {
        string path = PathOf(name);
        try
        {
            var content = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            var modified = File.GetLastWriteTimeUtc(path);
            return new StoredObject(content, $"\"{modified.Ticks:x}-{content.Length:x}\"", new DateTimeOffset(modified, TimeSpan.Zero));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot read {path}: {e.Message}", e);
        }
    }

    /// <summary>Reads the file into a pooled buffer (returned after <paramref name="parse"/>): no garbage per read.</summary>
    public async Task<T?> ReadAsync<T>(string name, Func<ReadOnlySpan<byte>, T> parse, CancellationToken cancellationToken) where T : class
    {
        string path = PathOf(name);
        byte[] buffer;
        int length;
        try
        {
            // The handle keeps the version opened: a write renames a new file over the name, never changes this one.
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
            long size = RandomAccess.GetLength(handle);
            if (size > Array.MaxLength) throw new StoreException($"cannot read {path}: {size} bytes is too large");
            length = (int)size;
            buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            try
            {
                int read = 0;
                while (read < length)
                {
                    int n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(read, length - read), read, cancellationToken).ConfigureAwait(false);
                    if (n == 0) throw new StoreException($"cannot read {path}: it ended at {read} of {length} bytes");
                    read += n;
                }
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot read {path}: {e.Message}", e);
        }
        try
        {
            return parse(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task<byte[]?> GetRangeAsync(string name, long offset, int length, CancellationToken cancellationToken)
    {
        string path = PathOf(name);
        try
        {
            // Synchronous: a read of a few hundred bytes from the page cache beats a thread-pool round trip.
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var content = new byte[length];
            int read = 0;
            while (read < length)
            {
                int n = RandomAccess.Read(handle, content.AsSpan(read), offset + read);
                if (n == 0) throw new StoreException($"cannot read {path}: {length} bytes at {offset} are past its end ({RandomAccess.GetLength(handle)} bytes)");
                read += n;
            }
            return Task.FromResult<byte[]?>(content);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<byte[]?>(null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromException<byte[]?>(new StoreException($"cannot read {path}: {e.Message}", e));
        }
        catch (StoreException e)
        {
            return Task.FromException<byte[]?>(e);
        }
    }

    public Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        // Synchronous I/O: a write to the page cache finishes faster than an async file round trip through the thread pool.
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
        try
        {
            Put(name, content.Span);
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    private void Put(string name, ReadOnlySpan<byte> content)
    {
        string path = PathOf(name);
        string directory = Path.GetDirectoryName(path)!;
        string temp = TempPath(path);
        try
        {
            try
            {
                WriteNew(temp, content, directory);
            }
            catch (DirectoryNotFoundException)
            {
                // The directory went away after it was cached (deleted by hand): create it again, once.
                _directories.TryRemove(directory, out _);
                WriteNew(temp, content, directory);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new StoreException($"cannot write {path}: {e.Message}", e);
        }
    }

    public async Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken)
    {
        // One process writes under the refresh lease; the check guards against a second writer that ignored it.
        await _conditional.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = await GetAsync(name, cancellationToken).ConfigureAwait(false);
            bool holds = condition.IfNoneExists ? current is null : current is not null && current.ETag == condition.IfMatch;
            if (!holds) return null;
            await PutAsync(name, content, cancellationToken).ConfigureAwait(false);
            return (await GetAsync(name, cancellationToken).ConfigureAwait(false))?.ETag;
        }
        finally
        {
            _conditional.Release();
        }
    }

    /// <summary>Writes <paramref name="content"/> to a file that must not exist yet, creating its directory the first time.</summary>
    private void WriteNew(string path, ReadOnlySpan<byte> content, string directory)
    {
        if (!_directories.ContainsKey(directory))
        {
            Directory.CreateDirectory(directory);
            _directories.TryAdd(directory, 0);
        }
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        RandomAccess.Write(handle, content, 0);
        // On disk before the rename makes it visible: after a power loss the name holds these bytes or the old ones,
        // never an empty file (the refresh writes a few large objects per run, so this costs little).
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>A unique temporary name next to <paramref name="path"/>: a random per-store prefix and a counter (no syscall per name).</summary>
    private string TempPath(string path) =>
        $"{path}.{_tempPrefix}{(ulong)Interlocked.Increment(ref _tempCounter):x16}.tmp";

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        string path = PathOf(name);
        try
        {
            if (!File.Exists(path)) return Task.FromResult(false);
            File.Delete(path);
            return Task.FromResult(true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot delete {path}: {e.Message}", e);
        }
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Enumerate the directory holding the prefix, then filter by the full name.
        int slash = prefix.LastIndexOf('/');
        string directory = slash < 0 ? _root : PathOf(prefix[..slash]);
        if (!Directory.Exists(directory)) yield break;
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            string name = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (name.StartsWith(prefix, StringComparison.Ordinal)) yield return name;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<IStoreLease?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken)
    {
        string path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            // FileShare.None takes an exclusive lock (flock on Unix); the duration does not apply: the lock lives
            // until disposed or the process ends.
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var note = System.Text.Encoding.UTF8.GetBytes($"pid {Environment.ProcessId} since {DateTimeOffset.UtcNow:O}\n");
            stream.Write(note);
            stream.Flush();
            return Task.FromResult<IStoreLease?>(new FileLease(stream));
        }
        catch (IOException)
        {
            return Task.FromResult<IStoreLease?>(null);
        }
    }

    /// <summary>An OS lock cannot be taken away while the process lives: lost only once released.</summary>
    private sealed class FileLease(FileStream stream) : IStoreLease
    {
        private readonly CancellationTokenSource _lost = new();

        public CancellationToken Lost => _lost.Token;

        public async ValueTask DisposeAsync()
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            _lost.Cancel();
        }
    }

    private string PathOf(string name)
    {
        if (name.Length == 0 || name.Contains("..", StringComparison.Ordinal) || name.StartsWith('/') || name.Contains('\\'))
            throw new ArgumentException($"bad store name '{name}'");
        return Path.Combine(_root, name.Replace('/', Path.DirectorySeparatorChar));
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
