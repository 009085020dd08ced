using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Hosting;

namespace OcspFunctions.Tests.Serving;

/// <summary>The README's first command and the query client, as a newcomer runs them.</summary>
[Collection("pki")]
public sealed class QuickstartTests(TestPki pki)
{

    [Fact]
    public async Task Quickstart_leaves_its_files_and_query_verifies_the_answers()
    {
        string cwd = pki.NewWorkDir("quickstart");
        int port = Clients.ExternalTool.FreePort();
        var quickstart = CliTests.Run(cwd, "quickstart", "--dir", "demo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-serve");
        Assert.True(quickstart.Exit == 0, quickstart.Out + quickstart.Err);
        string dir = Path.Combine(cwd, "demo");
        foreach (var file in new[] { "ocsp.json", "ca.pem", "certs/good-1.pem", "certs/revoked-1.pem", "certs/not-issued-1.pem" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
        Assert.Contains("openssl ocsp -issuer", quickstart.Out, StringComparison.Ordinal);
        Assert.Contains($"curl -sD - -o {Path.Combine(dir, "good-1.ocsp")}", quickstart.Out, StringComparison.Ordinal);
        Assert.Contains("good 3  revoked 1", quickstart.Out, StringComparison.Ordinal);

        // The leaves' AIA points at the port we chose: serve there and ask like a client would.
        var options = ConfigLoader.Load(Path.Combine(dir, "ocsp.json"));
        string url = $"http://127.0.0.1:{port}";
        var app = await ResponderHost.BuildAsync(options, [url], CancellationToken.None);
        await app.StartAsync();
        try
        {
            string ca = Path.Combine(dir, "ca.pem");
            var good = CliTests.Run(cwd, "query", "--url", url, "--issuer", ca, "--cert", Path.Combine(dir, "certs/good-1.pem"));
            Assert.True(good.Exit == 0, good.Out + good.Err);
            Assert.Contains(": good", good.Out, StringComparison.Ordinal);
            Assert.Contains("signature: verifies", good.Out, StringComparison.Ordinal);
            Assert.Contains("responder authorised: yes", good.Out, StringComparison.Ordinal);

            var post = CliTests.Run(cwd, "query", "--url", url, "--issuer", ca, "--cert", Path.Combine(dir, "certs/good-2.pem"), "--post", "--hash", "sha256", "--nonce");
            Assert.True(post.Exit == 0, post.Out + post.Err);
            Assert.Contains("POST", post.Out, StringComparison.Ordinal);

            var revoked = CliTests.Run(cwd, "query", "--url", url, "--issuer", ca, "--cert", Path.Combine(dir, "certs/revoked-1.pem"));
            Assert.Equal(1, revoked.Exit);
            Assert.Contains("revoked at", revoked.Out, StringComparison.Ordinal);
            Assert.Contains("KeyCompromise", revoked.Out, StringComparison.Ordinal);

            var notIssued = CliTests.Run(cwd, "query", "--url", url, "--issuer", ca, "--cert", Path.Combine(dir, "certs/not-issued-1.pem"));
            Assert.Equal(1, notIssued.Exit);
            Assert.Contains("response status: Unauthorized", notIssued.Out, StringComparison.Ordinal);

            // Answered by openssl too, over POST, from the files quickstart left.
            var openssl = OpenSsl.Run(dir, ["ocsp", "-issuer", ca, "-CAfile", ca, "-url", url, "-cert", Path.Combine(dir, "certs/good-1.pem")], check: false);
            Assert.Contains("Response verify OK", openssl.Output, StringComparison.Ordinal);
            Assert.Contains("good-1.pem: good", openssl.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public void Query_reports_a_dead_responder_as_a_transport_error()
    {
        string cwd = pki.NewWorkDir("query-dead");
        var result = CliTests.Run(cwd, "query", "--url", $"http://127.0.0.1:{Clients.ExternalTool.FreePort()}", "--issuer", pki.EcCa.CertPath, "--serial", "01");
        Assert.Equal(2, result.Exit);
    }
}
