using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Serving;

/// <summary>
/// <see cref="StoreResponseSource"/> over a refreshed directory store, without HTTP: following the index it holds to
/// packs that a newer publication retired and deleted, and refusing to answer from a pack that is gone or damaged.
/// </summary>
[Collection("pki")]
public sealed class ResponseSourceTests(TestPki pki)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private sealed class Setup(CaWorkspace ca, OcspOptions options)
    {
        public CaWorkspace Ca => ca;
        public FileSystemObjectStore Store { get; } = new(ca.StorePath);
        public OcspIssuer Issuer { get; } = new(X509CertificateLoader.LoadCertificateFromFile(ca.CaCertPath));
        public IReadOnlyList<TestLeaf> Leaves => ca.Source.Leaves;

        public async Task RefreshAsync(DateTimeOffset now)
        {
            var report = await new RefreshEngine(options, Store, new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
                new FixedTime(now), NullLogger<RefreshEngine>.Instance).RunAsync(None);
            Assert.True(report.Succeeded, string.Join("; ", report.Issuers.SelectMany(i => i.Errors)));
        }

        public StoreResponseSource Source(IObjectStore? store = null) => new([Issuer], store ?? Store, options, TimeProvider.System, NullLogger.Instance);

        public CertId CertId(TestLeaf leaf, CertIdHashAlgorithm algorithm = CertIdHashAlgorithm.Sha1) =>
            Issuer.CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), algorithm);

        public IndexEntry Entry(TestLeaf leaf) =>
            ShardedIndexStore.ReadAllAsync(Store, Issuer.KeyHashHex, CancellationToken.None).GetAwaiter().GetResult().Entries[SerialNumber.ParseHex(leaf.SerialHex)];

        public string PackPath(string pack) => Path.Combine(Store.Root, StoreLayout.Pack(Issuer.KeyHashHex, pack));
    }

    private Setup Create(string hint)
    {
        var ca = new CaWorkspace(pki, pki.EcCa, hint);
        var options = ca.Options(hint);
        options.Serve.IndexReloadInterval = TimeSpan.FromHours(1); // the source keeps the index it loaded
        return new Setup(ca, options);
    }

    [Fact]
    public async Task A_pack_deleted_after_a_newer_publication_makes_the_source_load_the_new_index()
    {
        var s = Create("source-reload");
        var start = DateTimeOffset.UtcNow;
        await s.RefreshAsync(start);
        var source = s.Source();
        var first = await source.LookupAsync(s.CertId(s.Leaves[0]), None);
        Assert.Equal(LookupOutcome.Found, first.Outcome);
        Assert.Equal(TimingPolicy.ThisUpdate(start), first.Response!.ThisUpdate);
        var oldPacks = s.Leaves.Select(l => s.Entry(l).Pack).Distinct().ToList();

        // Everything is re-signed into new packs: the source still holds the old index and reads the old (retired) packs.
        var resigned = start.AddHours(12).AddMinutes(2);
        await s.RefreshAsync(resigned);
        Assert.DoesNotContain(s.Entry(s.Leaves[0]).Pack, oldPacks);
        var stale = await source.LookupAsync(s.CertId(s.Leaves[1]), None);
        Assert.Equal(LookupOutcome.Found, stale.Outcome);
        Assert.Equal(TimingPolicy.ThisUpdate(start), stale.Response!.ThisUpdate);

        // The old packs are deleted (as after the retention), well within the source's reload interval.
        foreach (var pack in oldPacks) File.Delete(s.PackPath(pack));
        foreach (var leaf in s.Leaves.Skip(2))
        {
            var lookup = await source.LookupAsync(s.CertId(leaf, CertIdHashAlgorithm.Sha256), None);
            Assert.Equal(LookupOutcome.Found, lookup.Outcome);
            Assert.Equal(TimingPolicy.ThisUpdate(resigned), lookup.Response!.ThisUpdate);
            Assert.Equal((await StoredResponses.FindAsync(s.Store, s.Issuer, leaf.SerialHex, CertIdHashAlgorithm.Sha256))!.Der, lookup.Response.Der);
            var single = OcspResponse.Decode(lookup.Response.Der).Basic!.Responses.Single();
            Assert.Equal(SerialNumber.ParseHex(leaf.SerialHex), single.CertId.SerialNumber);
            Assert.Equal(leaf.IsRevoked ? CertStatusKind.Revoked : CertStatusKind.Good, single.Status.Kind);
        }
        // Responses cached from the old index are replaced: their entries changed.
        foreach (var leaf in s.Leaves.Take(2))
            Assert.Equal(TimingPolicy.ThisUpdate(resigned), (await source.LookupAsync(s.CertId(leaf), None)).Response!.ThisUpdate);
    }

    [Fact]
    public async Task A_pack_missing_although_the_current_index_refers_to_it_is_a_store_error()
    {
        var s = Create("source-missing-pack");
        await s.RefreshAsync(DateTimeOffset.UtcNow);
        var leaf = s.Leaves[0];
        var entry = s.Entry(leaf);
        File.Delete(s.PackPath(entry.Pack));
        var source = s.Source();
        foreach (var algorithm in new[] { CertIdHashAlgorithm.Sha1, CertIdHashAlgorithm.Sha256 })
        {
            var e = await Assert.ThrowsAsync<StoreException>(() => source.LookupAsync(s.CertId(leaf, algorithm), None).AsTask());
            Assert.Contains(entry.Pack, e.Message, StringComparison.Ordinal);
        }
        // Still no answer once the index is reloaded (the manifest is unchanged, so it is the same index).
        await Assert.ThrowsAsync<StoreException>(() => s.Source().LookupAsync(s.CertId(leaf), None).AsTask());
    }

    [Fact]
    public async Task A_damaged_pack_is_a_store_error_not_an_answer()
    {
        var s = Create("source-damaged-pack");
        await s.RefreshAsync(DateTimeOffset.UtcNow);
        var entries = s.Leaves.Select(l => (Leaf: l, Entry: s.Entry(l))).ToList();
        var pack = entries[0].Entry.Pack;
        var inPack = entries.Where(e => e.Entry.Pack == pack).OrderBy(e => e.Entry.Offset).ToList();
        Assert.True(inPack.Count >= 2, "the test needs two records in one pack");
        var (garbled, truncated) = (inPack[0], inPack[^1]);

        // One record overwritten with well-formed DER that is not an OCSPResponse; the pack cut short inside the last one.
        var content = File.ReadAllBytes(s.PackPath(pack));
        for (long i = garbled.Entry.Offset; i < garbled.Entry.Offset + garbled.Entry.Length - 1; i += 2)
            (content[i], content[i + 1]) = ((byte)0x05, (byte)0x00); // NULL, NULL, ...
        File.WriteAllBytes(s.PackPath(pack), content.AsSpan(0, checked((int)(truncated.Entry.Offset + truncated.Entry.Length - 1))).ToArray());

        var source = s.Source();
        var malformed = await Assert.ThrowsAsync<StoreException>(() => source.LookupAsync(s.CertId(garbled.Leaf), None).AsTask());
        Assert.Contains("unreadable", malformed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<StoreException>(() => source.LookupAsync(s.CertId(truncated.Leaf), None).AsTask());
        // Records in between are intact and still served.
        foreach (var (leaf, _) in inPack.Skip(1).SkipLast(1))
            Assert.Equal(LookupOutcome.Found, (await source.LookupAsync(s.CertId(leaf), None)).Outcome);
    }

    /// <summary>Counts ranged reads (record and pack-header reads) on the way to a directory store.</summary>
    private sealed class CountingStore(IObjectStore inner) : ForwardingStore(inner)
    {
        public int RangedReads;

        public override Task<byte[]?> GetRangeAsync(string name, long offset, int length, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref RangedReads);
            return Inner.GetRangeAsync(name, offset, length, cancellationToken);
        }
    }

    /// <summary>
    /// An issued serial asked with a CertID hash algorithm that is not pre-signed (SHA-384 here) is unauthorized straight
    /// from the manifest's list: no store read, so such requests cannot make the server read records. A pre-signed one is
    /// read once, then served from the cache.
    /// </summary>
    [Fact]
    public async Task A_hash_algorithm_not_presigned_is_unauthorized_without_reading_the_store()
    {
        var s = Create("source-algorithms");
        await s.RefreshAsync(DateTimeOffset.UtcNow);
        var counting = new CountingStore(s.Store);
        var source = s.Source(counting);

        for (int i = 0; i < 3; i++)
            Assert.Equal(LookupOutcome.Unauthorized, (await source.LookupAsync(s.CertId(s.Leaves[0], CertIdHashAlgorithm.Sha384), None)).Outcome);
        Assert.Equal(0, counting.RangedReads);

        for (int i = 0; i < 3; i++)
        {
            var found = await source.LookupAsync(s.CertId(s.Leaves[0], CertIdHashAlgorithm.Sha256), None);
            Assert.Equal(LookupOutcome.Found, found.Outcome);
            Assert.Equal(CertIdHashAlgorithm.Sha256, OcspResponse.Decode(found.Response!.Der).Basic!.Responses[0].CertId.HashAlgorithm);
        }
        Assert.Equal(3, counting.RangedReads); // header tag + length, header, record; then the cache
    }
}
