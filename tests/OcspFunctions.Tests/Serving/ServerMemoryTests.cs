using System.Formats.Asn1;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;
using Xunit;

namespace OcspFunctions.Tests.Serving;

/// <summary>What bounds a server's memory: the response cache's counted bytes, pooled shard reads, certificates loaded on demand.</summary>
[Collection("pki")]
public sealed class ServerMemoryTests(TestPki pki)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public void The_default_bounds_leave_room_for_the_runtime_within_a_small_instance()
    {
        var serve = new OcspOptions().Serve;
        Assert.Equal(32L << 20, serve.CacheBytes);
        Assert.Equal(128L << 20, serve.IndexCacheBytes);
    }

    [Fact]
    public async Task The_response_cache_counts_what_an_entry_holds_and_stays_within_its_bound()
    {
        var s = RefreshSetup.Create(pki, "cache-bound");
        Assert.True((await s.RunAsync()).Succeeded);
        var serials = s.Ca.Source.Leaves.Select(l => SerialNumber.ParseHex(l.SerialHex)).ToList();
        Assert.True(serials.Count >= 3, $"{serials.Count} leaves");

        // One entry alone: counted at least at its DER, its ETag's characters and the objects around them.
        var probe = s.Source(TimeSpan.FromMinutes(1));
        var first = await probe.LookupAsync(s.Issuer.CertIdFor(serials[0], CertIdHashAlgorithm.Sha1), None);
        Assert.Equal(LookupOutcome.Found, first.Outcome);
        long one = probe.CachedResponseBytes;
        Assert.Equal(StoreResponseSource.CacheSize(serials[0], first.Response!), one);
        Assert.True(one >= first.Response!.Der.Length + 2L * first.Response.ETag.Length + 200, $"an entry counted as {one} bytes");

        // A bound of about two entries: every lookup still answered, the cache never past its bound.
        s.Options.Serve.CacheBytes = one * 2 + one / 2;
        var source = s.Source(TimeSpan.FromMinutes(1));
        foreach (var serial in serials)
        {
            var lookup = await source.LookupAsync(s.Issuer.CertIdFor(serial, CertIdHashAlgorithm.Sha1), None);
            Assert.Equal(LookupOutcome.Found, lookup.Outcome);
            Assert.Equal(serial, OcspResponse.Decode(lookup.Response!.Der).Basic!.Responses[0].CertId.SerialNumber);
            Assert.InRange(source.CachedResponseBytes, 1, s.Options.Serve.CacheBytes);
            Assert.InRange(source.CachedResponses, 1, 2);
        }
    }

    [Fact]
    public async Task The_file_store_lends_the_whole_object_to_the_parser_and_reads_nothing_for_a_missing_one()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ocsp-readasync-" + Guid.NewGuid().ToString("N"));
        try
        {
            IObjectStore store = new FileSystemObjectStore(dir);
            var content = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
            await store.PutAsync("a/big", content, None);
            Assert.Equal(content, await store.ReadAsync("a/big", span => span.ToArray(), None));
            await store.PutAsync("a/empty", Array.Empty<byte>(), None);
            var empty = await store.ReadAsync("a/empty", span => span.ToArray(), None);
            Assert.Empty(Assert.IsType<byte[]>(empty));
            Assert.Null(await store.ReadAsync("a/missing", span => span.ToArray(), None));
            // A parser's failure is the caller's (the buffer goes back to the pool all the same).
            await Assert.ThrowsAsync<StoreException>(() => store.ReadAsync<object>("a/big", _ => throw new StoreException("bad"), None));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_decoded_response_loads_its_certificates_only_when_asked_and_a_bad_one_is_malformed()
    {
        var s = RefreshSetup.Create(pki, "lazy-certs");
        Assert.True((await s.RunAsync()).Succeeded);
        var source = s.Source(TimeSpan.FromMinutes(1));
        var serial = SerialNumber.ParseHex(s.Ca.Source.Good.First().SerialHex);
        var der = (await source.LookupAsync(s.Issuer.CertIdFor(serial, CertIdHashAlgorithm.Sha1), None)).Response!.Der;
        var basic = OcspResponse.Decode(der).Basic!;
        Assert.Equal(s.Ca.Source.ResponderCertificate.RawData, Assert.Single(basic.Certificates).RawData);
        Assert.Same(basic.Certificates, basic.Certificates);

        // The same response whose certs field holds a SEQUENCE that is no certificate: decoded, refused when loaded.
        var outer = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        outer.ReadEnumeratedBytes();
        var bytes = outer.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence();
        bytes.ReadObjectIdentifier();
        var basicFields = new AsnReader(bytes.ReadOctetString(), AsnEncodingRules.DER).ReadSequence();
        var stored = new AsnWriter(AsnEncodingRules.DER);
        using (stored.PushSequence())
            for (int i = 0; i < 3; i++) stored.WriteEncodedValue(basicFields.ReadEncodedValue().Span);
        var bad = new AsnWriter(AsnEncodingRules.DER);
        using (bad.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
        using (bad.PushSequence())
        using (bad.PushSequence())
            bad.WriteInteger(1);
        var withBadCert = OcspResponseWriter.Wrap(stored.Encode(), bad.Encode());
        var decoded = OcspResponse.Decode(withBadCert).Basic!;
        Assert.Equal(serial, decoded.Responses[0].CertId.SerialNumber);
        Assert.Throws<MalformedResponseException>(() => decoded.Certificates);

        // Not even a SEQUENCE where a certificate belongs: the decode itself refuses it.
        var notSequence = new AsnWriter(AsnEncodingRules.DER);
        using (notSequence.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
        using (notSequence.PushSequence())
            notSequence.WriteInteger(1);
        Assert.Throws<MalformedResponseException>(() => OcspResponse.Decode(OcspResponseWriter.Wrap(stored.Encode(), notSequence.Encode())));
    }
}
