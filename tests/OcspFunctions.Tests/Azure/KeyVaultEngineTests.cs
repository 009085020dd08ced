using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;
using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.KeyVault;

/// <summary>
/// The refresh signing through <see cref="KeyVaultSigner"/> against the Key Vault STAND-IN (<see cref="KeyVaultStandIn"/>,
/// a loopback server implementing the REST contract; not Key Vault), holding the real responder keys of the
/// openssl-built test PKI. Every response is checked by <c>openssl ocsp -respin … -CAfile …</c>.
/// </summary>
[Collection("pki")]
public sealed class KeyVaultEngineTests(TestPki pki) : IAsyncLifetime
{
    private KeyVaultStandIn _vault = null!;
    private readonly StandInTokenCredential _credential = new();

    public async Task InitializeAsync() => _vault = await KeyVaultStandIn.StartAsync();

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    private sealed class Setup
    {
        public required CaWorkspace Ca { get; init; }
        public required string StoreDir { get; init; }
        public required OcspOptions Options { get; init; }
        public required ISignerFactory Signers { get; init; }
        public OcspIssuer Issuer => new(X509CertificateLoader.LoadCertificateFromFile(Ca.CaCertPath));
        public IssuerOptions IssuerOptions => Options.Issuers[0];

        public async Task<IssuerRefreshResult> RunAsync()
        {
            var report = await new RefreshEngine(Options, new FileSystemObjectStore(StoreDir), new CompositeSourceReader([new FileSourceReader()]),
                Signers, TimeProvider.System, NullLogger<RefreshEngine>.Instance).RunAsync(CancellationToken.None);
            return Assert.Single(report.Issuers);
        }

        public Task<StoredResponse?> FindAsync(string serialHex, CertIdHashAlgorithm algorithm = CertIdHashAlgorithm.Sha1) =>
            StoredResponses.FindAsync(new FileSystemObjectStore(StoreDir), Issuer, serialHex, algorithm);
    }

    private KeyVaultSignerFactory KeyVaultFactory(KeyVaultStandIn service) => new(_credential, service.SignerOptions(new KeyVaultSignerOptions
    {
        RetryDelay = TimeSpan.FromMilliseconds(10),
        MaxRetryDelay = TimeSpan.FromMilliseconds(50),
        MaxRetries = 3,
    }));

    /// <summary>A workspace whose responder key lives in the stand-in (the key file is not configured); the vault one unless given.</summary>
    private Setup Create(string hint, TestCa source, bool usePss = false, AsymmetricAlgorithm? vaultKey = null, KeyVaultStandIn? service = null)
    {
        service ??= _vault;
        var ca = new CaWorkspace(pki, source, hint);
        var key = vaultKey ?? LoadKey(ca.ResponderKeyPath);
        service.AddKey(hint, key, hsm: true);
        string storeDir = Path.Combine(ca.Directory, "store");
        var options = ca.Options(hint);
        options.Issuers[0].Responder.Key = null;
        options.Issuers[0].Responder.UsePss = usePss;
        return new Setup
        {
            Ca = ca, StoreDir = storeDir, Options = options,
            Signers = new VaultKeyOf(KeyVaultFactory(service), service.KeyId(hint)),
        };
    }

    private static AsymmetricAlgorithm LoadKey(string pemPath)
    {
        string pem = File.ReadAllText(pemPath);
        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return rsa;
        }
        catch (CryptographicException)
        {
        }
        catch (ArgumentException)
        {
        }
        var ec = ECDsa.Create();
        ec.ImportFromPem(pem);
        return ec;
    }

    private static async Task AssertAllVerifyWithOpenSslAsync(Setup s, SignatureAlgorithm algorithm)
    {
        foreach (var leaf in s.Ca.Source.Leaves)
        {
            string path = await StoredResponses.FileAsync(new FileSystemObjectStore(s.StoreDir), s.Issuer, leaf.SerialHex, s.Ca.Directory);
            var basic = OcspResponse.Decode(File.ReadAllBytes(path)).Basic!;
            Assert.Equal(algorithm.AlgorithmIdentifier, basic.SignatureAlgorithm);
            var result = OpenSsl.Run(s.Ca.Directory, ["ocsp", "-respin", path, "-issuer", s.Ca.CaCertPath, "-CAfile", s.Ca.CaCertPath,
                "-serial", "0x" + leaf.SerialHex, "-no_nonce"], check: false);
            Assert.Contains("Response verify OK", result.Output, StringComparison.Ordinal);
            Assert.Contains(leaf.IsRevoked ? ": revoked" : ": good", result.StdOut, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("rsa", false, "RS256")]
    [InlineData("rsa", true, "PS256")]
    [InlineData("ec", false, "ES256")]
    public async Task Responses_signed_in_the_stand_in_verify_with_openssl(string ca, bool usePss, string algorithm)
    {
        var s = Create($"kv-{algorithm}", pki.Ca(ca), usePss);
        _vault.SignLatency = TimeSpan.FromMilliseconds(30);
        var result = await s.RunAsync();
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal((s.Ca.Source.Leaves.Count + 1) * 2, result.ResponsesSigned);
        await AssertAllVerifyWithOpenSslAsync(s, SignatureAlgorithm.FromName(algorithm));
        // The challenge came first, then every call carried the token for the challenge's scope.
        Assert.Null(_vault.Requests.First().Authorization);
        Assert.All(_vault.Requests.Skip(1), r => Assert.Equal("Bearer " + KeyVaultStandIn.AccessToken, r.Authorization));
        Assert.All(_credential.Requests, c => Assert.Equal([KeyVaultStandIn.Resource + "/.default"], c.Scopes));
        // SigningConcurrency is 0: the engine used the signer's own bound, not one call per processor.
        Assert.True(_vault.MaxConcurrentSigns > Math.Min(Environment.ProcessorCount, 4),
            $"at most {_vault.MaxConcurrentSigns} signatures were in flight at once");
    }

    /// <summary>
    /// The refresh with the responder key in a Managed HSM STAND-IN (NAME.managedhsm.…, challenge resource
    /// https://managedhsm.standin.test — the documented contract, not a Managed HSM): every response verifies with openssl,
    /// the token was asked for the managedhsm scope, every call used api-version 2025-07-01 and nothing went to the vault.
    /// (The concurrency a Managed HSM key declares is checked in <see cref="KeyVaultManagedHsmTests"/>: the test PKI has
    /// too few serials to show it here.)
    /// </summary>
    [Theory]
    [InlineData("ec", false, "ES256")]
    [InlineData("rsa", true, "PS256")]
    public async Task Responses_signed_in_the_managed_hsm_stand_in_verify_with_openssl(string ca, bool usePss, string algorithm)
    {
        await using var hsm = await KeyVaultStandIn.StartAsync(managedHsm: true);
        var s = Create($"hsm-{algorithm}", pki.Ca(ca), usePss, service: hsm);
        hsm.SignLatency = TimeSpan.FromMilliseconds(30);
        var result = await s.RunAsync();
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal((s.Ca.Source.Leaves.Count + 1) * 2, result.ResponsesSigned);
        Assert.Equal(result.ResponsesSigned, hsm.Signed);
        await AssertAllVerifyWithOpenSslAsync(s, SignatureAlgorithm.FromName(algorithm));
        Assert.All(_credential.Requests, c => Assert.Equal([KeyVaultStandIn.ManagedHsmResource + "/.default"], c.Scopes));
        Assert.All(hsm.Requests, r => Assert.Equal(KeyVaultStandIn.ApiVersion, r.ApiVersion));
        Assert.Equal(0, _vault.SignRequests);
    }

    /// <summary>
    /// The whole Key Vault path for a P-384 key: a CSR signed in the stand-in, issued by <c>openssl ca</c> with the
    /// responder profile, then responses signed with ES384.
    /// </summary>
    [Fact]
    public async Task A_p384_key_gets_a_certificate_from_its_csr_and_signs_es384_responses()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var s = Create("kv-ES384", pki.EcCa, vaultKey: key);
        using var signer = await KeyVaultSigner.CreateAsync(_vault.KeyId("kv-ES384"), _credential, _vault.SignerOptions());
        var csr = await ResponderCsr.CreateAsync(signer, new X500DistinguishedName("CN=Test EC Root CA OCSP Responder P-384"));
        File.WriteAllText(Path.Combine(s.Ca.Directory, "kv.csr"), ResponderCsr.ToPem(csr));
        Assert.Contains("verify OK", OpenSsl.Run(s.Ca.Directory, "req", "-in", "kv.csr", "-verify", "-noout").Output, StringComparison.Ordinal);

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x10);
        File.WriteAllText(Path.Combine(s.Ca.Directory, "serial"), Convert.ToHexString(serial) + "\n");
        OpenSsl.Run(s.Ca.Directory, "ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", "kv.csr", "-out", "responder-p384.pem",
            "-extensions", "ocsp_ext", "-days", "2");
        s.IssuerOptions.Responder.Certificate = Path.Combine(s.Ca.Directory, "responder-p384.pem");

        var result = await s.RunAsync();
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        await AssertAllVerifyWithOpenSslAsync(s, SignatureAlgorithm.ES384);
    }

    [Fact]
    public async Task A_persistently_failing_signature_publishes_nothing_for_that_serial_and_the_next_run_does()
    {
        var s = Create("kv-fail", pki.RsaCa);
        byte[]? doomed = null;
        _vault.FailDigest = digest =>
        {
            // The first digest the vault sees fails on every retry; everything else signs.
            Interlocked.CompareExchange(ref doomed, digest, null);
            return digest.AsSpan().SequenceEqual(doomed);
        };
        var first = await s.RunAsync();
        Assert.False(first.Succeeded);
        Assert.Equal(1, first.SigningFailures);
        Assert.Contains(first.Errors, e => e.Contains("failed after 4 attempts: HTTP 500", StringComparison.Ordinal));
        int serials = s.Ca.Source.Leaves.Count + 1;
        Assert.Equal((serials - 1) * 2, first.ResponsesSigned);
        var missing = new List<TestLeaf>();
        foreach (var leaf in s.Ca.Source.Leaves)
            if (await s.FindAsync(leaf.SerialHex) is null) missing.Add(leaf);
        Assert.True(missing.Count <= 1); // the failed serial may be the responder certificate's own
        foreach (var leaf in missing) Assert.Null(await s.FindAsync(leaf.SerialHex, CertIdHashAlgorithm.Sha256));
        Assert.Equal(serials - 1, (await ShardedIndexStore.ReadAllAsync(new FileSystemObjectStore(s.StoreDir), s.Issuer.KeyHashHex, CancellationToken.None)).Entries.Count);

        _vault.FailDigest = null;
        var second = await s.RunAsync();
        Assert.True(second.Succeeded, string.Join("; ", second.Errors));
        Assert.Equal(1, second.Changed);
        Assert.Equal(2, second.ResponsesSigned);
        await AssertAllVerifyWithOpenSslAsync(s, SignatureAlgorithm.RS256);
    }

    [Fact]
    public async Task A_vault_key_that_is_not_the_responder_certificates_key_fails_the_issuer()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var s = Create("kv-mismatch", pki.EcCa, vaultKey: other);
        var result = await s.RunAsync();
        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains("the responder key does not match the responder certificate", StringComparison.Ordinal));
        Assert.Equal(0, result.ResponsesSigned);
        // Nothing published: no index, no packs (the manifest records the error).
        Assert.False(Directory.Exists(Path.Combine(s.StoreDir, StoreLayout.IndexFolder(s.Issuer.KeyHashHex))));
        Assert.False(Directory.Exists(Path.Combine(s.StoreDir, StoreLayout.Packs(s.Issuer.KeyHashHex))));
        Assert.True(File.Exists(Path.Combine(s.StoreDir, StoreLayout.Manifest(s.Issuer.KeyHashHex))));
        Assert.Equal(0, _vault.SignRequests);
    }

    [Fact]
    public async Task Local_key_files_and_vault_keys_mix_per_issuer()
    {
        var vaultIssuer = Create("kv-mixed", pki.EcCa);
        var local = new CaWorkspace(pki, pki.RsaCa, "local-mixed");
        vaultIssuer.Options.Issuers.Add(new IssuerOptions
        {
            Name = "local",
            Certificate = local.CaCertPath,
            Crls = { local.CrlPath },
            IssuedSerials = local.IndexPath,
            Responder = { Certificate = local.ResponderCertPath, Key = local.ResponderKeyPath },
        });
        var report = await new RefreshEngine(vaultIssuer.Options, new FileSystemObjectStore(vaultIssuer.StoreDir),
            new CompositeSourceReader([new FileSourceReader()]), vaultIssuer.Signers, TimeProvider.System, NullLogger<RefreshEngine>.Instance)
            .RunAsync(CancellationToken.None);
        Assert.True(report.Succeeded, string.Join("; ", report.Issuers.SelectMany(i => i.Errors)));
        Assert.Equal((pki.EcCa.Leaves.Count + 1) * 2, report.Issuers[0].ResponsesSigned);
        Assert.Equal((pki.RsaCa.Leaves.Count + 1) * 2, report.Issuers[1].ResponsesSigned);
        Assert.Equal((pki.EcCa.Leaves.Count + 1) * 2, _vault.Signed); // only the vault issuer went to the vault
        await AssertAllVerifyWithOpenSslAsync(vaultIssuer, SignatureAlgorithm.ES256);
    }

    [Fact]
    public async Task A_missing_vault_key_id_is_a_clear_error_naming_the_issuer()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => KeyVaultFactory(_vault).CreateAsync("x", " ", usePss: false, CancellationToken.None));
        Assert.Contains("issuer 'x': Responder:KeyVaultKeyId is not set", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The vault key for an issuer without a key file, else the key file (the host's own per-issuer dispatch is in Hosting).</summary>
    private sealed class VaultKeyOf(KeyVaultSignerFactory factory, string keyId) : ISignerFactory
    {
        public Task<OcspFunctions.Protocol.Signing.IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken) =>
            string.IsNullOrEmpty(issuer.Responder.Key)
                ? factory.CreateAsync(issuer.Name, keyId, issuer.Responder.UsePss, cancellationToken)
                : new LocalKeySignerFactory().CreateAsync(issuer, cancellationToken);
    }
}
