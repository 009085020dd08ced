using System.Globalization;
using System.Text;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

/// <summary>The serial index text format and the directory store's writes.</summary>
public sealed class StoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ocspfunctions-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static IssuerIndex SampleIndex()
    {
        var index = new IssuerIndex();
        index.Entries[SerialNumber.ParseHex("01")] = new IndexEntry(CertStatusKind.Good, -1, null, 1_700_000_000, 1_700_345_600);
        index.Entries[SerialNumber.ParseHex("7FEDCBA9876543210011223344556677")] =
            new IndexEntry(CertStatusKind.Revoked, 1_650_000_000, RevocationReason.KeyCompromise, 1_700_000_060, 1_700_345_660);
        index.Entries[SerialNumber.ParseHex("00A0")] = new IndexEntry(CertStatusKind.Revoked, -86_400, null, 0, 9_999_999_999);
        index.Entries[SerialNumber.ParseHex("0ABC")] = new IndexEntry(CertStatusKind.Unknown, -1, RevocationReason.AaCompromise, 5, 6);
        index.Entries[SerialNumber.ParseHex("FF")] = new IndexEntry(CertStatusKind.Revoked, 0, RevocationReason.CertificateHold, long.MaxValue, long.MinValue);
        return index;
    }

    [Fact]
    public void Index_serializes_to_the_documented_tab_separated_text()
    {
        var index = SampleIndex();
        var expected = new StringBuilder("# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\n");
        foreach (var (serial, e) in index.Entries)
        {
            expected.Append(serial.ToString()).Append('\t')
                .Append(e.Status switch { CertStatusKind.Good => 'G', CertStatusKind.Revoked => 'R', _ => 'U' }).Append('\t')
                .Append(e.Status == CertStatusKind.Revoked ? e.RevocationTime.ToString(CultureInfo.InvariantCulture) : "-").Append('\t')
                .Append(e.Reason is { } r ? ((int)r).ToString(CultureInfo.InvariantCulture) : "-").Append('\t')
                .Append(e.ThisUpdate.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(e.NextUpdate.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        Assert.Equal(expected.ToString(), Encoding.ASCII.GetString(index.Serialize()));
        Assert.Equal("# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\n"u8.ToArray(), new IssuerIndex().Serialize());
    }

    [Fact]
    public void Index_round_trips()
    {
        var index = SampleIndex();
        var parsed = IssuerIndex.Parse(index.Serialize(), "index");
        Assert.Equal(index.Entries.Count, parsed.Entries.Count);
        foreach (var (serial, e) in index.Entries)
        {
            var back = parsed.Entries[serial];
            Assert.Equal(e.Status, back.Status);
            Assert.Equal(e.ThisUpdate, back.ThisUpdate);
            Assert.Equal(e.NextUpdate, back.NextUpdate);
            Assert.Equal(e.Reason, back.Reason);
            if (e.Status == CertStatusKind.Revoked) Assert.Equal(e.RevocationTime, back.RevocationTime);
        }
    }

    [Theory]
    [InlineData("0x01:AB\tG\t-\t-\t1\t2\n", "01AB")]
    [InlineData("  00ab  \tG\t-\t-\t1\t2\n", "AB")]
    public void Index_serials_are_read_like_operator_hex(string line, string expected)
    {
        var parsed = IssuerIndex.Parse(Encoding.ASCII.GetBytes(line), "index");
        Assert.Equal(expected, Assert.Single(parsed.Entries).Key.ToString());
    }

    [Theory]
    [InlineData("0G\t")]
    [InlineData("\u00A001")]
    [InlineData("")]
    public void Index_refuses_a_bad_serial(string serial)
    {
        var bytes = Encoding.UTF8.GetBytes(serial + "\tG\t-\t-\t1\t2\n");
        var e = Assert.Throws<StoreException>(() => IssuerIndex.Parse(bytes, "index"));
        Assert.Contains("line 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_writes_replace_atomically_and_leave_no_temporary_files()
    {
        var store = new FileSystemObjectStore(_dir);
        await store.PutAsync("responses/sha1/AB/01", "one"u8.ToArray(), CancellationToken.None);
        await store.PutAsync("responses/sha1/AB/01", "two!"u8.ToArray(), CancellationToken.None);
        await store.PutAsync("responses/sha1/AB/02", ReadOnlyMemory<byte>.Empty, CancellationToken.None);
        Assert.Equal("two!"u8.ToArray(), (await store.GetAsync("responses/sha1/AB/01", CancellationToken.None))!.Content);
        Assert.Empty((await store.GetAsync("responses/sha1/AB/02", CancellationToken.None))!.Content);
        Assert.Equal(["01", "02"], Directory.GetFiles(Path.Combine(_dir, "responses", "sha1", "AB")).Select(f => Path.GetFileName(f)).Order());
    }

    [Fact]
    public async Task Store_recreates_a_directory_deleted_behind_its_back()
    {
        var store = new FileSystemObjectStore(_dir);
        await store.PutAsync("issuers/X/index.tsv", "a"u8.ToArray(), CancellationToken.None);
        Directory.Delete(Path.Combine(_dir, "issuers"), recursive: true);
        await store.PutAsync("issuers/X/index.tsv", "b"u8.ToArray(), CancellationToken.None);
        Assert.Equal("b"u8.ToArray(), (await store.GetAsync("issuers/X/index.tsv", CancellationToken.None))!.Content);
    }

    [Fact]
    public async Task Store_write_failures_are_store_exceptions_and_cancellation_writes_nothing()
    {
        var store = new FileSystemObjectStore(_dir);
        // A directory where the object should go: the rename fails.
        Directory.CreateDirectory(Path.Combine(_dir, "a", "b"));
        await Assert.ThrowsAsync<StoreException>(() => store.PutAsync("a/b", "x"u8.ToArray(), CancellationToken.None));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "a")));
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("../escape", "x"u8.ToArray(), CancellationToken.None));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("c/d", "x"u8.ToArray(), cancelled.Token));
        Assert.Null(await store.GetAsync("c/d", CancellationToken.None));
    }
}
