using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Clients;

/// <summary>
/// .NET's own X509Chain with online revocation: on Linux it fetches OCSP by GET from the AIA URL (SHA-1 CertID) for the end
/// certificate. Each test has its own CA, so the on-disk cache (~/.dotnet/corefx/cryptography/crls) cannot answer instead.
/// </summary>
[Collection("pki")]
public sealed class DotNetChainTests(TestPki pki)
{
    private const X509ChainStatusFlags RevocationProblems =
        X509ChainStatusFlags.Revoked | X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation;

    private static (bool Built, X509ChainStatusFlags Flags, string Text) Build(AiaPki aia, AiaLeaf leaf)
    {
        using var ca = X509CertificateLoader.LoadCertificateFromFile(aia.CaCertPath);
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.Online;
        chain.ChainPolicy.RevocationFlag = X509RevocationFlag.EndCertificateOnly;
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.VerificationTime = DateTime.Now;
        chain.ChainPolicy.UrlRetrievalTimeout = TimeSpan.FromSeconds(10);
        bool built = chain.Build(leaf.Certificate);
        var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (a, s) => a | s.Status);
        string text = string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"));
        return (built, flags, $"{leaf.Name}: built={built} [{text}]");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task X509chain_online_revocation_good_revoked_and_never_issued(bool rsa)
    {
        await using var aia = await AiaPki.StartAsync(pki, rsa ? "dotnet-chain-rsa" : "dotnet-chain-ec", rsa);

        long served = await aia.CounterAsync("served");
        var good = Build(aia, aia.Good);
        Assert.True(good.Built, good.Text);
        Assert.True((good.Flags & RevocationProblems) == 0, good.Text);
        Assert.True(await aia.CounterAsync("served") > served, ".NET did not ask the responder: " + good.Text);

        var revoked = Build(aia, aia.Revoked);
        Assert.False(revoked.Built, revoked.Text);
        Assert.True(revoked.Flags.HasFlag(X509ChainStatusFlags.Revoked), revoked.Text);

        long unauthorized = await aia.CounterAsync("unauthorized");
        var neverIssued = Build(aia, aia.NeverIssued);
        Assert.False(neverIssued.Built, neverIssued.Text);
        Assert.False(neverIssued.Flags.HasFlag(X509ChainStatusFlags.Revoked), neverIssued.Text);
        Assert.True((neverIssued.Flags & (X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation)) != 0, neverIssued.Text);
        Assert.True(await aia.CounterAsync("unauthorized") > unauthorized, ".NET did not ask the responder: " + neverIssued.Text);
    }
}
