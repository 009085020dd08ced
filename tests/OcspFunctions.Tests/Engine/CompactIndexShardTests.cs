using System.Text;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// The compact in-memory shard (<see cref="IndexShard"/>): the same text as the dictionary writer, exact lookups for serials
/// of every length, its size, and the refresh's overlay of changes (<see cref="IndexEntries"/>) saved shard by shard.
/// </summary>
public sealed class CompactIndexShardTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Packs = ["20261101T000000Z-000000000001", "20261101T000000Z-000000000002", "20261102T120000Z-abcdef012345"];

    /// <summary>Random entries, serials of 1, 16, 20 and 21-32 bytes (canonical: no leading zero byte but a lone zero).</summary>
    private static List<KeyValuePair<SerialNumber, IndexEntry>> RandomEntries(int count, int seed, int? length = null)
    {
        var random = new Random(seed);
        var entries = new Dictionary<SerialNumber, IndexEntry>();
        int[] lengths = [1, 16, 16, 16, 20, 21, 32];
        while (entries.Count < count)
        {
            var bytes = new byte[length ?? lengths[random.Next(lengths.Length)]];
            random.NextBytes(bytes);
            var serial = SerialNumber.FromMagnitude(bytes);
            var status = (CertStatusKind)random.Next(3);
            long thisUpdate = 1_796_000_000 + random.Next(1_000_000);
            entries[serial] = new IndexEntry(status, status == CertStatusKind.Revoked ? 1_700_000_000 + random.Next(90_000_000) : -1,
                status == CertStatusKind.Revoked && random.Next(2) == 0 ? (RevocationReason)random.Next(11) : null,
                thisUpdate, thisUpdate + 604_800, Packs[random.Next(Packs.Length)], random.NextInt64(0, 200_000_000), random.Next(1, 3_000));
        }
        return [.. entries];
    }

    private static IssuerIndex InOrder(IEnumerable<KeyValuePair<SerialNumber, IndexEntry>> entries)
    {
        var index = new IssuerIndex();
        foreach (var (serial, entry) in entries.OrderBy(kv => kv.Key)) index.Entries[serial] = entry;
        return index;
    }

    [Fact]
    public void A_shard_serializes_byte_for_byte_as_the_dictionary_writer_and_parses_back()
    {
        var entries = RandomEntries(3_000, seed: 1);
        var shard = IndexShard.FromEntries(entries);
        var expected = InOrder(entries).Serialize();
        Assert.Equal(expected, shard.Serialize());
        Assert.Equal(expected, IndexShard.Parse(expected, "shard").Serialize());

        // A shard written in any order (as the dictionary writer did, before shards were sorted) reads the same.
        var shuffled = entries.OrderBy(kv => kv.Value.Offset).ToList();
        var unsorted = new IssuerIndex();
        foreach (var (serial, entry) in shuffled) unsorted.Entries[serial] = entry;
        var parsed = IndexShard.Parse(unsorted.Serialize(), "shard");
        Assert.Equal(expected, parsed.Serialize());
        Assert.Equal(entries.OrderBy(kv => kv.Key), parsed.Entries());
        Assert.Equal(Encoding.ASCII.GetBytes("# serial\tstatus\trevocationTime\treason\tthisUpdate\tnextUpdate\tpack\toffset\tlength\n"), IndexShard.Empty.Serialize());
    }

    [Fact]
    public void Lookups_find_present_serials_of_every_length_and_nothing_else()
    {
        var mixed = RandomEntries(2_000, seed: 2);
        var fixedLength = RandomEntries(2_000, seed: 3, length: 16);
        foreach (var entries in new[] { mixed, fixedLength })
        {
            var shard = IndexShard.Parse(InOrder(entries).Serialize(), "shard");
            var present = entries.Select(kv => kv.Key).ToHashSet();
            Assert.Equal(entries.Count, shard.Count);
            foreach (var (serial, entry) in entries)
            {
                Assert.True(shard.TryGet(serial, out var found));
                Assert.Equal(entry, found);
                Assert.Same(shard.Packs.Single(p => p == entry.Pack), found.Pack); // the shard's own string, not a copy
                // One byte more, one less, a neighbour: found exactly when listed.
                var neighbour = serial.Bytes.ToArray();
                neighbour[^1] ^= 0x01;
                foreach (var other in new[] { SerialNumber.FromMagnitude([.. serial.Bytes, 0x5A]), SerialNumber.FromMagnitude(serial.Bytes[..^1] is { IsEmpty: false } shorter ? shorter : [0x7F]),
                             SerialNumber.FromMagnitude(neighbour) })
                    Assert.Equal(present.Contains(other), shard.TryGet(other, out _));
            }
        }
    }

    [Fact]
    public void Leading_zeros_and_lower_case_in_the_text_name_the_canonical_serial_and_the_last_line_of_a_serial_counts()
    {
        string text = "!pack\t0\tp\n" +
                      "00A0\tG\t-\t-\t1\t2\t0\t0\t1\n" +
                      "0001\tG\t-\t-\t1\t2\t0\t0\t1\n" +
                      "7fedcba9876543210011223344556677\tR\t5\t1\t1\t2\t0\t10\t1\n" +
                      "a0\tR\t7\t-\t1\t2\t0\t20\t1\n" +
                      "0x0B\tU\t-\t-\t1\t2\t0\t30\t1\n";
        var shard = IndexShard.Parse(Encoding.ASCII.GetBytes(text), "shard");
        Assert.Equal(4, shard.Count);
        Assert.True(shard.TryGet(SerialNumber.ParseHex("A0"), out var a0));
        Assert.Equal(new IndexEntry(CertStatusKind.Revoked, 7, null, 1, 2, "p", 20, 1), a0);
        Assert.True(shard.TryGet(SerialNumber.ParseHex("01"), out _));
        Assert.True(shard.TryGet(SerialNumber.ParseHex("0B"), out _));
        Assert.True(shard.TryGet(SerialNumber.ParseHex("7FEDCBA9876543210011223344556677"), out var revoked));
        Assert.Equal(RevocationReason.KeyCompromise, revoked.Reason);
    }

    [Theory]
    [InlineData("0A1b", "0A1B")]
    [InlineData("abc", "0ABC")]          // odd count: the first digit is a byte of its own
    [InlineData("000f", "0F")]           // leading zero bytes dropped (canonical)
    [InlineData("0000", "00")]           // but a lone zero kept
    [InlineData("7", "07")]
    public void Plain_hex_fields_decode_to_the_canonical_magnitude(string field, string expected)
    {
        var destination = new byte[32];
        Assert.True(IndexText.TryParsePlainHex(Encoding.ASCII.GetBytes(field), destination, out int written));
        Assert.Equal(expected, Convert.ToHexString(destination, 0, written));
    }

    [Theory]
    [InlineData("0g")]
    [InlineData("a:b")]
    [InlineData("1 2")]
    [InlineData("x12")]
    [InlineData("")]
    public void Anything_but_plain_hex_digits_is_left_to_the_operator_parser(string field) =>
        Assert.False(IndexText.TryParsePlainHex(Encoding.ASCII.GetBytes(field), new byte[32], out _));

    [Fact]
    public void Values_a_record_cannot_hold_are_kept_exactly()
    {
        var entries = new Dictionary<SerialNumber, IndexEntry>
        {
            [SerialNumber.ParseHex("01")] = new(CertStatusKind.Good, -1, null, 1_700_000_000, 1_700_345_600, "a", 0, 1_234),
            [SerialNumber.ParseHex("00A0")] = new(CertStatusKind.Revoked, -86_400, null, 0, 9_999_999_999, "a", 1_234, 1),
            [SerialNumber.ParseHex("FF")] = new(CertStatusKind.Revoked, 0, RevocationReason.CertificateHold, long.MaxValue, long.MinValue, "b", 5_000_000_000, int.MaxValue),
            [SerialNumber.ParseHex("0ABC")] = new(CertStatusKind.Unknown, -1, RevocationReason.AaCompromise, 5, 6, "b", 0, 2_000),
        };
        var shard = IndexShard.Parse(InOrder(entries).Serialize(), "shard");
        foreach (var (serial, entry) in entries)
        {
            Assert.True(shard.TryGet(serial, out var found));
            Assert.Equal(entry, found);
        }
        Assert.Equal(InOrder(entries).Serialize(), shard.Serialize());
    }

    [Fact]
    public void A_shard_of_16_byte_serials_takes_at_most_48_bytes_an_entry()
    {
        var shard = IndexShard.FromEntries(RandomEntries(IndexShards.TargetEntries, seed: 4, length: 16));
        Assert.Equal(IndexShards.TargetEntries, shard.Count);
        double perEntry = (double)shard.ByteSize / shard.Count;
        Assert.InRange(perEntry, 16 + 24, 48); // the serial, its record, and the pack names and headers spread over the shard
    }

    [Fact]
    public async Task Overlay_changes_are_read_at_once_and_saved_only_for_the_shards_they_touch()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ocsp-compact-" + Guid.NewGuid().ToString("N"));
        var store = new FileSystemObjectStore(dir);
        try
        {
            const string id = "DD";
            var entries = RandomEntries(40_000, seed: 5);
            var manifest = new IssuerManifest { IssuerId = id };
            var loaded = await ShardedIndexStore.LoadAsync(store, id, manifest, T0, TimeSpan.FromHours(1), None);
            foreach (var (serial, entry) in entries) loaded.Index.Entries[serial] = entry;
            Assert.Equal(8, await loaded.SaveChangedAsync(manifest, T0, None));

            loaded = await ShardedIndexStore.LoadAsync(store, id, manifest, T0, TimeSpan.FromHours(1), None);
            var index = loaded.Index.Entries;
            // Setting an entry to what it already is changes nothing.
            foreach (var (serial, entry) in entries.Take(100)) index[serial] = entry;
            Assert.Equal(0, await loaded.SaveChangedAsync(manifest, T0, None));

            var (changed, before) = entries[10];
            var (removed, _) = entries[20];
            var added = SerialNumber.ParseHex("0102030405060708090A0B0C0D0E0F10");
            var addedThenRemoved = SerialNumber.ParseHex("AAAA"); // no random serial is 2 bytes long
            index[changed] = before with { Status = CertStatusKind.Revoked, RevocationTime = 1_796_000_000, Reason = RevocationReason.KeyCompromise };
            Assert.True(index.Remove(removed));
            Assert.False(index.Remove(removed));
            index[added] = before with { Pack = "a-new-pack" };
            index[addedThenRemoved] = before;
            Assert.True(index.Remove(addedThenRemoved));
            Assert.Equal(entries.Count, index.Count);
            Assert.Equal(CertStatusKind.Revoked, index[changed].Status);
            Assert.False(index.ContainsKey(removed));
            Assert.Equal(entries.Count, index.Count());
            Assert.Equal(entries.Count, index.Values.Count());
            Assert.Contains("a-new-pack", index.Packs());

            var versions = manifest.IndexShardVersions.ToArray();
            var touched = new[] { changed, removed, added, addedThenRemoved }.Select(s => IndexShards.ShardOf(s, 8)).Distinct().ToHashSet();
            Assert.Equal(touched.Count, await loaded.SaveChangedAsync(manifest, T0, None));
            // (A shard whose only change was undone is written again with the same content.)
            var different = new[] { changed, removed, added }.Select(s => IndexShards.ShardOf(s, 8)).ToHashSet();
            for (int k = 0; k < 8; k++) Assert.Equal(different.Contains(k), versions[k] != manifest.IndexShardVersions[k]);
            // Merged: the same entries read back, and a second save has nothing to write.
            Assert.Equal(0, await loaded.SaveChangedAsync(manifest, T0, None));
            var expected = entries.Where(kv => kv.Key != removed).ToDictionary();
            expected[changed] = index[changed];
            expected[added] = index[added];
            Assert.Equal(expected.OrderBy(kv => kv.Key), index.OrderBy(kv => kv.Key));
            await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), None);
            Assert.Equal(expected.OrderBy(kv => kv.Key), (await ShardedIndexStore.ReadAllAsync(store, id, None)).Entries.OrderBy(kv => kv.Key));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(50_000, 50_000, 8)]  // a first run: the entries go straight to the shards they are saved in
    [InlineData(100_000, 10, 1)]     // fewer serials than announced: saved under the count they need
    public async Task A_first_run_announcing_its_size_saves_under_the_count_its_entries_need(int announced, int count, int shards)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ocsp-compact-" + Guid.NewGuid().ToString("N"));
        var store = new FileSystemObjectStore(dir);
        try
        {
            const string id = "EE";
            var manifest = new IssuerManifest { IssuerId = id };
            var loaded = await ShardedIndexStore.LoadAsync(store, id, manifest, T0, TimeSpan.FromHours(1), None);
            loaded.Index.Entries.EnsureCapacity(announced);
            Assert.Equal(IndexShards.CountFor(announced, 0), loaded.Index.Entries.ShardCount);
            var entries = RandomEntries(count, seed: 6);
            foreach (var (serial, entry) in entries) loaded.Index.Entries[serial] = entry;
            Assert.Equal(shards, await loaded.SaveChangedAsync(manifest, T0, None));
            Assert.Equal(shards, manifest.IndexShards);
            await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), None);
            Assert.Equal(entries.OrderBy(kv => kv.Key), (await ShardedIndexStore.ReadAllAsync(store, id, None)).Entries.OrderBy(kv => kv.Key));
            foreach (var (serial, entry) in entries.Take(50))
                Assert.Equal(entry, await ShardedIndexStore.FindEntryAsync(store, id, serial, None));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
