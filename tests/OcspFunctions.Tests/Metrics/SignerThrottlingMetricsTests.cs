using System.Security.Cryptography;
using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Hosting;
using OcspFunctions.Protocol.Signing;
using OcspFunctions.Tests.KeyVault;

namespace OcspFunctions.Tests.Metrics;

/// <summary>
/// <c>ocsp.signer.throttled</c> counts the 429s a Key Vault signer met, against the loopback STAND-IN of Key Vault's REST
/// contract (<see cref="KeyVaultStandIn"/>; Key Vault itself cannot run here).
/// </summary>
public sealed class SignerThrottlingMetricsTests
{
    [Fact]
    public async Task Each_429_the_key_vault_signer_meets_is_counted_once_and_the_concurrency_hint_is_kept()
    {
        await using var vault = await KeyVaultStandIn.StartAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        vault.AddKey("k", key);
        using var inner = await KeyVaultSigner.CreateAsync(vault.KeyId("k"), new StandInTokenCredential(), vault.SignerOptions(new KeyVaultSignerOptions
        {
            RetryDelay = TimeSpan.FromMilliseconds(20),
            MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        }));
        using var instruments = new OcspInstruments();
        using var capture = new MeterCapture(instruments.Meter);
        var signer = ThrottleReportingSigner.Wrap(inner, instruments, "ca-1");
        Assert.IsType<ThrottleReportingSigner>(signer);
        Assert.Equal(inner.PreferredConcurrency, Assert.IsAssignableFrom<ISigningConcurrencyHint>(signer).PreferredConcurrency);

        vault.SignFaults.Enqueue(new StandInFault.TooManyRequests());
        vault.SignFaults.Enqueue(new StandInFault.TooManyRequests());
        byte[] signature = await signer.SignAsync("tbs"u8.ToArray(), CancellationToken.None);
        Assert.True(key.VerifyData("tbs"u8, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => signer.SignAsync("more"u8.ToArray(), CancellationToken.None).AsTask()));

        Assert.Equal(2, inner.Statistics.Throttled);
        Assert.Equal(2, capture.Sum(OcspInstruments.SignerThrottled, ("signer", "ca-1")));
        // A local key has no 429s: it is not wrapped.
        IOcspSigner plain = new FakeSigner();
        Assert.Same(plain, ThrottleReportingSigner.Wrap(plain, instruments, "ca-2"));
    }

    private sealed class FakeSigner : IOcspSigner
    {
        public SignatureAlgorithm Algorithm => throw new NotSupportedException();
        public ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => throw new NotSupportedException();
        public ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
