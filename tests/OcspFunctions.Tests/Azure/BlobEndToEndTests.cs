using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Hosting;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// The whole flow on Blob storage (Azurite): the CA side uploads its certificate, the responder certificate, the
/// CRL and the Windows issued-serials layout (one empty blob per serial); the refresh reads them through
/// <see cref="BlobSourceReader"/> and writes responses into a <see cref="BlobObjectStore"/>; the Kestrel host serves
/// from that store and <c>openssl ocsp -respin</c> verifies what it answers.
/// </summary>
[Collection("pki")]
public sealed class BlobEndToEndTests(TestPki pki, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly HttpClient Http = new();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Refresh_from_blob_sources_into_blob_storage_then_serve_what_openssl_verifies(bool rsa)
    {
        var ca = new CaWorkspace(pki, rsa ? pki.RsaCa : pki.EcCa, rsa ? "blob-e2e-rsa" : "blob-e2e-ec");
        var uploads = azurite.Store("ca-uploads");
        string Blob(string name) => $"blob:{uploads.Container}/{name}";
        await uploads.PutAsync("ca/ca.pem", await File.ReadAllBytesAsync(ca.CaCertPath), None);
        await uploads.PutAsync("ca/responder.pem", await File.ReadAllBytesAsync(ca.ResponderCertPath), None);
        await uploads.PutAsync("ca/crl.pem", await File.ReadAllBytesAsync(ca.CrlPath), None);
        var serials = File.ReadAllLines(ca.IndexPath).Where(l => l.Length > 0).Select(l => l.Split('\t')[3]).ToList();
        foreach (var serial in serials) await uploads.PutAsync($"ca/issued/{serial}", ReadOnlyMemory<byte>.Empty, None);

        var options = new OcspOptions
        {
            Timing = { Validity = TimeSpan.FromDays(1) },
            Serve = { IndexReloadInterval = TimeSpan.Zero },
            Issuers =
            {
                new IssuerOptions
                {
                    Name = "blob",
                    Certificate = Blob("ca/ca.pem"),
                    Crls = { Blob("ca/crl.pem") },
                    IssuedSerials = Blob("ca/issued/"),
                    IssuedSerialsFormat = IssuedSerialsFormat.WindowsDirectory,
                    Responder = { Certificate = Blob("ca/responder.pem"), Key = ca.ResponderKeyPath },
                },
            },
        };
        // The host's own wiring: a Blob store, and blob: sources next to file and http ones.
        var configuration = OcspConfiguration.ForOptions(options,
            new BlobStoreOptions { BlobConnectionString = azurite.ConnectionString, BlobContainer = azurite.NewContainer("ocsp") });
        var store = Composition.CreateStore(configuration);
        using var http = new HttpClient();
        var sources = Composition.CreateSources(configuration, http);
        RefreshEngine Engine() => new(options, store, sources, new LocalKeySignerFactory(), TimeProvider.System, NullLogger<RefreshEngine>.Instance);

        var report = await Engine().RunAsync(None);
        var result = Assert.Single(report.Issuers);
        Assert.True(report.Succeeded, string.Join("; ", result.Errors));
        Assert.True(result.Deterministic);
        Assert.Equal(serials.Count, result.Changed);
        var issuer = new OcspIssuer(ca.Source.Certificate);
        Assert.NotNull(await store.GetAsync(StoreLayout.Manifest(issuer.KeyHashHex), None));
        // Every issued serial is in the index, whose packs are all stored as blobs, and a response is found through it.
        var index = await ShardedIndexStore.ReadAllAsync(store, issuer.KeyHashHex, None);
        Assert.Equal(serials.Select(SerialNumber.ParseHex).Order(), index.Entries.Keys.Order());
        var packs = await store.ListAsync(StoreLayout.Packs(issuer.KeyHashHex), None).ToListAsync();
        Assert.NotEmpty(packs);
        Assert.Equal(index.Packs().Select(p => StoreLayout.Pack(issuer.KeyHashHex, p)).Order(StringComparer.Ordinal), packs.Order(StringComparer.Ordinal));
        Assert.Equal(packs.Count, result.PacksWritten);
        foreach (var leaf in ca.Source.Leaves)
        {
            var found = await ResponsePacks.FindAsync(store, issuer.KeyHashHex, SerialNumber.ParseHex(leaf.SerialHex), CertIdHashAlgorithm.Sha256, None);
            Assert.NotNull(found);
            Assert.Equal(CertIdHashAlgorithm.Sha256, found.Value.Response.Single.CertId.HashAlgorithm);
            Assert.Equal(leaf.IsRevoked ? CertStatusKind.Revoked : CertStatusKind.Good, found.Value.Response.Single.Status.Kind);
        }

        // Nothing changed on the CA side: nothing is signed again.
        var idle = Assert.Single((await Engine().RunAsync(None)).Issuers);
        Assert.True(idle.Succeeded, string.Join("; ", idle.Errors));
        Assert.Equal(0, idle.ResponsesSigned);

        // A revocation uploaded as a new CRL re-signs that serial.
        var victim = ca.Source.Good.First();
        ca.Revoke(ca.LeafPath(victim.Name), "keyCompromise");
        ca.GenerateCrl();
        await uploads.PutAsync("ca/crl.pem", await File.ReadAllBytesAsync(ca.CrlPath), None);
        var revoked = Assert.Single((await Engine().RunAsync(None)).Issuers);
        Assert.True(revoked.Succeeded, string.Join("; ", revoked.Errors));
        Assert.Equal(1, revoked.Changed);

        // Serve from the Blob store; the host reads the CA certificate from its blob too.
        var app = await ResponderHost.BuildAsync(configuration, ["http://127.0.0.1:0"], None);
        await app.StartAsync();
        try
        {
            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            foreach (var leaf in ca.Source.Leaves)
            {
                var request = pki.MakeRequest("-issuer", ca.CaCertPath, "-cert", leaf.CertPath, "-no_nonce");
                using var content = new ByteArrayContent(request);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
                using var post = await Http.PostAsync(url + "/", content);
                Assert.Equal(HttpStatusCode.OK, post.StatusCode);
                string file = Path.Combine(ca.Directory, $"resp-{leaf.Name}.der");
                await File.WriteAllBytesAsync(file, await post.Content.ReadAsByteArrayAsync());
                var verify = OpenSsl.Run(ca.Directory, ["ocsp", "-respin", file, "-issuer", ca.CaCertPath, "-CAfile", ca.CaCertPath, "-cert", leaf.CertPath], check: false);
                Assert.Contains("Response verify OK", verify.Output, StringComparison.Ordinal);
                bool isRevoked = leaf.IsRevoked || leaf.Name == victim.Name;
                Assert.Contains(isRevoked ? ": revoked" : ": good", verify.StdOut, StringComparison.Ordinal);
                if (leaf.Name == victim.Name) Assert.Contains("Reason: keyCompromise", verify.StdOut, StringComparison.Ordinal);
            }

            // GET form, too; and a serial the CA never issued is unauthorized.
            var good = ca.Source.Good.First(l => l.Name != victim.Name);
            using var get = await Http.GetAsync(url + "/" + OcspGetPath.Encode(pki.MakeRequest("-issuer", ca.CaCertPath, "-cert", good.CertPath, "-no_nonce")));
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            var single = OcspResponse.Decode(await get.Content.ReadAsByteArrayAsync()).Basic!.Responses.Single();
            Assert.Equal(CertStatusKind.Good, single.Status.Kind);
            using var unknownContent = new ByteArrayContent(pki.MakeRequest("-issuer", ca.CaCertPath, "-serial", "0x0BADC0FFEE", "-no_nonce"));
            unknownContent.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
            using var unknown = await Http.PostAsync(url + "/", unknownContent);
            Assert.Equal(OcspResponseStatus.Unauthorized, OcspResponse.Decode(await unknown.Content.ReadAsByteArrayAsync()).Status);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
