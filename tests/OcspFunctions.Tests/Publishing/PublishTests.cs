using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Engine.Publishing;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Hosting;
using OcspFunctions.Hosting.Publishing;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Azure;
using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;
using OcspResponder.Cli;

namespace OcspFunctions.Tests.Publishing;

/// <summary>
/// The <c>publish</c> verb against Azurite with a real openssl CA: validated inputs are uploaded where the responder reads
/// them and the refresh then answers from them; bad or truncated inputs upload nothing; an unchanged run writes nothing;
/// a destination changed by someone else since it was read is not overwritten.
/// </summary>
[Collection("pki")]
public sealed class PublishTests(TestPki pki, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<(int Code, string Output)> PublishAsync(PublishScenario s)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await PublishCommand.RunAsync(s.ConfigPath, false, output, error, None);
        return (code, output + error.ToString());
    }

    [Fact]
    public async Task Publish_uploads_validated_inputs_and_the_refresh_answers_from_them()
    {
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-e2e");
        var (code, output) = await PublishAsync(s);
        Assert.True(code == 0, output);
        Assert.Contains("uploaded", output, StringComparison.Ordinal);

        // The Text format with expiry, every serial of index.txt.
        var text = await s.TextAsync("issued.txt");
        var uploaded = IssuedSerialsParser.Parse(System.Text.Encoding.UTF8.GetBytes(text), IssuedSerialsFormat.Text, "uploaded");
        var local = IssuedSerialsParser.Parse(await File.ReadAllBytesAsync(s.Ca.IndexPath), IssuedSerialsFormat.OpenSslIndex, "index");
        Assert.Equal(local.Serials.OrderBy(p => p.Key), uploaded.Serials.OrderBy(p => p.Key));
        Assert.All(uploaded.Serials.Values, e => Assert.NotNull(e));
        Assert.Equal(await File.ReadAllBytesAsync(s.Ca.CrlPath), (await s.Container.GetBlobClient("ca.crl").DownloadContentAsync()).Value.Content.ToArray());

        // The responder's refresh reads what was published.
        var refreshOut = new StringWriter();
        Assert.Equal(0, await RefreshCommand.RunAsync(s.ConfigPath, false, refreshOut, refreshOut, None));
        var store = Composition.CreateStore(ConfigLoader.Load(s.ConfigPath));
        var issuer = new OcspIssuer(s.Ca.Source.Certificate);
        var good = s.Ca.Source.Good.First();
        var revoked = s.Ca.Source.Revoked.First();
        foreach (var (leaf, expected) in new[] { (good, ": good"), (revoked, ": revoked") })
        {
            string file = await StoredResponses.FileAsync(store, issuer, leaf.SerialHex, s.Ca.Directory);
            var verify = OpenSsl.Run(s.Ca.Directory, ["ocsp", "-respin", file, "-issuer", s.Ca.CaCertPath, "-CAfile", s.Ca.CaCertPath, "-cert", leaf.CertPath], check: false);
            Assert.Contains("Response verify OK", verify.Output, StringComparison.Ordinal);
            Assert.Contains(expected, verify.StdOut, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unchanged_run_writes_nothing_and_a_new_certificate_is_uploaded()
    {
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-unchanged");
        Assert.Equal(0, (await PublishAsync(s)).Code);
        string? crl = await s.ETagAsync("ca.crl");
        string? list = await s.ETagAsync("issued.txt");

        var (code, output) = await PublishAsync(s);
        Assert.Equal(0, code);
        Assert.Contains("nothing uploaded  unchanged 2", output, StringComparison.Ordinal);
        Assert.Equal(crl, await s.ETagAsync("ca.crl"));
        Assert.Equal(list, await s.ETagAsync("issued.txt"));

        var (_, serial) = s.Ca.Issue("new-leaf");
        (code, output) = await PublishAsync(s);
        Assert.True(code == 0, output);
        Assert.Equal(crl, await s.ETagAsync("ca.crl"));
        Assert.NotEqual(list, await s.ETagAsync("issued.txt"));
        Assert.Contains(serial, await s.TextAsync("issued.txt"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_list_uploads_nothing_not_even_a_good_new_crl()
    {
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-truncated");
        Assert.Equal(0, (await PublishAsync(s)).Code);
        string? crl = await s.ETagAsync("ca.crl");
        string? list = await s.ETagAsync("issued.txt");

        s.Ca.GenerateCrl(); // a newer, valid CRL
        var lines = await File.ReadAllLinesAsync(s.Ca.IndexPath);
        await File.WriteAllLinesAsync(s.Ca.IndexPath, lines.Take(1));
        var (code, output) = await PublishAsync(s);
        Assert.Equal(1, code);
        Assert.Contains("shrank", output, StringComparison.Ordinal);
        Assert.Contains("nothing uploaded", output, StringComparison.Ordinal);
        Assert.Equal(crl, await s.ETagAsync("ca.crl"));
        Assert.Equal(list, await s.ETagAsync("issued.txt"));
    }

    [Fact]
    public async Task A_crl_of_another_ca_or_an_expired_crl_uploads_nothing()
    {
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-badcrl");
        File.Copy(pki.RsaCa.CrlPemPath, s.Ca.CrlPath, overwrite: true);
        var (code, output) = await PublishAsync(s);
        Assert.Equal(1, code);
        Assert.Contains("FAILED", output, StringComparison.Ordinal);
        Assert.Null(await s.ETagAsync("ca.crl"));
        Assert.Null(await s.ETagAsync("issued.txt"));

        s.Ca.GenerateExpiredCrl(s.Ca.CrlPath);
        (code, output) = await PublishAsync(s);
        Assert.Equal(1, code);
        Assert.Contains("expired", output, StringComparison.Ordinal);
        Assert.Null(await s.ETagAsync("ca.crl"));
        Assert.Null(await s.ETagAsync("issued.txt"));
    }

    [Fact]
    public async Task A_crl_number_lower_than_the_published_one_is_refused()
    {
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-rollback");
        string older = Path.Combine(s.Ca.Directory, "older.crl");
        File.Copy(s.Ca.CrlPath, older);
        s.Ca.GenerateCrl();
        Assert.Equal(0, (await PublishAsync(s)).Code);
        string? crl = await s.ETagAsync("ca.crl");

        File.Copy(older, s.Ca.CrlPath, overwrite: true);
        var (code, output) = await PublishAsync(s);
        Assert.Equal(1, code);
        Assert.Contains("lower than", output, StringComparison.Ordinal);
        Assert.Equal(crl, await s.ETagAsync("ca.crl"));
    }

    [Fact]
    public async Task A_destination_changed_after_it_was_read_is_not_overwritten()
    {
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-race");
        Assert.Equal(0, (await PublishAsync(s)).Code);
        s.Ca.Issue("race-leaf");
        s.Ca.GenerateCrl();
        string? list = await s.ETagAsync("issued.txt");

        var configuration = ConfigLoader.Load(s.ConfigPath);
        using var http = new HttpClient();
        var real = new Adapters.Azure.Blob.BlobPublishTarget(azurite.Service());
        var other = System.Text.Encoding.UTF8.GetBytes("# written by another publisher\n01\n");
        var racing = new RacingTarget(real, async () => await s.Container.GetBlobClient("ca.crl").UploadAsync(new BinaryData(other), overwrite: true));
        var publisher = new Publisher(configuration, Composition.CreateSources(configuration, http), racing, TimeProvider.System, NullLogger.Instance);
        var result = Assert.Single(await publisher.RunAsync(None));
        Assert.False(result.Succeeded);
        Assert.Contains("changed since it was read", result.Error, StringComparison.Ordinal);
        Assert.Equal("# written by another publisher\n01\n", await s.TextAsync("ca.crl"));
        Assert.Equal(list, await s.ETagAsync("issued.txt")); // the run stopped at the refused write
    }

    /// <summary>Another publisher writes between this one's read and its first write.</summary>
    private sealed class RacingTarget(IPublishTarget inner, Func<Task> interleave) : IPublishTarget
    {
        private bool _done;

        public bool CanWrite(string location) => inner.CanWrite(location);

        public Task<PublishedObject> ReadAsync(string location, long maxBytes, CancellationToken cancellationToken) => inner.ReadAsync(location, maxBytes, cancellationToken);

        public async Task<bool> WriteAsync(string location, byte[] content, string? expectedETag, CancellationToken cancellationToken)
        {
            if (!_done)
            {
                _done = true;
                await interleave();
            }
            return await inner.WriteAsync(location, content, expectedETag, cancellationToken);
        }
    }
}
