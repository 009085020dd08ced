using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Azure.Security.KeyVault.Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;
using OcspResponder.Cli;

namespace OcspFunctions.Tests.KeyVault;

/// <summary>
/// The responder certificate as a Key Vault certificate, driven through the official CertificateClient against the
/// certificates STAND-IN (<see cref="KeyVaultCertificatesStandIn"/> on <see cref="KeyVaultStandIn"/>: a loopback HTTPS
/// server implementing the documented REST contract, not Key Vault, which cannot run here): <c>responder request</c> →
/// CSR signed by the test CA with openssl → <c>responder merge</c> → the refresh signs with the version's key (through
/// the keys contract) and certificate, and openssl verifies every response; a new version rolls over on the next run.
/// </summary>
[Collection("pki")]
public sealed class KeyVaultResponderCertificateTests(TestPki pki) : IAsyncLifetime
{
    private KeyVaultStandIn _vault = null!;
    private KeyVaultCertificatesStandIn _certificates = null!;
    private KeyVaultSignerFactory _factory = null!;

    public async Task InitializeAsync()
    {
        _vault = await KeyVaultStandIn.StartAsync();
        _certificates = new KeyVaultCertificatesStandIn(_vault);
        _factory = new KeyVaultSignerFactory(new StandInTokenCredential(), _vault.SignerOptions());
    }

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    private CertificateClient Client => _factory.CertificateClientFor(_vault.VaultUri);

    private string CertificateUrl(string name) => new Uri(_vault.VaultUri, $"certificates/{name}").ToString();

    /// <summary>request → the test CA signs the CSR with openssl (responder profile, ocsp-nocheck) → merge; returns the issued certificate.</summary>
    private async Task<X509Certificate2> RequestAndMergeAsync(CaWorkspace ca, string name, string key, string suffix)
    {
        string csr = Path.Combine(ca.Directory, $"{name}-{suffix}.csr");
        string cert = Path.Combine(ca.Directory, $"{name}-{suffix}.pem");
        var output = new StringWriter();
        Assert.Equal(0, await ResponderCommand.RequestAsync(Client, name, $"CN=KV OCSP Responder {suffix}, O=Test", key, 2, csr, output, CancellationToken.None));
        Assert.Contains("-----BEGIN CERTIFICATE REQUEST-----", await File.ReadAllTextAsync(csr), StringComparison.Ordinal);
        OpenSsl.Run(ca.Directory, "req", "-in", csr, "-verify", "-noout");
        OpenSsl.Run(ca.Directory, "x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "60", "-sha256",
            "-extfile", "openssl.cnf", "-extensions", "ocsp_ext", "-set_serial", "0x" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)),
            "-out", cert);
        Assert.Equal(0, await ResponderCommand.MergeAsync(Client, name, cert, output, CancellationToken.None));
        return X509CertificateLoader.LoadCertificateFromFile(cert);
    }

    private sealed class CertificateSigners(KeyVaultSignerFactory factory, string url) : ISignerFactory
    {
        public Task<OcspFunctions.Protocol.Signing.IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken) =>
            factory.CreateForCertificateAsync(issuer.Name, url, issuer.Responder.UsePss, cancellationToken);
    }

    private async Task<IssuerRefreshResult> RunAsync(CaWorkspace ca, OcspOptions options, string url)
    {
        var report = await new RefreshEngine(options, new FileSystemObjectStore(ca.StorePath), new CompositeSourceReader([new FileSourceReader()]),
            new CertificateSigners(_factory, url), TimeProvider.System, NullLogger<RefreshEngine>.Instance).RunAsync(CancellationToken.None);
        return Assert.Single(report.Issuers);
    }

    /// <summary>Every leaf's response verifies with openssl against the CA and carries <paramref name="responder"/>.</summary>
    private static async Task AssertSignedByAsync(CaWorkspace ca, X509Certificate2 responder)
    {
        var issuer = new OcspIssuer(X509CertificateLoader.LoadCertificateFromFile(ca.CaCertPath));
        foreach (var leaf in ca.Source.Leaves)
        {
            string path = await StoredResponses.FileAsync(new FileSystemObjectStore(ca.StorePath), issuer, leaf.SerialHex, ca.Directory);
            var basic = OcspResponse.Decode(File.ReadAllBytes(path)).Basic!;
            Assert.Equal(responder.RawData, Assert.Single(basic.Certificates).RawData);
            var result = OpenSsl.Run(ca.Directory, ["ocsp", "-respin", path, "-issuer", ca.CaCertPath, "-CAfile", ca.CaCertPath,
                "-serial", "0x" + leaf.SerialHex, "-no_nonce"], check: false);
            Assert.Contains("Response verify OK", result.Output, StringComparison.Ordinal);
            Assert.Contains(leaf.IsRevoked ? ": revoked" : ": good", result.StdOut, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("ec", "ec-p256", "EC-HSM", "P-256")]
    [InlineData("rsa", "rsa-2048", "RSA-HSM", null)]
    public async Task Request_merge_refresh_and_roll_over_through_the_official_client_against_the_certificates_stand_in(
        string caKind, string key, string kty, string? curve)
    {
        var ca = new CaWorkspace(pki, pki.Ca(caKind), $"kvcert-{caKind}");
        string name = $"ocsp-{caKind}";
        var first = await RequestAndMergeAsync(ca, name, key, "v1");

        // The policy the official client sent: issuer Unknown, HSM key that cannot be exported, a new key per version,
        // digitalSignature + id-kp-OCSPSigning (RFC 6960 §4.2.2.2), e-mail to the contacts 30 days before expiry.
        var policy = _certificates.LastPolicy!.Value;
        Assert.Equal("Unknown", policy.GetProperty("issuer").GetProperty("name").GetString());
        var keyProps = policy.GetProperty("key_props");
        Assert.False(keyProps.GetProperty("exportable").GetBoolean());
        Assert.False(keyProps.GetProperty("reuse_key").GetBoolean());
        Assert.Equal(kty, keyProps.GetProperty("kty").GetString());
        if (curve is not null) Assert.Equal(curve, keyProps.GetProperty("crv").GetString());
        var x509 = policy.GetProperty("x509_props");
        Assert.Equal(["1.3.6.1.5.5.7.3.9"], x509.GetProperty("ekus").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["digitalSignature"], x509.GetProperty("key_usage").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, x509.GetProperty("validity_months").GetInt32());
        var action = Assert.Single(policy.GetProperty("lifetime_actions").EnumerateArray());
        Assert.Equal(30, action.GetProperty("trigger").GetProperty("days_before_expiry").GetInt32());
        Assert.Equal("EmailContacts", action.GetProperty("action").GetProperty("action_type").GetString());

        // Responder:KeyVaultCertificate only: no certificate file, no key file, no key id.
        var options = ca.Options(name);
        options.Issuers[0].Responder.Certificate = "";
        options.Issuers[0].Responder.Key = null;
        var result = await RunAsync(ca, options, CertificateUrl(name));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        int all = (ca.Source.Leaves.Count + 1) * 2; // index.txt lists the fixture's responder too; sha1 + sha256
        Assert.Equal(all, result.ResponsesSigned);
        await AssertSignedByAsync(ca, first);

        // A request that is still pending (no certificate yet) changes nothing: the next run signs with v1 and re-signs nothing.
        await ResponderCommand.RequestAsync(Client, name, "CN=KV OCSP Responder pending, O=Test", key, 2, Path.Combine(ca.Directory, "pending.csr"),
            TextWriter.Null, CancellationToken.None);
        var pendingRun = await RunAsync(ca, options, CertificateUrl(name));
        Assert.True(pendingRun.Succeeded, string.Join("; ", pendingRun.Errors));
        Assert.Equal(0, pendingRun.ResponsesSigned);
        await new KeyVaultResponderCertificates(Client).PendingCsrAsync(name, CancellationToken.None); // still pending, readable again

        // Merging it (a second request while one is pending is refused with 409, so merge the pending one): the next run
        // picks the new version, the fingerprint changes, and every response is re-signed with it.
        await Assert.ThrowsAsync<KeyVaultException>(() => ResponderCommand.RequestAsync(Client, name, "CN=again", key, 2,
            Path.Combine(ca.Directory, "again.csr"), TextWriter.Null, CancellationToken.None));
        string pendingCert = Path.Combine(ca.Directory, "pending.pem");
        OpenSsl.Run(ca.Directory, "x509", "-req", "-in", "pending.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "60", "-sha256",
            "-extfile", "openssl.cnf", "-extensions", "ocsp_ext", "-set_serial", "0x0DDBA11", "-out", pendingCert);
        await ResponderCommand.MergeAsync(Client, name, pendingCert, TextWriter.Null, CancellationToken.None);
        var second = X509CertificateLoader.LoadCertificateFromFile(pendingCert);
        var rolled = await RunAsync(ca, options, CertificateUrl(name));
        Assert.True(rolled.Succeeded, string.Join("; ", rolled.Errors));
        Assert.Equal(all, rolled.ResponsesSigned);
        await AssertSignedByAsync(ca, second);
        Assert.Equal(2, _certificates.Versions(name).Count);

        // Disabling the newest version (the official client's update) goes back to the newest ENABLED one, and re-signs.
        var newest = _certificates.Versions(name).OrderByDescending(v => v.Created).First();
        var properties = (await Client.GetCertificateVersionAsync(name, newest.Id)).Value.Properties;
        properties.Enabled = false;
        await Client.UpdateCertificatePropertiesAsync(properties);
        var back = await RunAsync(ca, options, CertificateUrl(name));
        Assert.True(back.Succeeded, string.Join("; ", back.Errors));
        Assert.Equal(all, back.ResponsesSigned);
        await AssertSignedByAsync(ca, first);
        Assert.All(_certificates.ApiVersionsSeen, v => Assert.Contains(v, KeyVaultCertificatesStandIn.ApiVersions));
    }

    [Fact]
    public async Task Merge_refuses_a_certificate_without_the_OCSPSigning_EKU_and_one_for_another_key()
    {
        var ca = new CaWorkspace(pki, pki.Ca("ec"), "kvcert-refuse");
        string csr = Path.Combine(ca.Directory, "r.csr");
        await ResponderCommand.RequestAsync(Client, "refuse", "CN=refuse", "ec-p256", 1, csr, TextWriter.Null, CancellationToken.None);
        string leafCert = Path.Combine(ca.Directory, "leaf.pem");
        OpenSsl.Run(ca.Directory, "x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "60", "-extfile", "openssl.cnf",
            "-extensions", "leaf_ext", "-set_serial", "0x0A1", "-out", leafCert);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => ResponderCommand.MergeAsync(Client, "refuse", leafCert, TextWriter.Null, CancellationToken.None));
        Assert.Contains("OCSPSigning", e.Message, StringComparison.Ordinal);
        // The fixture's responder certificate has the EKU but another key: the vault refuses the merge.
        var k = await Assert.ThrowsAsync<KeyVaultException>(() => ResponderCommand.MergeAsync(Client, "refuse", ca.ResponderCertPath, TextWriter.Null, CancellationToken.None));
        Assert.Contains("400", k.Message, StringComparison.Ordinal);
        Assert.Empty(_certificates.Versions("refuse"));
    }

    [Fact]
    public async Task A_certificate_with_no_usable_version_fails_the_issuer_and_says_why()
    {
        await ResponderCommand.RequestAsync(Client, "only-pending", "CN=p", "ec-p384", 1, Path.Combine(pki.NewWorkDir("kvcert-p"), "p.csr"),
            TextWriter.Null, CancellationToken.None);
        var e = await Assert.ThrowsAsync<KeyVaultException>(() => _factory.CreateForCertificateAsync("ca-x", CertificateUrl("only-pending"), false, CancellationToken.None));
        Assert.Contains("issuer 'ca-x'", e.Message, StringComparison.Ordinal);
        Assert.Contains("no enabled version with a certificate valid now", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://v.vault.azure.net/certificates/ocsp", null)]
    [InlineData("https://v.vault.azure.net/certificates/ocsp/0123abcd", "leave out the version")]
    [InlineData("https://h.managedhsm.azure.net/certificates/ocsp", "a Managed HSM holds no certificates")]
    [InlineData("http://v.vault.azure.net/certificates/ocsp", "https")]
    [InlineData("https://v.vault.azure.net/keys/ocsp", "is not of the form")]
    public void The_certificate_setting_is_a_vault_certificate_url_without_a_version(string value, string? error)
    {
        if (error is null)
        {
            var id = KeyVaultCertificateId.Parse(value);
            Assert.Equal("ocsp", id.Name);
            Assert.Equal(value, id.ToString());
        }
        else
        {
            Assert.Contains(error, Assert.Throws<ArgumentException>(() => KeyVaultCertificateId.Parse(value)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void KeyVaultCertificate_needs_no_Responder_Certificate_and_excludes_one()
    {
        string dir = pki.NewWorkDir("kvcert-config");
        string path = Path.Combine(dir, "ocsp.json");
        File.WriteAllText(path, """
            { "Ocsp": { "Store": { "Path": "store" }, "Issuers": [ { "Name": "ca", "Certificate": "ca.pem", "IssuedSerials": "i.txt", "Crls": [ "c.crl" ],
              "Responder": { "KeyVaultCertificate": "https://v.vault.azure.net/certificates/ocsp" } } ] } }
            """);
        var (errors, _) = OcspFunctions.Hosting.ConfigLoader.Load(path).Validate();
        Assert.Empty(errors);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"Responder\": {", "\"Responder\": { \"Certificate\": \"r.pem\",", StringComparison.Ordinal));
        (errors, _) = OcspFunctions.Hosting.ConfigLoader.Load(path).Validate();
        Assert.Contains(errors, e => e.Contains("set Certificate or KeyVaultCertificate, not both", StringComparison.Ordinal));
    }
}
