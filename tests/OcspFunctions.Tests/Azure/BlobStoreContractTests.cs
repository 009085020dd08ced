using System.Text;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// The <see cref="IObjectStore"/> contract, run against both implementations (a directory and Blob storage on
/// Azurite) so they behave the same: absent objects, replacement, ranged reads, create-only and If-Match writes,
/// deletes, prefix listing and the exclusive lease.
/// </summary>
public abstract class ObjectStoreContract
{
    protected abstract IObjectStore NewStore();

    private static readonly CancellationToken None = CancellationToken.None;

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Get_of_an_absent_object_is_null_and_put_then_get_round_trips()
    {
        var store = NewStore();
        Assert.Null(await store.GetAsync("issuers/none/manifest.json", None));
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        await store.PutAsync("issuers/a/manifest.json", Bytes("one"), None);
        var read = await store.GetAsync("issuers/a/manifest.json", None);
        Assert.NotNull(read);
        Assert.Equal("one", Encoding.UTF8.GetString(read.Content));
        Assert.False(string.IsNullOrEmpty(read.ETag));
        Assert.InRange(read.LastModified, before, DateTimeOffset.UtcNow.AddSeconds(5));

        await store.PutAsync("issuers/a/manifest.json", Bytes("two, longer"), None);
        var again = await store.GetAsync("issuers/a/manifest.json", None);
        Assert.Equal("two, longer", Encoding.UTF8.GetString(again!.Content));
        Assert.NotEqual(read.ETag, again.ETag);

        await store.PutAsync("issuers/a/packs/empty", Array.Empty<byte>(), None);
        Assert.Empty((await store.GetAsync("issuers/a/packs/empty", None))!.Content);
    }

    [Fact]
    public async Task Ranged_reads_return_exactly_the_bytes_asked_for()
    {
        var store = NewStore();
        var content = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        await store.PutAsync("issuers/a/packs/p1", content, None);
        Assert.Equal(content[100..133], await store.GetRangeAsync("issuers/a/packs/p1", 100, 33, None));
        Assert.Equal(content[..1], await store.GetRangeAsync("issuers/a/packs/p1", 0, 1, None));
        Assert.Equal(content[^1..], await store.GetRangeAsync("issuers/a/packs/p1", 999, 1, None));
        Assert.Equal(content, await store.GetRangeAsync("issuers/a/packs/p1", 0, content.Length, None));
    }

    [Fact]
    public async Task A_pooled_read_lends_the_whole_blob_to_the_parser_and_is_null_when_absent()
    {
        IObjectStore store = NewStore();
        Assert.Null(await store.ReadAsync("issuers/a/index/2/0.tsv", span => span.ToArray(), None)); // nothing stored yet at all
        var content = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        await store.PutAsync("issuers/a/index/2/0.tsv", content, None);
        Assert.Equal(content, await store.ReadAsync("issuers/a/index/2/0.tsv", span => span.ToArray(), None));
        await store.PutAsync("issuers/a/index/2/1.tsv", Array.Empty<byte>(), None);
        Assert.Empty((await store.ReadAsync("issuers/a/index/2/1.tsv", span => span.ToArray(), None))!);
        Assert.Null(await store.ReadAsync("issuers/a/index/2/9.tsv", span => span.ToArray(), None));
    }

    [Fact]
    public async Task A_ranged_read_of_an_absent_object_is_null()
    {
        var store = NewStore();
        Assert.Null(await store.GetRangeAsync("issuers/a/packs/none", 0, 10, None)); // nothing stored yet at all
        await store.PutAsync("issuers/a/packs/p1", Bytes("0123456789"), None);
        Assert.Null(await store.GetRangeAsync("issuers/a/packs/p2", 0, 10, None));
        Assert.Null(await store.GetRangeAsync("issuers/b/packs/p1", 0, 10, None));
        Assert.True(await store.DeleteAsync("issuers/a/packs/p1", None));
        Assert.Null(await store.GetRangeAsync("issuers/a/packs/p1", 0, 10, None));
    }

    [Theory]
    [InlineData(5, 6)]   // ends one byte past the end
    [InlineData(0, 11)]  // longer than the object
    [InlineData(10, 1)]  // starts at the end
    [InlineData(50, 5)]  // starts well past the end
    public async Task A_ranged_read_past_the_end_is_a_store_exception(long offset, int length)
    {
        var store = NewStore();
        await store.PutAsync("issuers/a/packs/p1", Bytes("0123456789"), None);
        await Assert.ThrowsAsync<StoreException>(() => store.GetRangeAsync("issuers/a/packs/p1", offset, length, None));
        Assert.Equal(Bytes("56789"), await store.GetRangeAsync("issuers/a/packs/p1", 5, 5, None));
    }

    [Fact]
    public async Task Create_only_writes_succeed_once()
    {
        var store = NewStore();
        string? etag = await store.PutAsync("m", Bytes("first"), PutCondition.Absent, None);
        Assert.NotNull(etag);
        Assert.Equal(etag, (await store.GetAsync("m", None))!.ETag);
        Assert.Null(await store.PutAsync("m", Bytes("second"), PutCondition.Absent, None));
        Assert.Equal("first", Encoding.UTF8.GetString((await store.GetAsync("m", None))!.Content));
    }

    [Fact]
    public async Task If_match_writes_only_over_the_version_read()
    {
        var store = NewStore();
        await store.PutAsync("m", Bytes("v1"), None);
        var v1 = (await store.GetAsync("m", None))!;

        string? v2 = await store.PutAsync("m", Bytes("v2"), PutCondition.For(v1), None);
        Assert.NotNull(v2);
        Assert.NotEqual(v1.ETag, v2);
        Assert.Equal(v2, (await store.GetAsync("m", None))!.ETag);

        // A writer still holding v1 loses, and v2 stays.
        Assert.Null(await store.PutAsync("m", Bytes("stale"), PutCondition.Matching(v1.ETag), None));
        Assert.Equal("v2", Encoding.UTF8.GetString((await store.GetAsync("m", None))!.Content));

        // The version read is gone: If-Match fails too.
        Assert.True(await store.DeleteAsync("m", None));
        Assert.Null(await store.PutAsync("m", Bytes("late"), PutCondition.Matching(v2), None));
        Assert.Null(await store.GetAsync("m", None));
        Assert.NotNull(await store.PutAsync("m", Bytes("new"), PutCondition.For(null), None));
    }

    [Fact]
    public async Task Delete_reports_whether_something_was_deleted()
    {
        var store = NewStore();
        Assert.False(await store.DeleteAsync("x/y", None));
        await store.PutAsync("x/y", Bytes("1"), None);
        Assert.True(await store.DeleteAsync("x/y", None));
        Assert.Null(await store.GetAsync("x/y", None));
        Assert.False(await store.DeleteAsync("x/y", None));
    }

    [Fact]
    public async Task List_returns_every_name_under_the_prefix()
    {
        var store = NewStore();
        string[] names = ["a/x/1", "a/x/2", "a/y/3", "ab/1", "b/1"];
        foreach (var name in names) await store.PutAsync(name, Bytes(name), None);

        async Task<string[]> List(string prefix) => (await store.ListAsync(prefix, None).ToListAsync()).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["a/x/1", "a/x/2", "a/y/3"], await List("a/"));
        Assert.Equal(["a/x/1", "a/x/2"], await List("a/x/"));
        Assert.Equal(names, await List(""));
        Assert.Empty(await List("zzz/"));
    }

    [Fact]
    public async Task The_lease_is_exclusive_until_disposed()
    {
        var store = NewStore();
        var first = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(15), None);
        Assert.NotNull(first);
        Assert.Null(await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(15), None));
        await first.DisposeAsync();
        await using var second = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(15), None);
        Assert.NotNull(second);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/abs")]
    [InlineData("a/../b")]
    [InlineData("a\\b")]
    public async Task Bad_names_are_refused(string name)
    {
        var store = NewStore();
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync(name, None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(name, Bytes("x"), None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetRangeAsync(name, 0, 1, None));
    }
}

public sealed class FileSystemStoreContractTests : ObjectStoreContract, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("store-contract-").FullName;

    protected override IObjectStore NewStore() => new FileSystemObjectStore(Path.Combine(_root, Guid.NewGuid().ToString("N")));

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

public sealed class BlobStoreContractTests(AzuriteFixture azurite) : ObjectStoreContract, IClassFixture<AzuriteFixture>
{
    protected override IObjectStore NewStore() => azurite.Store("contract");
}
