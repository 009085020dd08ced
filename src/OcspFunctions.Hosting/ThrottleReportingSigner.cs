using OcspFunctions.Adapters.Azure.KeyVault;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Hosting;

/// <summary>
/// A Key Vault signer whose 429 answers are added to <c>ocsp.signer.throttled</c> as they happen (the adapter counts them;
/// this passes on the increase after each call). Everything else is the inner signer's.
/// </summary>
public sealed class ThrottleReportingSigner(KeyVaultSigner inner, OcspInstruments instruments, string signer)
    : IOcspSigner, ISigningConcurrencyHint, IDisposable
{
    private long _reported;

    public static IOcspSigner Wrap(IOcspSigner signer, OcspInstruments? instruments, string name) =>
        instruments is not null && signer is KeyVaultSigner keyVault ? new ThrottleReportingSigner(keyVault, instruments, name) : signer;

    public SignatureAlgorithm Algorithm => inner.Algorithm;

    public int PreferredConcurrency => inner.PreferredConcurrency;

    public async ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            return await inner.SignAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Report();
        }
    }

    public ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) => inner.GetSubjectPublicKeyInfoAsync(cancellationToken);

    /// <summary>Adds what the adapter counted since the last report, once, however many calls finish together.</summary>
    private void Report()
    {
        long now = inner.Statistics.Throttled;
        long last = Volatile.Read(ref _reported);
        while (now > last)
        {
            long seen = Interlocked.CompareExchange(ref _reported, now, last);
            if (seen == last)
            {
                instruments.Throttled(now - last, signer);
                return;
            }
            last = seen;
        }
    }

    public void Dispose() => inner.Dispose();
}
