using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Clients;

/// <summary>NSS (Firefox's library) as the client: <c>ocspclnt</c> status checks and <c>vfychain</c> OCSP-checked path validation.</summary>
[Collection("pki")]
public sealed class NssTests(TestPki pki)
{
    /// <summary>A fresh NSS database trusting only the test CA.</summary>
    private static string NewDb(AiaPki aia)
    {
        string certutil = ExternalTool.CertUtil;
        string db = Path.Combine(aia.Directory, "nssdb");
        Directory.CreateDirectory(db);
        ExternalTool.Check(certutil, aia.Directory, "-N", "--empty-password", "-d", "sql:" + db);
        ExternalTool.Check(certutil, aia.Directory, "-A", "-n", "ca", "-t", "CT,C,C", "-i", aia.CaCertPath, "-d", "sql:" + db);
        return "sql:" + db;
    }

    [Fact]
    public async Task Ocspclnt_status_via_the_aia_and_via_an_explicit_responder_url()
    {
        string ocspclnt = ExternalTool.OcspClnt;
        await using var aia = await AiaPki.StartAsync(pki, "nss-ocspclnt");
        string db = NewDb(aia);

        // -S takes a nickname or a DER file; without -l the URL comes from the AIA, with -l the signer is trusted by -t.
        foreach (var location in new[] { Array.Empty<string>(), ["-l", aia.Url, "-t", "ca"] })
        {
            ToolResult Status(AiaLeaf leaf) => ExternalTool.Run(ocspclnt, aia.Directory, ["-S", leaf.DerPath, "-d", db, .. location]);
            var good = Status(aia.Good);
            Assert.True(good.Output.Contains($"Check of certificate \"{aia.Good.DerPath}\" succeeded.", StringComparison.Ordinal), good.ToString());

            var revoked = Status(aia.Revoked);
            Assert.True(revoked.Output.Contains("failed", StringComparison.Ordinal)
                        && revoked.Output.Contains("Peer's Certificate has been revoked.", StringComparison.Ordinal), revoked.ToString());

            var neverIssued = Status(aia.NeverIssued);
            Assert.True(neverIssued.Output.Contains("failed", StringComparison.Ordinal)
                        && neverIssued.Output.Contains("The OCSP server has refused this request as unauthorized.", StringComparison.Ordinal),
                neverIssued.ToString());
        }
    }

    [Fact]
    public async Task Vfychain_ocsp_checked_validation_accepts_good_and_rejects_revoked_and_never_issued()
    {
        string vfychain = ExternalTool.VfyChain;
        await using var aia = await AiaPki.StartAsync(pki, "nss-vfychain");
        string db = NewDb(aia);

        // libpkix (-pp), SSL server usage, leaf checked by OCSP from the AIA; failIfNoInfo makes "no answer" a failure.
        ToolResult Verify(AiaLeaf leaf, params string[] methodFlags) => ExternalTool.Run(vfychain, aia.Directory,
            ["-d", db, "-pp", "-u", "1", "-g", "leaf", "-m", "ocsp", .. methodFlags, "-a", leaf.PemPath]);

        var good = Verify(aia.Good, "-s", "failIfNoInfo");
        Assert.True(good.ExitCode == 0 && good.Output.Contains("Chain is good!", StringComparison.Ordinal), good.ToString());

        var revoked = Verify(aia.Revoked, "-s", "failIfNoInfo");
        Assert.True(revoked.ExitCode != 0 && revoked.Output.Contains("Chain is bad!", StringComparison.Ordinal), revoked.ToString());
        Assert.True(revoked.Output.Contains("ERROR -8180: Peer's Certificate has been revoked.", StringComparison.Ordinal), revoked.ToString()); // SEC_ERROR_REVOKED_CERTIFICATE

        // Even without failIfNoInfo a revoked answer is a hard failure.
        var revokedSoft = Verify(aia.Revoked);
        Assert.True(revokedSoft.ExitCode != 0 && revokedSoft.Output.Contains("-8180", StringComparison.Ordinal), revokedSoft.ToString());

        // "unauthorized" is no information: NSS fails the chain only under failIfNoInfo (and reports it with the revoked code).
        long unauthorized = await aia.CounterAsync("unauthorized");
        var neverIssued = Verify(aia.NeverIssued, "-s", "failIfNoInfo");
        Assert.True(await aia.CounterAsync("unauthorized") > unauthorized, "vfychain did not reach the responder");
        Assert.True(neverIssued.ExitCode != 0 && neverIssued.Output.Contains("Chain is bad!", StringComparison.Ordinal), neverIssued.ToString());
        var neverIssuedSoft = Verify(aia.NeverIssued);
        Assert.True(neverIssuedSoft.ExitCode == 0 && neverIssuedSoft.Output.Contains("Chain is good!", StringComparison.Ordinal), neverIssuedSoft.ToString());
    }
}
