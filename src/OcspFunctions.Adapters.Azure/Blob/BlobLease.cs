using Azure;
using Azure.Storage.Blobs.Specialized;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>
/// The refresh lease: a Blob lease of 15–60 s (so a holder that dies without releasing it blocks the next one for at
/// most a minute), renewed every third of its duration while held. <see cref="Lost"/> is cancelled when a renewal is
/// refused (the lease was broken, changed or the blob deleted), when renewals kept failing for a whole duration (it may
/// have lapsed and been taken), and on release.
/// </summary>
public sealed class BlobLease : IStoreLease
{
    private readonly BlobLeaseClient _client;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _renewals;
    private int _disposed;

    private BlobLease(BlobLeaseClient client, TimeSpan duration, TimeProvider time)
    {
        _client = client;
        _duration = duration;
        _time = time;
        _renewals = RenewAsync();
    }

    public CancellationToken Lost => _lost.Token;

    /// <summary>Why <see cref="Lost"/> fired before release (null while held or after a plain release).</summary>
    public string? LostReason { get; private set; }

    /// <summary>Acquires the lease for <paramref name="requested"/> clamped to 15–60 s, or null when another holder has it.</summary>
    internal static async Task<BlobLease?> TryAcquireAsync(BlobLeaseClient client, TimeSpan requested, TimeProvider time, CancellationToken cancellationToken)
    {
        var duration = TimeSpan.FromSeconds(Math.Clamp(Math.Floor(requested.TotalSeconds), 15, 60));
        try
        {
            await client.AcquireAsync(duration, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409) // LeaseAlreadyPresent
        {
            return null;
        }
        return new BlobLease(client, duration, time);
    }

    private async Task RenewAsync()
    {
        var every = _duration / 3;
        long confirmed = _time.GetTimestamp();
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, _time, _stop.Token).ConfigureAwait(false);
                await _client.RenewAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
                confirmed = _time.GetTimestamp();
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (RequestFailedException e) when (e.Status is >= 400 and < 500 and not (408 or 429))
            {
                // 409 LeaseIsBrokenAndCannotBeRenewed / LeaseIdMismatchWithLeaseOperation, 404 the blob is gone: refused.
                await MarkLostAsync($"the lease renewal was refused: {BlobStorage.Describe(e)}").ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (BlobStorage.IsServiceFailure(e, _stop.Token))
            {
                // Tried again at the next tick, unless the lease may have lapsed by now.
                if (_time.GetElapsedTime(confirmed) + every >= _duration)
                {
                    await MarkLostAsync($"the lease could not be renewed within its {_duration.TotalSeconds:0} s: {BlobStorage.DescribeFailure(e)}").ConfigureAwait(false);
                    return;
                }
            }
        }
    }

    private async Task MarkLostAsync(string reason)
    {
        LostReason = reason;
        await _lost.CancelAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewals.ConfigureAwait(false);
        _stop.Dispose();
        if (!_lost.IsCancellationRequested)
        {
            await _lost.CancelAsync().ConfigureAwait(false);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _client.ReleaseAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RequestFailedException or AggregateException or IOException or OperationCanceledException)
            {
                // Not released: it lapses by itself within a minute.
            }
        }
    }
}
