using System.Collections.Concurrent;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Engine;

/// <summary>
/// Collects signed records into packs (from the signing workers, in turn) and stores each full pack in the background,
/// one after another. At most <see cref="MaxStoring"/> full packs wait for the store: past that, signing waits (a slow or
/// throttled store must not grow memory). Pack buffers are reused once stored.
/// </summary>
internal sealed class PackQueue(IObjectStore store, string issuerId, int packBytes, byte[] header, CancellationToken cancellationToken)
    : IAsyncDisposable
{
    private const int MaxStoring = 2;
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _storingSlots = new(MaxStoring, MaxStoring);
    private readonly ConcurrentBag<byte[]> _buffers = [];
    private ResponsePackWriter? _current;
    private Task _storing = Task.CompletedTask;
    private int _written;

    public int Written => _written;

    public async ValueTask<(string Pack, long Offset, int Length)> AppendAsync(byte[][] responses, DateTimeOffset now)
    {
        ResponsePackWriter? full = null;
        (string, long, int) location;
        lock (_lock)
        {
            // Room for the last record past the threshold, so the buffer never grows.
            _current ??= new ResponsePackWriter(ResponsePacks.NewName(now), _buffers.TryTake(out var buffer) ? buffer : new byte[packBytes + (64 << 10)], header);
            var (offset, length) = _current.Append(responses);
            location = (_current.Name, offset, length);
            if (_current.Length >= packBytes)
            {
                full = _current;
                _current = null;
            }
        }
        if (full is not null) await StoreAsync(full).ConfigureAwait(false);
        return location;
    }

    /// <summary>A pack that failed to store fails the issuer (not one serial): surfaced after each batch and at the flush.</summary>
    public void ThrowIfFailed()
    {
        if (_storing.IsFaulted) _storing.GetAwaiter().GetResult();
    }

    /// <summary>Waits for a free slot, then stores the pack in the background after those already being stored.</summary>
    private async Task StoreAsync(ResponsePackWriter pack)
    {
        await _storingSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var previous = _storing;
            _storing = Task.Run(async () =>
            {
                try
                {
                    await previous.ConfigureAwait(false);
                    // A run that lost its lease (or was stopped) writes nothing more.
                    cancellationToken.ThrowIfCancellationRequested();
                    await store.PutAsync(StoreLayout.Pack(issuerId, pack.Name), pack.Content, cancellationToken).ConfigureAwait(false);
                    _buffers.Add(pack.Buffer);
                    Interlocked.Increment(ref _written);
                }
                finally
                {
                    _storingSlots.Release();
                }
            }, CancellationToken.None);
        }
    }

    /// <summary>Stores the partly filled pack too and waits until every pack is stored (no appends meanwhile).</summary>
    public async Task FlushAsync()
    {
        ResponsePackWriter? partial;
        lock (_lock)
        {
            partial = _current is { Length: > 0 } ? _current : null;
            _current = null;
        }
        if (partial is not null) await StoreAsync(partial).ConfigureAwait(false);
        await _storing.ConfigureAwait(false);
    }

    /// <summary>Waits for a store still running when the run fails; its failure was reported (or another one is on its way).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _storing.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Observed: the pack is unreferenced and a later run retires it.
        }
    }
}
