using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// The decided statuses are a view over the issued list and the revocations: checked against the materialised dictionary
/// the decision built before (written out here as the reference), on a mix of every case.
/// </summary>
public sealed class StatusDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromDays(7);

    /// <summary>The former Decide, kept as the reference the view must equal (content and order).</summary>
    private static List<KeyValuePair<SerialNumber, CertStatus>> Reference(IssuedSerials? issued, IReadOnlyList<Revocation> revocations)
    {
        var revoked = new Dictionary<SerialNumber, Revocation>();
        foreach (var r in revocations) revoked.TryAdd(r.Serial, r);
        var result = new Dictionary<SerialNumber, CertStatus>();
        if (issued is not null)
        {
            foreach (var (serial, notAfter) in issued.Serials)
            {
                if (notAfter is { } expiry && Now > expiry + Grace) continue;
                result[serial] = revoked.TryGetValue(serial, out var r) ? CertStatus.Revoked(r.RevocationTime, r.Reason) : CertStatus.Good;
            }
        }
        foreach (var (serial, r) in revoked)
        {
            if (result.ContainsKey(serial)) continue;
            if (issued is not null && issued.Serials.TryGetValue(serial, out var notAfter) && notAfter is { } expiry && Now > expiry + Grace) continue;
            result[serial] = CertStatus.Revoked(r.RevocationTime, r.Reason);
        }
        return [.. result];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_view_equals_the_dictionary_it_replaces(bool withIssuedList)
    {
        var random = new Random(7);
        var issued = new IssuedSerials();
        var revocations = new List<Revocation>();
        for (int i = 1; i <= 5_000; i++)
        {
            var serial = SerialNumber.ParseHex($"{i:X6}");
            // Expiry: none, in force, within the grace, at its very end (still in), one tick past it, long past it.
            DateTimeOffset? expiry = (i % 6) switch
            {
                0 => null,
                1 => Now.AddDays(30),
                2 => Now - Grace + TimeSpan.FromSeconds(1),
                3 => Now - Grace,
                4 => Now - Grace - TimeSpan.FromTicks(1),
                _ => Now.AddYears(-2),
            };
            if (i % 7 != 0) issued.Serials[serial] = expiry;               // some revoked serials are not in the list
            if (i % 3 == 0) revocations.Add(new Revocation(serial, Now.AddDays(-random.Next(1, 400)), random.Next(2) == 0 ? null : RevocationReason.KeyCompromise));
        }
        var decision = new StatusDecision();
        decision.AddRevocations(revocations);
        var statuses = decision.Decide(withIssuedList ? issued : null, Now, Grace);
        var expected = Reference(withIssuedList ? issued : null, revocations);

        Assert.Equal(expected, statuses);
        Assert.Equal(expected.Count, statuses.Count);
        Assert.True(expected.Count > 1000 && (!withIssuedList || expected.Count < issued.Serials.Count)); // the mix excludes some
        for (int i = 1; i <= 5_100; i++)
        {
            var serial = SerialNumber.ParseHex($"{i:X6}");
            int at = expected.FindIndex(p => p.Key == serial);
            Assert.Equal(at >= 0, statuses.TryGetValue(serial, out var status));
            Assert.Equal(at >= 0, statuses.ContainsKey(serial));
            if (at >= 0) Assert.Equal(expected[at].Value, status);
        }
        // The view reads the revocations live: none may be added once decided.
        Assert.Throws<InvalidOperationException>(() => decision.AddRevocations([new Revocation(SerialNumber.ParseHex("0FFFFF"), Now, null)]));
        Assert.Equal(expected.Count, statuses.Count);
    }
}
