namespace OcspFunctions.Engine.Store;

/// <summary>
/// An exclusive lease held on the store (<see cref="IObjectStore.TryAcquireLeaseAsync"/>). Dispose releases it.
/// </summary>
public interface IStoreLease : IAsyncDisposable
{
    /// <summary>
    /// Cancelled once the lease can no longer be trusted to be held (a renewal was refused, another client broke it,
    /// or renewals kept failing for its whole duration) and when it is released: a run should stop writing then.
    /// </summary>
    CancellationToken Lost { get; }
}
