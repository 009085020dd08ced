namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>What a call that held a slot of <see cref="AdaptiveConcurrencyLimiter"/> learnt about the service.</summary>
public enum LimiterSignal
{
    /// <summary>The call succeeded: counts towards the additive increase.</summary>
    Success,

    /// <summary>The service said it is overloaded (429, 503): multiplicative decrease.</summary>
    Throttled,

    /// <summary>Anything else (errors, time-outs, cancellation): no change.</summary>
    Neutral,
}

/// <summary>
/// An AIMD concurrency limit shared by every call to one vault: at most <see cref="Limit"/> calls are in flight. It
/// starts at <see cref="KeyVaultLimiterOptions.Initial"/>, halves on a throttling answer (once per congestion event: a
/// throttled call that started before the last decrease does not decrease again), grows by one after
/// <see cref="KeyVaultLimiterOptions.IncreaseAfter"/> successes in a row of the current limit, and stays within
/// [<see cref="KeyVaultLimiterOptions.Minimum"/>, <see cref="KeyVaultLimiterOptions.Maximum"/>]. When the service
/// still throttles at the floor, the caller closes a gate for everybody (<see cref="PauseUntil"/>) for the server's
/// Retry-After (or the back-off). Waiters are served first come, first served.
/// </summary>
public sealed class AdaptiveConcurrencyLimiter
{
    private readonly object _lock = new();
    private readonly LinkedList<TaskCompletionSource<Lease>> _waiters = new();
    private readonly KeyVaultLimiterOptions _options;
    private readonly TimeProvider _time;
    private double _limit;
    private int _inFlight;
    private long _epoch;
    private int _successes;
    private DateTimeOffset _resumeAt;
    private long _decreases;
    private long _increases;

    public AdaptiveConcurrencyLimiter(KeyVaultLimiterOptions? options = null, TimeProvider? time = null)
    {
        _options = options ?? new KeyVaultLimiterOptions();
        if (_options.Minimum < 1) throw new ArgumentException("the limiter's minimum must be at least 1");
        if (_options.Maximum < _options.Minimum) throw new ArgumentException("the limiter's maximum must be at least its minimum");
        if (_options.IncreaseAfter < 1) throw new ArgumentException("IncreaseAfter must be at least 1");
        _time = time ?? TimeProvider.System;
        _limit = Math.Clamp(_options.Initial, _options.Minimum, _options.Maximum);
    }

    /// <summary>A held slot; give it back with <see cref="Release"/> exactly once.</summary>
    public sealed class Lease
    {
        internal Lease(long epoch) => Epoch = epoch;

        internal long Epoch { get; }

        internal bool Released;
    }

    /// <summary>Calls allowed in flight now.</summary>
    public int Limit
    {
        get
        {
            lock (_lock) return (int)_limit;
        }
    }

    public int Maximum => _options.Maximum;

    public int InFlight
    {
        get
        {
            lock (_lock) return _inFlight;
        }
    }

    /// <summary>How often the limit was halved / raised.</summary>
    public (long Decreases, long Increases) Changes
    {
        get
        {
            lock (_lock) return (_decreases, _increases);
        }
    }

    /// <summary>Waits for the Retry-After gate, then for a slot.</summary>
    public async ValueTask<Lease> AcquireAsync(CancellationToken cancellationToken)
    {
        await WaitForGateAsync(cancellationToken).ConfigureAwait(false);
        TaskCompletionSource<Lease> waiter;
        LinkedListNode<TaskCompletionSource<Lease>> node;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _inFlight < (int)_limit)
            {
                _inFlight++;
                return new Lease(_epoch);
            }
            waiter = new TaskCompletionSource<Lease>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast(waiter);
        }
        await using (cancellationToken.Register(() =>
                     {
                         bool removed;
                         lock (_lock)
                         {
                             removed = node.List is not null;
                             if (removed) _waiters.Remove(node);
                         }
                         if (removed) waiter.TrySetCanceled(cancellationToken);
                     }).ConfigureAwait(false))
        {
            var lease = await waiter.Task.ConfigureAwait(false);
            try
            {
                // A gate closed while this call queued: it keeps its slot and waits with everybody else.
                await WaitForGateAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Release(lease, LimiterSignal.Neutral);
                throw;
            }
            return lease;
        }
    }

    /// <summary>
    /// Returns a slot and adapts the limit to what the call learnt. Returns true for a throttled call while the limit
    /// was already at its floor: lowering concurrency no longer helps, the caller should close the gate for everybody.
    /// </summary>
    public bool Release(Lease lease, LimiterSignal signal)
    {
        var granted = new List<(TaskCompletionSource<Lease> Waiter, Lease Lease)>();
        bool atFloor;
        lock (_lock)
        {
            if (lease.Released) return false;
            lease.Released = true;
            _inFlight--;
            atFloor = signal == LimiterSignal.Throttled && (int)_limit <= _options.Minimum;
            switch (signal)
            {
                case LimiterSignal.Throttled when lease.Epoch == _epoch:
                    _limit = Math.Max(_options.Minimum, Math.Floor(_limit / 2));
                    _epoch++;
                    _successes = 0;
                    _decreases++;
                    break;
                case LimiterSignal.Success:
                    if (++_successes >= _options.IncreaseAfter && _limit < _options.Maximum)
                    {
                        _limit = Math.Min(_options.Maximum, _limit + 1);
                        _successes = 0;
                        _increases++;
                    }
                    break;
            }
            while (_waiters.First is { } first && _inFlight < (int)_limit)
            {
                _waiters.RemoveFirst();
                _inFlight++;
                granted.Add((first.Value, new Lease(_epoch)));
            }
        }
        foreach (var (waiter, granting) in granted)
        {
            if (!waiter.TrySetResult(granting)) Release(granting, LimiterSignal.Neutral);
        }
        return atFloor;
    }

    /// <summary>Closes the gate for every caller until <paramref name="until"/> (a server's Retry-After); never shortens it.</summary>
    public void PauseUntil(DateTimeOffset until)
    {
        lock (_lock)
        {
            if (until > _resumeAt) _resumeAt = until;
        }
    }

    private async ValueTask WaitForGateAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_lock) wait = _resumeAt - _time.GetUtcNow();
            if (wait <= TimeSpan.Zero) return;
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Settings of <see cref="AdaptiveConcurrencyLimiter"/>.</summary>
public sealed record KeyVaultLimiterOptions
{
    /// <summary>Concurrent calls at the start.</summary>
    public int Initial { get; init; } = 16;

    /// <summary>Floor of the limit.</summary>
    public int Minimum { get; init; } = 1;

    /// <summary>Cap of the limit; also how many signing calls the engine runs at once for this signer.</summary>
    public int Maximum { get; init; } = 64;

    /// <summary>The limit grows by one after this many successes since the last change.</summary>
    public int IncreaseAfter { get; init; } = 16;
}
