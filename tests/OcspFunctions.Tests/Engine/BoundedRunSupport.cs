using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Tests.Engine;

/// <summary>A clock that moves only when told: a run's time budget is spent by the signer, not by the test machine.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>
/// The real key-file signer, slowed on the run's <see cref="ManualTime"/>: each signature advances the clock by
/// <c>perSignature</c> and first calls <c>beforeSignature</c> with its number (from 1, over all the factory's signers).
/// </summary>
internal sealed class ClockedSignerFactory(ManualTime clock, TimeSpan perSignature, Func<int, Task>? beforeSignature = null,
    double? declaredRate = null) : ISignerFactory
{
    private int _signatures;

    public int Signatures => Volatile.Read(ref _signatures);

    public TimeSpan PerSignature { get; set; } = perSignature;

    public async Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken) =>
        new Clocked(await new LocalKeySignerFactory().CreateAsync(issuer, cancellationToken), this, declaredRate);

    private async ValueTask OnSignatureAsync()
    {
        int n = Interlocked.Increment(ref _signatures);
        if (beforeSignature is not null) await beforeSignature(n);
        clock.Advance(PerSignature);
    }

    private sealed class Clocked(IOcspSigner inner, ClockedSignerFactory owner, double? declared) : IOcspSigner, ISigningRateHint
    {
        public SignatureAlgorithm Algorithm => inner.Algorithm;

        public double? DeclaredSignaturesPerSecond => declared;

        public async ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            await owner.OnSignatureAsync();
            return await inner.SignAsync(data, cancellationToken);
        }

        public ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) => inner.GetSubjectPublicKeyInfoAsync(cancellationToken);
    }
}

/// <summary>
/// Records every write (name, and how many signatures had started by then) and hands out a lease the test can declare
/// lost; writes made after that are counted separately.
/// </summary>
internal sealed class RecordingStore(IObjectStore inner, Func<int> signatures) : ForwardingStore(inner)
{
    public CancellationTokenSource LeaseLost { get; } = new();

    public ConcurrentQueue<(string Name, int Signatures)> Writes { get; } = new();

    public int WritesAfterLeaseLost;

    public override Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Record(name);
        return base.PutAsync(name, content, cancellationToken);
    }

    public override Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken)
    {
        Record(name);
        return base.PutAsync(name, content, condition, cancellationToken);
    }

    public override Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        Record(name);
        return base.DeleteAsync(name, cancellationToken);
    }

    public override async Task<IStoreLease?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken) =>
        await base.TryAcquireLeaseAsync(name, duration, cancellationToken) is { } lease ? new Lease(lease, LeaseLost.Token) : null;

    private void Record(string name)
    {
        if (LeaseLost.IsCancellationRequested) Interlocked.Increment(ref WritesAfterLeaseLost);
        Writes.Enqueue((name, signatures()));
    }

    private sealed class Lease(IStoreLease inner, CancellationToken lost) : IStoreLease
    {
        public CancellationToken Lost => lost;

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

internal static class BoundedRuns
{
    /// <summary>A refresh of <paramref name="s"/>'s issuers through <paramref name="store"/>, signed by <paramref name="signers"/>, on <paramref name="clock"/>.</summary>
    public static RefreshEngine Engine(RefreshSetup s, IObjectStore store, ISignerFactory signers, TimeProvider clock) =>
        new(s.Options, store, new CompositeSourceReader([new FileSourceReader()]), signers, clock, NullLogger<RefreshEngine>.Instance)
        {
            MinimumRateSample = 1,
        };

    /// <summary>Replaces the issued-serials list with the CA's own serials plus <paramref name="extra"/> made-up ones (text format).</summary>
    public static List<string> WriteSerialList(RefreshSetup s, int extra)
    {
        var serials = File.ReadAllLines(s.Ca.IndexPath).Where(l => l.Length > 0).Select(l => l.Split('\t')[3]).ToList();
        for (int i = 0; i < extra; i++) serials.Add($"7A{i:X6}01");
        string path = Path.Combine(s.Ca.Directory, "serials.txt");
        File.WriteAllLines(path, serials);
        s.Options.Issuers[0].IssuedSerials = path;
        return serials;
    }
}
