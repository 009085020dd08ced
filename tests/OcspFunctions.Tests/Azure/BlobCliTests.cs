using System.Text.Json;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Engine;
using OcspFunctions.Hosting;
using OcspFunctions.Tests.Pki;
using OcspResponder.Cli;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// The read verbs on an Azure-style configuration (Blob store, CA inputs as <c>blob:</c> locations) against Azurite: status and
/// staple read the CA certificate through the same source readers as refresh and serve, so <c>blob:</c> works everywhere.
/// </summary>
[Collection("pki")]
public sealed class BlobCliTests(TestPki pki, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Refresh_status_and_staple_read_blob_locations()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "blob-cli");
        string inputs = azurite.NewContainer("pki");
        var uploads = Composition.CreateStore(OcspConfiguration.ForOptions(new OcspOptions(),
            new BlobStoreOptions { BlobConnectionString = azurite.ConnectionString, BlobContainer = inputs }));
        await uploads.PutAsync("ca.pem", await File.ReadAllBytesAsync(ca.CaCertPath), None);
        await uploads.PutAsync("responder.pem", await File.ReadAllBytesAsync(ca.ResponderCertPath), None);
        await uploads.PutAsync("crl.pem", await File.ReadAllBytesAsync(ca.CrlPath), None);
        await uploads.PutAsync("index.txt", await File.ReadAllBytesAsync(ca.IndexPath), None);

        string config = Path.Combine(ca.Directory, "blob-cli.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Ocsp = new
            {
                Store = new { BlobConnectionString = azurite.ConnectionString, BlobContainer = azurite.NewContainer("ocsp") },
                Timing = new { Validity = "1.00:00:00" },
                Issuers = new[]
                {
                    new
                    {
                        Name = "blob-cli", Certificate = $"blob:{inputs}/ca.pem", Crls = new[] { $"blob:{inputs}/crl.pem" },
                        IssuedSerials = $"blob:{inputs}/index.txt",
                        Responder = new { Certificate = $"blob:{inputs}/responder.pem", Key = ca.ResponderKeyPath },
                    },
                },
            },
        }), None);

        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, await RefreshCommand.RunAsync(config, false, output, error, None));
        Assert.Equal(0, await StatusCommand.RunAsync(config, output, error, None));
        Assert.Contains("blob-cli (", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("cannot read CA certificate", output.ToString(), StringComparison.Ordinal);

        var leaf = ca.Source.Good.First();
        string stapled = Path.Combine(ca.Directory, "stapled.der");
        Assert.Equal(0, await StapleCommand.RunAsync(config, leaf.CertPath, stapled, output, error, None));
        var verify = OpenSsl.Run(ca.Directory, ["ocsp", "-respin", stapled, "-issuer", ca.CaCertPath, "-CAfile", ca.CaCertPath, "-cert", leaf.CertPath], check: false);
        Assert.Contains("Response verify OK", verify.Output, StringComparison.Ordinal);
        Assert.Contains(": good", verify.StdOut, StringComparison.Ordinal);
    }
}
