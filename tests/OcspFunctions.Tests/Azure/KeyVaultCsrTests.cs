using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.KeyVault;

/// <summary>
/// <see cref="ResponderCsr"/> for a local key file and for a key in the Key Vault STAND-IN (a loopback server, not
/// Key Vault): <c>openssl req -verify</c> accepts the self-signature and <c>openssl req -text</c> shows the requested
/// responder extensions.
/// </summary>
[Collection("pki")]
public sealed class KeyVaultCsrTests(TestPki pki) : IAsyncLifetime
{
    private KeyVaultStandIn _vault = null!;

    public async Task InitializeAsync() => _vault = await KeyVaultStandIn.StartAsync();

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    private static readonly X500DistinguishedName Subject = new("CN=Example OCSP Responder, O=Example, C=DE");

    private string CheckWithOpenSsl(byte[] der, string hint, string signatureAlgorithm)
    {
        string dir = pki.NewWorkDir(hint);
        string path = Path.Combine(dir, "responder.csr");
        File.WriteAllText(path, ResponderCsr.ToPem(der));
        Assert.StartsWith("-----BEGIN CERTIFICATE REQUEST-----", File.ReadAllText(path), StringComparison.Ordinal);
        var verify = OpenSsl.Run(dir, "req", "-in", path, "-verify", "-noout");
        Assert.Contains("verify OK", verify.Output, StringComparison.Ordinal);
        string text = OpenSsl.Run(dir, "req", "-in", path, "-noout", "-text").StdOut;
        Assert.Contains("Subject: C = DE, O = Example, CN = Example OCSP Responder", text, StringComparison.Ordinal);
        Assert.Contains("Requested Extensions:", text, StringComparison.Ordinal);
        Assert.Matches(@"X509v3 Key Usage: critical\s+Digital Signature\s", text);
        Assert.Matches(@"X509v3 Extended Key Usage:\s*\n\s+OCSP Signing\s", text);
        Assert.Contains("OCSP No Check", text, StringComparison.Ordinal);
        Assert.Contains("Signature Algorithm: " + signatureAlgorithm, text, StringComparison.Ordinal);

        // .NET reads it back too, with the same public key.
        var request = CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        Assert.Equal(3, request.CertificateExtensions.Count);
        return text;
    }

    [Theory]
    [InlineData("rsa", false, "sha256WithRSAEncryption")]
    [InlineData("rsa", true, "rsassaPss")]
    [InlineData("ec", false, "ecdsa-with-SHA256")]
    public async Task A_csr_for_a_local_key_file_verifies_and_requests_the_responder_extensions(string ca, bool pss, string algorithm)
    {
        var source = pki.Ca(ca);
        var der = await ResponderCsr.CreateForKeyFileAsync(source.ResponderKeyPath, Subject, pss);
        CheckWithOpenSsl(der, $"csr-local-{ca}-{pss}", algorithm);
        Assert.Equal(source.ResponderCertificate.PublicKey.ExportSubjectPublicKeyInfo(),
            CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256).PublicKey.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Signed in the vault stand-in, or (managedHsm) in the Managed HSM stand-in — the documented contract, not the services.</summary>
    [Theory]
    [InlineData("P-256", false, "ecdsa-with-SHA256", false)]
    [InlineData("P-384", false, "ecdsa-with-SHA384", false)]
    [InlineData("RSA-2048", false, "sha256WithRSAEncryption", false)]
    [InlineData("RSA-2048", true, "rsassaPss", false)]
    [InlineData("P-256", false, "ecdsa-with-SHA256", true)]
    [InlineData("RSA-2048", true, "rsassaPss", true)]
    public async Task A_csr_for_a_vault_or_managed_hsm_key_is_signed_there_and_verifies(string kind, bool pss, string algorithm, bool managedHsm)
    {
        await using var hsm = managedHsm ? await KeyVaultStandIn.StartAsync(managedHsm: true) : null;
        var service = hsm ?? _vault;
        using AsymmetricAlgorithm key = kind switch
        {
            "P-256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            "P-384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            _ => RSA.Create(2048),
        };
        service.AddKey("csr", key, hsm: true);
        using var signer = await KeyVaultSigner.CreateAsync(service.KeyId("csr"), new StandInTokenCredential(),
            service.SignerOptions(new KeyVaultSignerOptions { UsePss = pss }));
        Assert.Equal(managedHsm ? KeyVaultKind.ManagedHsm : KeyVaultKind.Vault, signer.KeyId.Kind);
        var der = await ResponderCsr.CreateAsync(signer, Subject);
        CheckWithOpenSsl(der, $"csr-{(managedHsm ? "hsm" : "vault")}-{kind}-{pss}", algorithm);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(),
            CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256).PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(1, service.Signed);
    }

    /// <summary>
    /// The csr verb refuses a key id that names neither a vault nor a Managed HSM before any credential or network call
    /// (exit 2, one line), and its help lists both forms.
    /// </summary>
    [Fact]
    public void The_csr_verb_refuses_a_key_id_that_is_neither_a_vault_nor_a_managed_hsm_and_its_help_names_both()
    {
        string dir = pki.NewWorkDir("csr-cli-host");
        string csr = Path.Combine(dir, "responder.csr");
        var refused = Engine.CliTests.Run(dir, "csr", "--key-vault-key-id", "https://ocsp.hsm.example.com/keys/responder",
            "--subject", "CN=x", "--out", csr);
        Assert.Equal(2, refused.Exit);
        Assert.Contains("'ocsp.hsm.example.com' is neither a key vault nor a Managed HSM host", refused.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(csr));

        var help = Engine.CliTests.Run(dir, "csr", "--help");
        Assert.Contains("https://NAME.vault.azure.net/keys/KEY[/VERSION]", help.Out, StringComparison.Ordinal);
        Assert.Contains("https://NAME.managedhsm.azure.net/keys/KEY[/VERSION]", help.Out, StringComparison.Ordinal);
    }
}
