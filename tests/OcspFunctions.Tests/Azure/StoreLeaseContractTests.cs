using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// <see cref="IStoreLease.Lost"/> on both stores: quiet while the lease is held (and another acquirer is refused),
/// cancelled once it is released, and released only once.
/// </summary>
public abstract class StoreLeaseContract
{
    protected abstract IObjectStore NewStore();

    [Fact]
    public async Task Lost_fires_on_release_and_not_while_held()
    {
        var store = NewStore();
        var lease = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(15), CancellationToken.None);
        Assert.NotNull(lease);
        bool fired = false;
        using var registration = lease.Lost.Register(() => fired = true);
        Assert.Null(await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(15), CancellationToken.None));
        Assert.False(lease.Lost.IsCancellationRequested);

        await lease.DisposeAsync();
        Assert.True(fired);
        await lease.DisposeAsync();

        await using var next = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(15), CancellationToken.None);
        Assert.NotNull(next);
        Assert.False(next.Lost.IsCancellationRequested);
    }
}

public sealed class FileSystemStoreLeaseContractTests : StoreLeaseContract, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("lease-contract-").FullName;

    protected override IObjectStore NewStore() => new FileSystemObjectStore(Path.Combine(_root, Guid.NewGuid().ToString("N")));

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

public sealed class BlobStoreLeaseContractTests(AzuriteFixture azurite) : StoreLeaseContract, IClassFixture<AzuriteFixture>
{
    protected override IObjectStore NewStore() => azurite.Store("lease-contract");
}
