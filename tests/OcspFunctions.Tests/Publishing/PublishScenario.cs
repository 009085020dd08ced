using System.Text.Json;
using Azure.Storage.Blobs;
using OcspFunctions.Tests.Azure;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Publishing;

/// <summary>
/// A CA workspace (real openssl CA), an inputs container in Azurite (created, as infra would), a responses container, and a
/// configuration whose issuer reads <c>blob:</c> inputs and publishes to them from the workspace's local files.
/// </summary>
internal sealed class PublishScenario
{
    private PublishScenario(CaWorkspace ca, string inputs, BlobContainerClient container, string config)
    {
        Ca = ca;
        Inputs = inputs;
        Container = container;
        ConfigPath = config;
    }

    public CaWorkspace Ca { get; }
    public string Inputs { get; }
    public BlobContainerClient Container { get; }
    public string ConfigPath { get; }

    public string CrlBlob => $"blob:{Inputs}/ca.crl";
    public string SerialsBlob => $"blob:{Inputs}/issued.txt";

    /// <summary><paramref name="publish"/> is the issuer's Publish section (an anonymous object); null = the workspace's index.txt and CRL.</summary>
    public static async Task<PublishScenario> CreateAsync(TestPki pki, AzuriteFixture azurite, string hint, object? publish = null, TestCa? source = null)
    {
        var ca = new CaWorkspace(pki, source ?? pki.EcCa, hint);
        string inputs = azurite.NewContainer("pki");
        var container = azurite.Service().GetBlobContainerClient(inputs);
        await container.CreateAsync();
        string config = Path.Combine(ca.Directory, "publish.json");
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
                        Name = hint, Certificate = ca.CaCertPath, Crls = new[] { $"blob:{inputs}/ca.crl" },
                        IssuedSerials = $"blob:{inputs}/issued.txt",
                        Responder = new { Certificate = ca.ResponderCertPath, Key = ca.ResponderKeyPath },
                        Publish = publish ?? new { IssuedSerials = ca.IndexPath, Crls = new[] { ca.CrlPath } },
                    },
                },
            },
        }));
        return new PublishScenario(ca, inputs, container, config);
    }

    /// <summary>The blob's ETag, or null when absent.</summary>
    public async Task<string?> ETagAsync(string name)
    {
        var blob = Container.GetBlobClient(name);
        return await blob.ExistsAsync() ? (await blob.GetPropertiesAsync()).Value.ETag.ToString() : null;
    }

    public async Task<string> TextAsync(string name) => (await Container.GetBlobClient(name).DownloadContentAsync()).Value.Content.ToString();
}
