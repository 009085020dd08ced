using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Clients;

/// <summary><c>openssl ocsp</c> as a client: POST to the URL the certificate's AIA names.</summary>
[Collection("pki")]
public sealed class OpenSslClientTests(TestPki pki)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Openssl_ocsp_post_to_the_aia_url_gets_good_revoked_and_unauthorized(bool rsa)
    {
        await using var aia = await AiaPki.StartAsync(pki, rsa ? "openssl-client-rsa" : "openssl-client-ec", rsa);
        string dir = aia.Directory;

        // The URL is the one the certificate carries.
        string url = OpenSsl.Run(dir, "x509", "-in", aia.Good.PemPath, "-noout", "-ocsp_uri").StdOut.Trim();
        Assert.Equal(aia.Url, url);

        OpenSslResult Ask(AiaLeaf leaf, bool nonce) => OpenSsl.Run(dir,
            ["ocsp", "-issuer", aia.CaCertPath, "-cert", leaf.PemPath, "-url", url, "-CAfile", aia.CaCertPath, .. nonce ? Array.Empty<string>() : ["-no_nonce"]],
            check: false);

        foreach (bool nonce in new[] { false, true })
        {
            var good = Ask(aia.Good, nonce);
            Assert.True(good.ExitCode == 0, good.ToString());
            Assert.Contains("Response verify OK", good.Output, StringComparison.Ordinal);
            Assert.Contains(aia.Good.PemPath + ": good", good.StdOut, StringComparison.Ordinal);
            Assert.Contains("Next Update:", good.StdOut, StringComparison.Ordinal);
            // A pre-signed responder ignores the nonce (RFC 5019 §2.1.2 / RFC 9919): openssl warns but accepts.
            if (nonce) Assert.Contains("WARNING: no nonce in response", good.Output, StringComparison.Ordinal);

            var revoked = Ask(aia.Revoked, nonce);
            Assert.True(revoked.ExitCode == 0, revoked.ToString());
            Assert.Contains("Response verify OK", revoked.Output, StringComparison.Ordinal);
            Assert.Contains(aia.Revoked.PemPath + ": revoked", revoked.StdOut, StringComparison.Ordinal);
            Assert.Contains("Reason: keyCompromise", revoked.StdOut, StringComparison.Ordinal);
            Assert.Contains("Revocation Time:", revoked.StdOut, StringComparison.Ordinal);

            var neverIssued = Ask(aia.NeverIssued, nonce);
            Assert.Contains("Responder Error: unauthorized (6)", neverIssued.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(": good", neverIssued.StdOut, StringComparison.Ordinal);
        }
    }
}
