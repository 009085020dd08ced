using System.Diagnostics;
using System.Security.Cryptography;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Tests.KeyVault;

/// <summary>
/// <see cref="KeyVaultSigner"/> against <see cref="KeyVaultStandIn"/>, a loopback STAND-IN for Key Vault that
/// implements its documented REST contract (it is not Key Vault: none can run here).
/// </summary>
public sealed class KeyVaultSignerTests : IAsyncLifetime
{
    private KeyVaultStandIn _vault = null!;
    private readonly StandInTokenCredential _credential = new();

    public async Task InitializeAsync() => _vault = await KeyVaultStandIn.StartAsync();

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    private Task<KeyVaultSigner> CreateAsync(string name, KeyVaultSignerOptions? options = null) =>
        KeyVaultSigner.CreateAsync(_vault.KeyId(name), _credential, _vault.SignerOptions(options));

    private static KeyVaultSignerOptions Fast(Func<KeyVaultSignerOptions, KeyVaultSignerOptions>? change = null)
    {
        var options = new KeyVaultSignerOptions
        {
            RetryDelay = TimeSpan.FromMilliseconds(20),
            MaxRetryDelay = TimeSpan.FromMilliseconds(200),
            PerCallTimeout = TimeSpan.FromSeconds(5),
        };
        return change is null ? options : change(options);
    }

    public static TheoryData<string, bool, bool, string> Keys => new()
    {
        { "P-256", false, false, "ES256" },
        { "P-256", true, false, "ES256" },
        { "P-384", false, false, "ES384" },
        { "RSA-2048", false, false, "RS256" },
        { "RSA-2048", true, true, "PS256" },
        { "RSA-3072", false, true, "PS256" },
    };

    private static AsymmetricAlgorithm NewKey(string kind) => kind switch
    {
        "P-256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        "P-384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        "RSA-2048" => RSA.Create(2048),
        "RSA-3072" => RSA.Create(3072),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public async Task Reads_the_jwk_pins_the_version_and_signs_verifiable_signatures(string kind, bool hsm, bool pss, string algorithm)
    {
        using var key = NewKey(kind);
        var entry = _vault.AddKey("responder", key, hsm);
        using var signer = await CreateAsync("responder", Fast(o => o with { UsePss = pss }));

        Assert.Equal(algorithm, signer.Algorithm.Name);
        Assert.Equal(entry.Kty, signer.KeyType);
        Assert.Equal(entry.Version, signer.KeyId.Version);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), await signer.GetSubjectPublicKeyInfoAsync(CancellationToken.None));

        byte[] data = RandomNumberGenerator.GetBytes(300);
        byte[] signature = await signer.SignAsync(data, CancellationToken.None);
        // The DER form that goes into the BIT STRING verifies over the data with the key's public half.
        Assert.True(Verifies(key, signer, data, signature));
        Assert.Equal(1, signer.Statistics.Signatures);
        Assert.Contains(_vault.Requests, r => r.Method == "POST" && r.Path == $"/keys/responder/{entry.Version}/sign" && r.Status == 200);
    }

    [Theory]
    [InlineData("resource")]
    [InlineData("scope")]
    public async Task The_first_request_gets_the_challenge_and_the_token_is_for_its_scope_and_tenant(string form)
    {
        if (form == "scope")
            _vault.Challenge = $"Bearer authorization_uri=\"https://login.standin.test/{KeyVaultStandIn.TenantId}\", scope=\"{KeyVaultStandIn.Resource}/.default\"";
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _vault.AddKey("k", key);
        using var signer = await CreateAsync("k");
        await signer.SignAsync(new byte[10], CancellationToken.None);

        var requests = _vault.Requests.ToArray();
        Assert.Equal(3, requests.Length);
        // 1: unauthenticated, answered with the challenge; 2: the same GET with the token; 3: sign, authorized up front.
        Assert.Equal(("GET", (string?)null, 401), (requests[0].Method, requests[0].Authorization, requests[0].Status));
        Assert.Equal(("GET", "Bearer " + KeyVaultStandIn.AccessToken, 200), (requests[1].Method, requests[1].Authorization, requests[1].Status));
        Assert.Equal(("POST", "Bearer " + KeyVaultStandIn.AccessToken, 200), (requests[2].Method, requests[2].Authorization, requests[2].Status));
        Assert.All(requests, r => Assert.Equal(KeyVaultStandIn.ApiVersion, r.ApiVersion));
        Assert.NotEmpty(_credential.Requests);
        Assert.All(_credential.Requests, c =>
        {
            Assert.Equal([KeyVaultStandIn.Resource + "/.default"], c.Scopes);
            Assert.Equal(KeyVaultStandIn.TenantId, c.TenantId);
        });
    }

    [Fact]
    public async Task A_challenge_for_a_resource_outside_the_vault_domain_is_refused_before_asking_for_a_token()
    {
        _vault.Challenge = "Bearer authorization=\"https://login.microsoftonline.com/tenant\", resource=\"https://vault.azure.net\"";
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _vault.AddKey("k", key);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => CreateAsync("k"));
        Assert.Contains("'vault.azure.net' is not a parent domain of the vault host", e.Message, StringComparison.Ordinal);
        Assert.Empty(_credential.Requests);
    }

    [Fact]
    public async Task Throttling_server_errors_and_slow_answers_are_retried_and_succeed()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _vault.AddKey("k", key);
        using var signer = await CreateAsync("k", Fast(o => o with { PerCallTimeout = TimeSpan.FromMilliseconds(500) }));
        _vault.SignFaults.Enqueue(new StandInFault.TooManyRequests());               // no Retry-After: back-off
        _vault.SignFaults.Enqueue(new StandInFault.TooManyRequests("1"));            // Retry-After: 1 s
        _vault.SignFaults.Enqueue(new StandInFault.Status(500));
        _vault.SignFaults.Enqueue(new StandInFault.Status(503, "ServiceUnavailable"));
        _vault.SignFaults.Enqueue(new StandInFault.Slow(TimeSpan.FromSeconds(3)));   // beyond the 0.5 s per-call time-out

        var stopwatch = Stopwatch.StartNew();
        byte[] signature = await signer.SignAsync("tbs"u8.ToArray(), CancellationToken.None);
        Assert.True(key.VerifyData("tbs"u8, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(1), "Retry-After: 1 was not honoured");
        Assert.Equal(5, signer.Statistics.Retries);
        Assert.Equal(2, signer.Statistics.Throttled);
        Assert.Equal(2, signer.Statistics.ServerErrors);
        Assert.Equal(1, signer.Statistics.Timeouts);
        Assert.Equal(0, signer.Statistics.Failures);
        Assert.True(signer.Limiter.Changes.Decreases >= 1, "429 should lower the concurrency limit");
        Assert.True(signer.Limiter.Limit < 16);
    }

    [Fact]
    public async Task A_persistent_failure_ends_in_an_exception_after_the_retries()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _vault.AddKey("k", key);
        using var signer = await CreateAsync("k", Fast(o => o with { MaxRetries = 3 }));
        _vault.FailDigest = _ => true;
        var e = await Assert.ThrowsAsync<KeyVaultException>(async () => await signer.SignAsync(new byte[5], CancellationToken.None));
        Assert.Contains("failed after 4 attempts: HTTP 500 InternalServerError", e.Message, StringComparison.Ordinal);
        Assert.Equal(500, e.Status);
        Assert.Equal(4, _vault.SignRequests);
        Assert.Equal(1, signer.Statistics.Failures);
    }

    [Theory]
    [InlineData(403, "Forbidden", "Key Vault Crypto User")]
    [InlineData(400, "BadParameter", "BadParameter")]
    public async Task A_client_error_is_not_retried(int status, string code, string message)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _vault.AddKey("k", key);
        using var signer = await CreateAsync("k", Fast());
        _vault.SignFaults.Enqueue(new StandInFault.Status(status, code));
        var e = await Assert.ThrowsAsync<KeyVaultException>(async () => await signer.SignAsync(new byte[5], CancellationToken.None));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(code, e.ErrorCode);
        Assert.Equal(1, _vault.SignRequests);
    }

    [Fact]
    public async Task A_signature_of_the_wrong_length_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        _vault.AddKey("k", key);
        using var signer = await CreateAsync("k", Fast());
        _vault.SignFaults.Enqueue(new StandInFault.WrongLengthSignature());
        var e = await Assert.ThrowsAsync<KeyVaultException>(async () => await signer.SignAsync(new byte[5], CancellationToken.None));
        Assert.Contains("ES384 signature of 95 octets, expected 96", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retry_after_beyond_the_cap_fails_at_once()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _vault.AddKey("k", key);
        using var signer = await CreateAsync("k", Fast(o => o with { MaxRetryAfter = TimeSpan.FromSeconds(30) }));
        _vault.SignFaults.Enqueue(new StandInFault.TooManyRequests("3600"));
        var e = await Assert.ThrowsAsync<KeyVaultException>(async () => await signer.SignAsync(new byte[5], CancellationToken.None));
        Assert.Contains("retry after 3600 s", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, _vault.SignRequests);
    }

    [Fact]
    public async Task An_unknown_key_fails_creation_with_the_vault_error()
    {
        var e = await Assert.ThrowsAsync<KeyVaultException>(() => CreateAsync("missing", Fast()));
        Assert.Contains("HTTP 404 KeyNotFound", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_a_rate_limit_every_signature_succeeds_and_the_limiter_backs_off()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _vault.AddKey("k", key);
        _vault.RateLimit = new StandInRateLimit(perSecond: 200, burst: 100);
        _vault.SignLatency = TimeSpan.FromMilliseconds(5);
        using var signer = await CreateAsync("k", Fast(o => o with { MaxRetries = 8 }));
        int failures = 0;
        var stopwatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, 300), new ParallelOptions { MaxDegreeOfParallelism = signer.PreferredConcurrency },
            async (i, ct) =>
            {
                try
                {
                    await signer.SignAsync(BitConverter.GetBytes(i), ct);
                }
                catch (KeyVaultException)
                {
                    Interlocked.Increment(ref failures);
                }
            });
        stopwatch.Stop();
        Assert.Equal(0, failures);
        Assert.Equal(300, signer.Statistics.Signatures);
        Assert.True(_vault.Throttled > 0, "the rate limit should have been hit");
        Assert.True(signer.Limiter.Changes.Decreases > 0);
        // 300 signatures at 200/s with a burst of 100: at least 1 s; a generous margin above for a busy machine.
        Assert.InRange(stopwatch.Elapsed.TotalSeconds, 0.95, 15);
    }

    [Theory]
    [InlineData("http://v.vault.azure.net/keys/k", "https")]
    [InlineData("https://v.vault.azure.net/secrets/k", "/keys/KEY")]
    [InlineData("https://v.vault.azure.net/keys/bad_name", "not a valid key name")]
    [InlineData("https://v.vault.azure.net/keys/k/v/x", "/keys/KEY")]
    [InlineData("not a url", "absolute URL")]
    [InlineData("https://example.com/keys/k", "'example.com' is neither a key vault nor a Managed HSM host")]
    [InlineData("https://vault.azure.net/keys/k", "neither a key vault nor a Managed HSM host")]
    [InlineData("https://v.privatelink.vaultcore.azure.net/keys/k", "neither a key vault nor a Managed HSM host")]
    [InlineData("https://v.keyvault.azure.net/keys/k", "neither a key vault nor a Managed HSM host")]
    [InlineData("https://127.0.0.1/keys/k", "neither a key vault nor a Managed HSM host")]
    public void Bad_key_ids_are_refused(string keyId, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => KeyVaultKeyId.Parse(keyId));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_ids_parse_with_and_without_version()
    {
        var id = KeyVaultKeyId.Parse("https://my-vault.vault.azure.net/keys/ocsp-responder/0123456789abcdef0123456789abcdef");
        Assert.Equal(new Uri("https://my-vault.vault.azure.net/"), id.VaultUri);
        Assert.Equal(("ocsp-responder", "0123456789abcdef0123456789abcdef"), (id.Name, id.Version));
        var latest = KeyVaultKeyId.Parse("https://my-vault.vault.azure.net/keys/ocsp-responder/");
        Assert.Null(latest.Version);
        Assert.Equal("https://my-vault.vault.azure.net/keys/ocsp-responder", latest.ToString());
    }

    /// <summary>
    /// Vaults and Managed HSMs in the public and sovereign clouds: the kind comes from the host's second label and the
    /// scope Key Vault's challenge will name is the host without its first label (as documented for each cloud).
    /// </summary>
    [Theory]
    [InlineData("https://my-vault.vault.azure.net/keys/k", KeyVaultKind.Vault, "https://vault.azure.net/.default")]
    [InlineData("https://my-hsm.managedhsm.azure.net/keys/k/0123456789abcdef0123456789abcdef", KeyVaultKind.ManagedHsm, "https://managedhsm.azure.net/.default")]
    [InlineData("https://MY-HSM.ManagedHSM.Azure.Net/keys/k", KeyVaultKind.ManagedHsm, "https://managedhsm.azure.net/.default")]
    [InlineData("https://v.vault.azure.cn/keys/k", KeyVaultKind.Vault, "https://vault.azure.cn/.default")]
    [InlineData("https://v.vault.usgovcloudapi.net/keys/k", KeyVaultKind.Vault, "https://vault.usgovcloudapi.net/.default")]
    [InlineData("https://h.managedhsm.usgovcloudapi.net/keys/k", KeyVaultKind.ManagedHsm, "https://managedhsm.usgovcloudapi.net/.default")]
    [InlineData("https://h.managedhsm.azure.cn/keys/k", KeyVaultKind.ManagedHsm, "https://managedhsm.azure.cn/.default")]
    public void Key_ids_of_vaults_and_managed_hsms_in_every_cloud_parse_with_their_kind_and_scope(string keyId, KeyVaultKind kind, string scope)
    {
        var id = KeyVaultKeyId.Parse(keyId);
        Assert.Equal(kind, id.Kind);
        Assert.Equal(scope, id.Scope);
        Assert.Equal("k", id.Name);
    }

    [Fact]
    public void The_default_api_version_is_2025_07_01_and_the_limiter_settings_follow_the_kind()
    {
        var options = new KeyVaultSignerOptions();
        Assert.Equal("2025-07-01", options.ApiVersion);
        Assert.Equal((16, 64), (options.LimiterFor(KeyVaultKind.Vault).Initial, options.LimiterFor(KeyVaultKind.Vault).Maximum));
        Assert.Equal((64, 128), (options.LimiterFor(KeyVaultKind.ManagedHsm).Initial, options.LimiterFor(KeyVaultKind.ManagedHsm).Maximum));
    }

    [Theory]
    [InlineData("Bearer authorization=\"https://login.microsoftonline.com/72f988bf\", resource=\"https://vault.azure.net\"", "resource", "https://vault.azure.net")]
    [InlineData("Bearer authorization=\"https://login.microsoftonline.com/72f988bf\", resource=\"https://vault.azure.net\"", "authorization", "https://login.microsoftonline.com/72f988bf")]
    [InlineData("PoP nonce=\"x, y\", Bearer scope=\"https://vault.azure.net/.default\"", "scope", "https://vault.azure.net/.default")]
    [InlineData("Bearer realm=\"\", authorization_uri=https://login.example/t, error=\"invalid_token\"", "authorization_uri", "https://login.example/t")]
    public void Challenges_parse(string header, string parameter, string value)
    {
        var parameters = AuthenticationChallenge.Parse(header, "Bearer");
        Assert.NotNull(parameters);
        Assert.Equal(value, parameters[parameter]);
    }

    [Fact]
    public void Retry_after_is_read_as_seconds_milliseconds_or_a_date()
    {
        var now = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(7), KeyVaultRetry.ParseRetryAfter("7", null, now));
        Assert.Equal(TimeSpan.FromMilliseconds(250), KeyVaultRetry.ParseRetryAfter("7", "250", now));
        Assert.Equal(TimeSpan.FromSeconds(90), KeyVaultRetry.ParseRetryAfter("Sun, 01 Mar 2026 12:01:30 GMT", null, now));
        Assert.Equal(TimeSpan.Zero, KeyVaultRetry.ParseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", null, now));
        Assert.Null(KeyVaultRetry.ParseRetryAfter("soon", null, now));
        Assert.Null(KeyVaultRetry.ParseRetryAfter(null, null, now));
        // 1, 2, 4, 8, 16, 16 s (±20 %).
        double[] expected = [1, 2, 4, 8, 16, 16];
        for (int i = 0; i < expected.Length; i++)
            Assert.InRange(KeyVaultRetry.Backoff(i, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(16)).TotalSeconds, expected[i] * 0.8, expected[i] * 1.2);
    }

    [Fact]
    public async Task The_limiter_halves_once_per_congestion_event_grows_additively_and_stays_within_bounds()
    {
        var limiter = new AdaptiveConcurrencyLimiter(new KeyVaultLimiterOptions { Initial = 8, Minimum = 1, Maximum = 10, IncreaseAfter = 2 });
        var leases = new List<AdaptiveConcurrencyLimiter.Lease>();
        for (int i = 0; i < 8; i++) leases.Add(await limiter.AcquireAsync(CancellationToken.None));
        var ninth = limiter.AcquireAsync(CancellationToken.None).AsTask();
        Assert.False(ninth.IsCompleted);

        // Three calls in flight at the same time are throttled: one halving, not three.
        limiter.Release(leases[0], LimiterSignal.Throttled);
        limiter.Release(leases[1], LimiterSignal.Throttled);
        limiter.Release(leases[2], LimiterSignal.Throttled);
        Assert.Equal(4, limiter.Limit);
        Assert.Equal(5, limiter.InFlight);
        Assert.False(ninth.IsCompleted);
        for (int i = 3; i < 8; i++) limiter.Release(leases[i], LimiterSignal.Neutral);
        var lease9 = await ninth; // granted once in-flight fell below the limit

        // A call started after the decrease halves again; the floor holds.
        limiter.Release(lease9, LimiterSignal.Throttled);
        Assert.Equal(2, limiter.Limit);
        for (int i = 0; i < 3; i++) limiter.Release(await limiter.AcquireAsync(CancellationToken.None), LimiterSignal.Throttled);
        Assert.Equal(1, limiter.Limit);

        // +1 per two successes, up to the cap.
        for (int i = 0; i < 40; i++) limiter.Release(await limiter.AcquireAsync(CancellationToken.None), LimiterSignal.Success);
        Assert.Equal(10, limiter.Limit);

        // Cancelling a queued waiter leaves no slot behind.
        var held = new List<AdaptiveConcurrencyLimiter.Lease>();
        for (int i = 0; i < 10; i++) held.Add(await limiter.AcquireAsync(CancellationToken.None));
        using var cts = new CancellationTokenSource();
        var waiting = limiter.AcquireAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        foreach (var l in held) limiter.Release(l, LimiterSignal.Neutral);
        Assert.Equal(0, limiter.InFlight);
    }

    [Fact]
    public async Task The_retry_after_gate_holds_every_caller()
    {
        var limiter = new AdaptiveConcurrencyLimiter();
        limiter.PauseUntil(DateTimeOffset.UtcNow.AddMilliseconds(300));
        var stopwatch = Stopwatch.StartNew();
        var lease = await limiter.AcquireAsync(CancellationToken.None);
        Assert.True(stopwatch.ElapsedMilliseconds >= 250);
        limiter.Release(lease, LimiterSignal.Success);
    }

    /// <summary>The DER signature a Key Vault signer returns verifies over the data with the key's public half.</summary>
    internal static bool Verifies(AsymmetricAlgorithm key, KeyVaultSigner signer, byte[] data, byte[] signature) => key switch
    {
        RSA rsa => rsa.VerifyData(data, signature, signer.Algorithm.HashAlgorithm, signer.Algorithm.RsaPadding),
        ECDsa ec => ec.VerifyData(data, signature, signer.Algorithm.HashAlgorithm, DSASignatureFormat.Rfc3279DerSequence),
        _ => false,
    };
}
