using System.Diagnostics;
using System.Net;
using Azure.Storage.Blobs.Specialized;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// The refresh lease (<see cref="BlobLease"/>, a BlobLeaseClient lease) against Azurite: renewed in the background
/// while held, released on dispose, and <see cref="IStoreLease.Lost"/> fired when it can no longer be trusted.
/// Each test holds a real 15 s lease (the shortest Blob allows), so they take seconds.
/// </summary>
public sealed class BlobLeaseTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly TimeSpan Shortest = TimeSpan.FromSeconds(15);

    private static bool IsLeaseAction(RecordingHandler.Try t, string action) =>
        t.Headers.TryGetValue("x-ms-lease-action", out var a) && a == action;

    [Fact]
    public async Task The_lease_is_renewed_past_its_duration_while_another_acquirer_is_refused_and_released_on_dispose()
    {
        var handler = new RecordingHandler();
        var store = azurite.Store("lease", azurite.Options(handler));
        // Another client (another instance of the app) on the same container.
        var other = new BlobObjectStore(azurite.Service().GetBlobContainerClient(store.Container));

        var lease = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, Shortest, None);
        Assert.NotNull(lease);
        var acquire = Assert.Single(handler.Tries, t => IsLeaseAction(t, "acquire"));
        Assert.Equal("15", acquire.Headers["x-ms-lease-duration"]); // finite, never an infinite (-1) lease

        // Held for longer than its 15 s: only renewals keep the other client out.
        await Task.Delay(TimeSpan.FromSeconds(21));
        Assert.Null(await other.TryAcquireLeaseAsync(StoreLayout.RefreshLock, Shortest, None));
        Assert.True(handler.Tries.Count(t => IsLeaseAction(t, "renew") && t.Status == HttpStatusCode.OK) >= 3);
        Assert.False(lease.Lost.IsCancellationRequested);

        await lease.DisposeAsync();
        await lease.DisposeAsync(); // idempotent
        Assert.True(lease.Lost.IsCancellationRequested); // released: no longer held
        Assert.Contains(handler.Tries, t => IsLeaseAction(t, "release") && t.Status == HttpStatusCode.OK);
        await using var next = await other.TryAcquireLeaseAsync(StoreLayout.RefreshLock, Shortest, None);
        Assert.NotNull(next);
    }

    [Fact]
    public async Task A_lease_broken_by_another_client_is_reported_lost_at_the_next_renewal()
    {
        var store = azurite.Store("broken", azurite.Options());
        await using var lease = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, Shortest, None);
        Assert.NotNull(lease);
        var lost = WhenCancelled(lease.Lost);

        // An operator (or another client) breaks it at once.
        var blob = azurite.Service().GetBlobContainerClient(store.Container).GetBlobClient(StoreLayout.RefreshLock);
        await blob.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
        var clock = Stopwatch.StartNew();
        Assert.Same(lost, await Task.WhenAny(lost, Task.Delay(TimeSpan.FromSeconds(12))));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(6)); // the next renewal, a third of 15 s
        var reason = ((BlobLease)lease).LostReason;
        Assert.NotNull(reason);
        Assert.Contains("refused", reason, StringComparison.Ordinal);
        Assert.Contains("HTTP 409", reason, StringComparison.Ordinal);

        // Broken is free: another client takes it (the lost holder does not release someone else's lease).
        var other = new BlobObjectStore(azurite.Service().GetBlobContainerClient(store.Container));
        await using var next = await other.TryAcquireLeaseAsync(StoreLayout.RefreshLock, Shortest, None);
        Assert.NotNull(next);
        await lease.DisposeAsync();
        Assert.False(next.Lost.IsCancellationRequested);
        Assert.Null(await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, Shortest, None));
    }

    [Fact]
    public async Task Renewals_failing_for_the_whole_duration_report_the_lease_lost_before_it_can_lapse()
    {
        bool failRenewals = false;
        var handler = new RecordingHandler((_, request, _) => Task.FromResult(
            Volatile.Read(ref failRenewals) && request.Headers.TryGetValues("x-ms-lease-action", out var a) && a.Single() == "renew"
                ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
                : null));
        var store = azurite.Store("flaky-renew", azurite.Options(handler));
        await using var lease = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, Shortest, None);
        Assert.NotNull(lease);
        var acquired = Stopwatch.StartNew();
        Volatile.Write(ref failRenewals, true);

        Assert.True(await WhenCancelled(lease.Lost).WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(t => t.IsCompletedSuccessfully));
        // Lost while the service still holds it for us (before 15 s), after renewals were tried and retried.
        Assert.InRange(acquired.Elapsed, TimeSpan.FromSeconds(9), Shortest);
        Assert.True(handler.Tries.Count(t => IsLeaseAction(t, "renew") && t.Status == HttpStatusCode.ServiceUnavailable) >= 2 * 4);
        Assert.Contains("could not be renewed", ((BlobLease)lease).LostReason, StringComparison.Ordinal);
    }

    private static Task WhenCancelled(CancellationToken token)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => done.TrySetResult());
        return done.Task;
    }
}
