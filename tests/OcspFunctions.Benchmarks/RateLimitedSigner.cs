using System.Threading.RateLimiting;
using OcspFunctions.Engine;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// A signing service with a quota, as Key Vault has one (about 200 signatures/s per HSM key): one token bucket of
/// <c>rate</c> signatures a second (burst 1/10 s of it), shared by every run like a vault's quota is. Each signature
/// waits for a token, then the inner signer (the local key) signs. Declares its rate (<see cref="ISigningRateHint"/>) as
/// the Key Vault signer does, so the refresh's capacity check has a rate before the first run measured one.
/// </summary>
public sealed class RateLimitedSignerFactory : ISignerFactory, IDisposable
{
    private readonly ISignerFactory _inner;
    private readonly TokenBucketRateLimiter _bucket;
    private long _signatures;

    public RateLimitedSignerFactory(ISignerFactory inner, double rate)
    {
        _inner = inner;
        Rate = rate;
        // Replenished every 10 ms (a coarser period makes bursts; a finer one costs timer ticks for nothing).
        var period = TimeSpan.FromMilliseconds(10);
        int perPeriod = Math.Max(1, (int)Math.Round(rate * period.TotalSeconds));
        _bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(perPeriod, (int)(rate / 10)),
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    public double Rate { get; }

    /// <summary>Signatures made through every signer this factory created.</summary>
    public long Signatures => Interlocked.Read(ref _signatures);

    public async Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken) =>
        new Signer(this, await _inner.CreateAsync(issuer, cancellationToken).ConfigureAwait(false));

    public void Dispose() => _bucket.Dispose();

    private sealed class Signer(RateLimitedSignerFactory owner, IOcspSigner inner) : IOcspSigner, ISigningRateHint, IDisposable
    {
        public SignatureAlgorithm Algorithm => inner.Algorithm;

        public double? DeclaredSignaturesPerSecond => owner.Rate;

        public async ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            using var lease = await owner._bucket.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
            if (!lease.IsAcquired) throw new InvalidOperationException("the signing quota's queue is full");
            var signature = await inner.SignAsync(data, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref owner._signatures);
            return signature;
        }

        public ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) => inner.GetSubjectPublicKeyInfoAsync(cancellationToken);

        public void Dispose() => (inner as IDisposable)?.Dispose();
    }
}
