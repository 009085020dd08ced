using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Tests.Azure;

/// <summary><see cref="BlobSourceReader"/> against Azurite: blob:CONTAINER/NAME fetches (conditional, capped) and directory listings.</summary>
public sealed class BlobSourceReaderTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private async Task<(BlobSourceReader Reader, BlobObjectStore Uploads)> SetupAsync(string hint, RecordingHandler? handler = null)
    {
        var uploads = azurite.Store(hint);
        await uploads.PutAsync("ca/crl.pem", "crl v1"u8.ToArray(), None);
        return (new BlobSourceReader(azurite.Service(azurite.Options(handler))), uploads);
    }

    [Fact]
    public async Task Fetch_is_conditional_on_the_previous_etag()
    {
        var handler = new RecordingHandler();
        var (reader, uploads) = await SetupAsync("fetch", handler);
        string location = $"blob:{uploads.Container}/ca/crl.pem";

        var first = await reader.FetchAsync(location, null, 1000, None);
        Assert.False(first.NotModified);
        Assert.Equal("crl v1"u8.ToArray(), first.Content);
        Assert.NotNull(first.Validators?.ETag);
        Assert.NotNull(first.Validators?.LastModified);

        var second = await reader.FetchAsync(location, first.Validators, 1000, None);
        Assert.True(second.NotModified);
        Assert.Null(second.Content);
        Assert.Equal(first.Validators!.ETag, second.Validators!.ETag);
        Assert.Equal(first.Validators.ETag, handler.Tries.Last().Headers["If-None-Match"]);
        Assert.Equal(System.Net.HttpStatusCode.NotModified, handler.Tries.Last().Status);

        await uploads.PutAsync("ca/crl.pem", "crl v2"u8.ToArray(), None);
        var third = await reader.FetchAsync(location, first.Validators, 1000, None);
        Assert.False(third.NotModified);
        Assert.Equal("crl v2"u8.ToArray(), third.Content);
        Assert.NotEqual(first.Validators.ETag, third.Validators!.ETag);
    }

    [Fact]
    public async Task Missing_blobs_containers_and_oversized_blobs_are_source_errors()
    {
        var (reader, uploads) = await SetupAsync("errors");
        var missing = await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync($"blob:{uploads.Container}/ca/none.pem", null, 1000, None));
        Assert.Contains("no such blob", missing.Message, StringComparison.Ordinal);
        Assert.Contains("BlobNotFound", missing.Message, StringComparison.Ordinal);
        var container = await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync("blob:no-such-container/x", null, 1000, None));
        Assert.Contains("ContainerNotFound", container.Message, StringComparison.Ordinal);
        var cap = await Assert.ThrowsAsync<SourceException>(() => reader.FetchAsync($"blob:{uploads.Container}/ca/crl.pem", null, 3, None));
        Assert.Contains("cap", cap.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<SourceException>(() => reader.ListAsync("blob:no-such-container/issued/", None).ToListAsync().AsTask());
    }

    [Fact]
    public async Task List_returns_the_names_directly_under_the_prefix_relative_to_it()
    {
        var (reader, uploads) = await SetupAsync("list");
        foreach (var name in new[] { "issued/01", "issued/0A1B", "issued/old/02", "issuedx/03", "other/04" })
            await uploads.PutAsync(name, ReadOnlyMemory<byte>.Empty, None);
        Assert.Equal(["01", "0A1B"], (await reader.ListAsync($"blob:{uploads.Container}/issued/", None).ToListAsync()).Order(StringComparer.Ordinal));
        Assert.Equal(["01", "0A1B"], (await reader.ListAsync($"blob:{uploads.Container}/issued", None).ToListAsync()).Order(StringComparer.Ordinal));
        Assert.Empty(await reader.ListAsync($"blob:{uploads.Container}/empty/", None).ToListAsync());
    }

    [Theory]
    [InlineData("blob:ocsp-sources/ca/crl.pem", true)]
    [InlineData("BLOB:ocsp-sources/issued/", true)]
    [InlineData("blob:Bad_Container/x", false)]
    [InlineData("blob:ocsp/../x", false)]
    [InlineData("/var/ca/crl.pem", false)]
    [InlineData("https://ca.example/crl.pem", false)]
    public void CanRead_recognizes_blob_locations(string location, bool expected) =>
        Assert.Equal(expected, new BlobSourceReader(azurite.Service()).CanRead(location));

    [Fact]
    public async Task A_composite_reader_sends_blob_locations_here_and_paths_to_the_file_reader()
    {
        var (reader, uploads) = await SetupAsync("composite");
        string file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "local");
            var composite = new CompositeSourceReader([reader, new FileSourceReader()]);
            Assert.Equal("crl v1"u8.ToArray(), (await composite.FetchAsync($"blob:{uploads.Container}/ca/crl.pem", null, 100, None)).Content);
            Assert.Equal("local"u8.ToArray(), (await composite.FetchAsync(file, null, 100, None)).Content);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
