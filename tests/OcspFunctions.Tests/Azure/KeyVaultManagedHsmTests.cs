using System.Diagnostics;
using System.Security.Cryptography;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Engine;

namespace OcspFunctions.Tests.KeyVault;

/// <summary>
/// Managed HSM keys against <see cref="KeyVaultStandIn"/> started as a Managed HSM STAND-IN: a loopback server
/// answering as NAME.managedhsm.… with the documented keys REST contract and a challenge naming the managedhsm
/// resource. It is not a Managed HSM (none can run here); it checks what the client does with that contract — the
/// token's scope, the api-version, the concurrency it declares — next to the same checks against a vault stand-in.
/// </summary>
public sealed class KeyVaultManagedHsmTests : IAsyncLifetime
{
    private KeyVaultStandIn _hsm = null!;
    private readonly StandInTokenCredential _credential = new();

    public async Task InitializeAsync() => _hsm = await KeyVaultStandIn.StartAsync(managedHsm: true);

    public async Task DisposeAsync() => await _hsm.DisposeAsync();

    private static KeyVaultSignerOptions Fast(bool usePss = false) => new()
    {
        UsePss = usePss,
        RetryDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
    };

    [Theory]
    [InlineData("P-256", false, "ES256")]
    [InlineData("P-384", false, "ES384")]
    [InlineData("RSA-2048", true, "PS256")]
    public async Task A_managed_hsm_key_signs_with_a_token_for_the_managedhsm_scope_the_challenge_names(string kind, bool pss, string algorithm)
    {
        using AsymmetricAlgorithm key = kind switch
        {
            "P-256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            "P-384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            _ => RSA.Create(2048),
        };
        var entry = _hsm.AddKey("responder", key);
        using var signer = await KeyVaultSigner.CreateAsync(_hsm.KeyId("responder"), _credential, _hsm.SignerOptions(Fast(pss)));

        Assert.Equal(KeyVaultKind.ManagedHsm, signer.KeyId.Kind);
        Assert.Equal(KeyVaultStandIn.ManagedHsmHost, signer.KeyId.VaultUri.Host);
        Assert.Equal(entry.Version, signer.KeyId.Version);
        Assert.EndsWith("-HSM", signer.KeyType, StringComparison.Ordinal);
        Assert.Equal(algorithm, signer.Algorithm.Name);

        byte[] data = RandomNumberGenerator.GetBytes(200);
        byte[] signature = await signer.SignAsync(data, CancellationToken.None);
        Assert.True(KeyVaultSignerTests.Verifies(key, signer, data, signature));

        // Unauthenticated GET → 401 challenge naming https://managedhsm.standin.test (as a real HSM names
        // https://managedhsm.azure.net); then the token for that resource's /.default scope, and the 2025-07-01 API.
        var requests = _hsm.Requests.ToArray();
        Assert.Equal((null, 401), (requests[0].Authorization, requests[0].Status));
        Assert.All(requests.Skip(1), r => Assert.Equal(("Bearer " + KeyVaultStandIn.AccessToken, 200), (r.Authorization, r.Status)));
        Assert.All(requests, r => Assert.Equal("2025-07-01", r.ApiVersion));
        Assert.NotEmpty(_credential.Requests);
        Assert.All(_credential.Requests, c =>
        {
            Assert.Equal([KeyVaultStandIn.ManagedHsmResource + "/.default"], c.Scopes);
            Assert.Equal([signer.KeyId.Scope], c.Scopes);
            Assert.Equal(KeyVaultStandIn.TenantId, c.TenantId);
        });
    }

    [Fact]
    public async Task A_managed_hsm_whose_challenge_names_the_vault_resource_gets_no_token()
    {
        // A vault's resource is not a parent domain of NAME.managedhsm.…: asking for that token would hand a vault
        // token to the wrong service (or a lookalike host).
        _hsm.Challenge = $"Bearer authorization=\"https://login.standin.test/{KeyVaultStandIn.TenantId}\", resource=\"{KeyVaultStandIn.Resource}\"";
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _hsm.AddKey("k", key);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            KeyVaultSigner.CreateAsync(_hsm.KeyId("k"), _credential, _hsm.SignerOptions(Fast())));
        Assert.Contains("'vault.standin.test' is not a parent domain of the vault host 'ocsp.managedhsm.standin.test'", e.Message, StringComparison.Ordinal);
        Assert.Empty(_credential.Requests);
    }

    [Fact]
    public void A_managed_hsm_holds_only_hsm_keys()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Throws<ArgumentException>(() => _hsm.AddKey("soft", key, hsm: false));
        Assert.Equal("EC-HSM", _hsm.AddKey("hard", key).Kty);
    }

    [Fact]
    public async Task A_403_from_a_managed_hsm_names_its_local_rbac_role()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _hsm.AddKey("k", key);
        using var signer = await KeyVaultSigner.CreateAsync(_hsm.KeyId("k"), _credential, _hsm.SignerOptions(Fast()));
        _hsm.SignFaults.Enqueue(new StandInFault.Status(403, "Forbidden"));
        var e = await Assert.ThrowsAsync<KeyVaultException>(async () => await signer.SignAsync(new byte[5], CancellationToken.None));
        Assert.Contains("Managed HSM Crypto User", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The concurrency each kind declares, observed at the stand-in: sign requests are held at a gate while more calls
    /// than the cap are started; exactly the limiter's starting limit reach the service (a vault 16 — its quota is
    /// found by backing off on 429 — a Managed HSM 64, as it does not throttle), the engine is told the cap
    /// (<see cref="KeyVaultSigner.PreferredConcurrency"/>: 64 / 128), and once the gate opens every call signs.
    /// Signers come from <see cref="KeyVaultSignerFactory"/>, which picks the limiter by the key id's kind.
    /// </summary>
    [Theory]
    [InlineData(false, 16, 64)]
    [InlineData(true, 64, 128)]
    public async Task Each_kind_declares_its_own_concurrency_and_only_that_many_calls_reach_the_service(bool managedHsm, int initial, int cap)
    {
        await using var vault = managedHsm ? null : await KeyVaultStandIn.StartAsync();
        var service = vault ?? _hsm;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        service.AddKey("k", key, hsm: true);
        var factory = new KeyVaultSignerFactory(_credential, service.SignerOptions(Fast()));
        using var signer = Assert.IsType<KeyVaultSigner>(await factory.CreateAsync(
            "kind", service.KeyId("k"), usePss: false, CancellationToken.None));
        Assert.Equal(managedHsm ? KeyVaultKind.ManagedHsm : KeyVaultKind.Vault, signer.KeyId.Kind);
        Assert.Equal(cap, signer.PreferredConcurrency);

        service.SignGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, cap + 8).Select(i => signer.SignAsync(BitConverter.GetBytes(i), CancellationToken.None).AsTask()).ToArray();
        var stopwatch = Stopwatch.StartNew();
        while (service.SignsInFlight < initial && stopwatch.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(20);
        await Task.Delay(300); // room for more to arrive, were the limiter letting them through
        Assert.Equal(initial, service.SignsInFlight);
        Assert.Equal(initial, signer.Limiter.InFlight);

        service.SignGate.SetResult();
        byte[][] signatures = await Task.WhenAll(calls);
        for (int i = 0; i < signatures.Length; i++)
            Assert.True(key.VerifyData(BitConverter.GetBytes(i), signatures[i], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.InRange(service.MaxConcurrentSigns, initial, cap); // successes raise the limit additively after the gate opens
        Assert.Equal(0, signer.Statistics.Throttled);
    }
}
