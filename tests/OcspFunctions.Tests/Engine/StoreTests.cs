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

    private const string PackA = "20250101T000000Z-0123456789ab";
    private const string PackB = "20250102T120000Z-ba9876543210";

    private static IssuerIndex SampleIndex()
    {
        var index = new IssuerIndex();
        index.Entries[SerialNumber.ParseHex("01")] = new IndexEntry(CertStatusKind.Good, -1, null, 1_700_000_000, 1_700_345_600, PackA, 0, 1_234);
        index.Entries[SerialNumber.ParseHex("7FEDCBA9876543210011223344556677")] =
            new IndexEntry(CertStatusKind.Revoked, 1_650_000_000, RevocationReason.KeyCompromise, 1_700_000_060, 1_700_345_660, PackB, 16_777_000, 987);
        index.Entries[SerialNumber.ParseHex("00A0")] = new IndexEntry(CertStatusKind.Revoked, -86_400, null, 0, 9_999_999_999, PackA, 1_234, 1);
        index.Entries[SerialNumber.ParseHex("0ABC")] = new IndexEntry(CertStatusKind.Unknown, -1, RevocationReason.AaCompromise, 5, 6, PackB, 0, 2_000);
        index.Entries[SerialNumber.ParseHex("FF")] =
            new IndexEntry(CertStatusKind.Revoked, 0, RevocationReason.CertificateHold, long.MaxValue, long.MinValue, PackA, 5_000_000_000, int.MaxValue);
        return index;
    }

    private const string Header = "# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\tpack\toffset\tlength\n";

    [Fact]
    public void Index_serializes_to_the_documented_tab_separated_text()
    {
        var index = SampleIndex();
        var expected = new StringBuilder(Header);
        // Packs numbered in order of first use.
        expected.Append("!pack\t0\t").Append(PackA).Append('\n').Append("!pack\t1\t").Append(PackB).Append('\n');
        foreach (var (serial, e) in index.Entries)
        {
            expected.Append(serial.ToString()).Append('\t')
                .Append(e.Status switch { CertStatusKind.Good => 'G', CertStatusKind.Revoked => 'R', _ => 'U' }).Append('\t')
                .Append(e.Status == CertStatusKind.Revoked ? e.RevocationTime.ToString(CultureInfo.InvariantCulture) : "-").Append('\t')
                .Append(e.Reason is { } r ? ((int)r).ToString(CultureInfo.InvariantCulture) : "-").Append('\t')
                .Append(e.ThisUpdate.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(e.NextUpdate.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(e.Pack == PackA ? '0' : '1').Append('\t')
                .Append(e.Offset.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(e.Length.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        Assert.Equal(expected.ToString(), Encoding.ASCII.GetString(index.Serialize()));
        Assert.Equal(Encoding.ASCII.GetBytes(Header), new IssuerIndex().Serialize());
    }

    [Fact]
    public void Index_round_trips()
    {
        var index = SampleIndex();
        var parsed = IssuerIndex.Parse(index.Serialize(), "index");
        Assert.Equal(index.Entries.Count, parsed.Entries.Count);
        foreach (var (serial, e) in index.Entries) Assert.Equal(e, parsed.Entries[serial]);
        Assert.Equal(new[] { PackA, PackB }, parsed.Packs().Order(StringComparer.Ordinal));
        Assert.Empty(IssuerIndex.Parse(new IssuerIndex().Serialize(), "index").Entries);
    }

    [Theory]
    [InlineData("bad\tname")]
    [InlineData("bad\nname")]
    [InlineData("")]
    public void Index_refuses_to_write_a_pack_name_it_could_not_read_back(string pack)
    {
        var index = new IssuerIndex();
        index.Entries[SerialNumber.ParseHex("01")] = new IndexEntry(CertStatusKind.Good, -1, null, 1, 2, pack, 0, 1);
        Assert.Throws<InvalidOperationException>(() => index.Serialize());
    }

    [Theory]
    [InlineData("0x01:AB\tG\t-\t-\t1\t2\t0\t0\t5\n", "01AB")]
    [InlineData("  00ab  \tG\t-\t-\t1\t2\t0\t0\t5\n", "AB")]
    public void Index_serials_are_read_like_operator_hex(string line, string expected)
    {
        var parsed = IssuerIndex.Parse(Encoding.ASCII.GetBytes("!pack\t0\tp\n" + line), "index");
        var (serial, entry) = Assert.Single(parsed.Entries);
        Assert.Equal(expected, serial.ToString());
        Assert.Equal(("p", 0L, 5), (entry.Pack, entry.Offset, entry.Length));
    }

    [Theory]
    [InlineData("0G\t")]
    [InlineData("\u00A001")]
    [InlineData("")]
    public void Index_refuses_a_bad_serial(string serial)
    {
        var bytes = Encoding.UTF8.GetBytes("!pack\t0\tp\n" + serial + "\tG\t-\t-\t1\t2\t0\t0\t5\n");
        var e = Assert.Throws<StoreException>(() => IssuerIndex.Parse(bytes, "index"));
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("01\tG\t-\t-\t1\t2\t1\t0\t5\n", "pack 1 is not declared")]    // only pack 0 is declared
    [InlineData("01\tG\t-\t-\t1\t2\t0\t-\t5\n", "bad response range")]        // no offset
    [InlineData("01\tG\t-\t-\t1\t2\t0\t0\t0\n", "bad response range")]        // empty record
    [InlineData("01\tG\t-\t-\t1\t2\t0\t0\t2147483648\n", "bad response range")] // longer than a read can be
    [InlineData("01\tG\t-\t-\t1\t2\n", "run refresh to re-sign every serial")]    // the old per-response layout
    [InlineData("01\tG\t-\t-\t1\t2\t0\t0\n", "9 tab-separated fields")]
    [InlineData("01\tG\t-\t-\t1\t2\t0\t0\tx\n", "bad number")]
    [InlineData("!pack\t0\tq\n", "bad pack line")]                                   // pack number declared twice
    [InlineData("!pack\tx\tq\n", "bad number")]
    [InlineData("!pack\t1\t\n", "bad pack line")]                                    // no name
    public void Index_refuses_lines_that_do_not_locate_a_record(string line, string message)
    {
        var e = Assert.Throws<StoreException>(() => IssuerIndex.Parse(Encoding.ASCII.GetBytes("!pack\t0\tp\n" + line), "index.tsv"));
        Assert.Contains("index.tsv line 2", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_writes_replace_atomically_and_leave_no_temporary_files()
    {
        var store = new FileSystemObjectStore(_dir);
        await store.PutAsync("issuers/AB/packs/01", "one"u8.ToArray(), CancellationToken.None);
        await store.PutAsync("issuers/AB/packs/01", "two!"u8.ToArray(), CancellationToken.None);
        await store.PutAsync("issuers/AB/packs/02", ReadOnlyMemory<byte>.Empty, CancellationToken.None);
        Assert.Equal("two!"u8.ToArray(), (await store.GetAsync("issuers/AB/packs/01", CancellationToken.None))!.Content);
        Assert.Empty((await store.GetAsync("issuers/AB/packs/02", CancellationToken.None))!.Content);
        Assert.Equal(["01", "02"], Directory.GetFiles(Path.Combine(_dir, "issuers", "AB", "packs")).Select(f => Path.GetFileName(f)).Order());
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
