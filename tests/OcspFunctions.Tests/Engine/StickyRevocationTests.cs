using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// Revocation is for good (RFC 5280 §3.3, §5.3.1): a serial published revoked for any reason but certificateHold stays
/// revoked — same time, same reason — when a newer CRL, index.txt or the local revocations stop listing it, with a warning,
/// until the certificate is past its expiry plus the grace. A hold can be lifted.
/// </summary>
[Collection("pki")]
public sealed class StickyRevocationTests(TestPki pki)
{
    [Fact]
    public async Task A_higher_numbered_crl_that_drops_a_revocation_keeps_it_and_lifts_only_the_hold()
    {
        var s = RefreshSetup.Create(pki, "sticky-crl");
        CrlScopeTests.WriteSerialList(s); // only the CRL revokes
        var start = DateTimeOffset.UtcNow;
        Assert.True((await s.RunAsync(start)).Succeeded);
        var keyCompromise = s.Ca.Source.Leaf("keyCompromise");
        var hold = s.Ca.Source.Leaf("certificateHold");
        var before = (await s.FindAsync(keyCompromise.SerialHex))!.Single.Status;
        Assert.Equal(RevocationReason.KeyCompromise, before.Reason);

        // The CA's next CRL (a higher number) lists nothing any more.
        File.WriteAllBytes(s.Ca.CrlPath, EmptyCrl(s.Ca, s.Ca.Source.CrlNumber + 1));
        var result = Assert.Single((await s.RunAsync(start.AddMinutes(5))).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));

        // keyCompromise, superseded and the one without a reason stay revoked exactly as published; the hold is lifted.
        var permanent = s.Ca.Source.Revoked.Where(l => l.Name != "certificateHold").ToList();
        Assert.Equal(permanent.Count, result.StickyRevocations);
        Assert.Equal(before, (await s.FindAsync(keyCompromise.SerialHex))!.Single.Status);
        foreach (var leaf in permanent)
            Assert.Contains(": revoked", s.OpenSslStatus(await s.ResponseFileAsync(leaf.SerialHex), leaf.SerialHex), StringComparison.Ordinal);
        Assert.Contains(": good", s.OpenSslStatus(await s.ResponseFileAsync(hold.SerialHex), hold.SerialHex), StringComparison.Ordinal);
        string warning = Assert.Single(result.Warnings, w => w.Contains("kept revoked", StringComparison.Ordinal));
        Assert.Contains(keyCompromise.SerialHex, warning, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("keyCompromise", warning, StringComparison.Ordinal);
        var manifest = s.Manifest();
        Assert.Equal(permanent.Count, manifest.StickyRevocations);
        Assert.Contains(warning, manifest.Warnings);

        // The next run keeps them without re-signing (same status), and still warns.
        var again = Assert.Single((await s.RunAsync(start.AddMinutes(10))).Issuers);
        Assert.Equal(0, again.Changed);
        Assert.Equal(permanent.Count, again.StickyRevocations);

        // Once the list says the certificate expired past the grace (7 days), it is let go like any expired certificate.
        string serials = s.Options.Issuers[0].IssuedSerials!;
        var expired = start.AddDays(-8).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        File.WriteAllLines(serials, File.ReadAllLines(serials).Select(l =>
            string.Equals(l, keyCompromise.SerialHex, StringComparison.OrdinalIgnoreCase) ? $"{l}, {expired}" : l));
        var after = Assert.Single((await s.RunAsync(start.AddMinutes(15))).Issuers);
        Assert.True(after.Succeeded, string.Join("; ", after.Errors));
        Assert.Equal(permanent.Count - 1, after.StickyRevocations);
        Assert.Null(await s.FindAsync(keyCompromise.SerialHex));
    }

    /// <summary>Without an issued-serials list a dropped revocation would be withdrawn (unauthorized): it is kept too.</summary>
    [Fact]
    public async Task Without_an_issued_list_a_dropped_revocation_is_kept_and_a_dropped_hold_withdrawn()
    {
        var s = RefreshSetup.Create(pki, "sticky-no-list", withIssuedList: false);
        Assert.True((await s.RunAsync()).Succeeded);
        var keyCompromise = s.Ca.Source.Leaf("keyCompromise");
        var before = (await s.FindAsync(keyCompromise.SerialHex))!.Single.Status;
        File.WriteAllBytes(s.Ca.CrlPath, EmptyCrl(s.Ca, s.Ca.Source.CrlNumber + 1));

        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(before, (await s.FindAsync(keyCompromise.SerialHex))!.Single.Status);
        Assert.Null(await s.FindAsync(s.Ca.Source.Leaf("certificateHold").SerialHex));
        Assert.Equal(1, result.Removed);
    }

    /// <summary>index.txt: a line turned back from R to V does not un-revoke; a hold turned back does.</summary>
    [Fact]
    public async Task A_revocation_dropped_from_index_txt_is_kept()
    {
        var s = RefreshSetup.Create(pki, "sticky-index");
        s.Options.Issuers[0].Crls = []; // index.txt is the only source of revocations
        Assert.True((await s.RunAsync()).Succeeded);
        var keyCompromise = s.Ca.Source.Leaf("keyCompromise");
        var hold = s.Ca.Source.Leaf("certificateHold");
        var before = (await s.FindAsync(keyCompromise.SerialHex))!.Single.Status;
        Assert.Equal(CertStatusKind.Revoked, before.Kind);

        var lines = File.ReadAllLines(s.Ca.IndexPath).Select(line =>
        {
            var f = line.Split('\t');
            return f.Length >= 6 && (f[3] == keyCompromise.SerialHex || f[3] == hold.SerialHex) ? string.Join('\t', ["V", f[1], "", .. f[3..]]) : line;
        });
        File.WriteAllLines(s.Ca.IndexPath, lines);

        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(before, (await s.FindAsync(keyCompromise.SerialHex))!.Single.Status);
        Assert.Equal(CertStatusKind.Good, (await s.FindAsync(hold.SerialHex))!.Single.Status.Kind);
        Assert.Equal(1, result.StickyRevocations);
        Assert.Contains(result.Warnings, w => w.Contains(keyCompromise.SerialHex, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Local revocations: deleting a line does not un-revoke; deleting a hold does; turning a revocation into a hold does not.</summary>
    [Fact]
    public async Task A_local_revocation_removed_by_hand_is_kept_but_a_local_hold_is_lifted()
    {
        var s = RefreshSetup.Create(pki, "sticky-local");
        var (revoked, held, downgraded) = (s.Ca.Source.Good.First(), s.Ca.Source.Good.Last(), s.Ca.Issue("downgraded").Serial);
        string local = Path.Combine(s.Ca.Directory, "local.txt");
        File.WriteAllText(local, $"{revoked.SerialHex} 2026-01-02T03:04:05Z keyCompromise\n{held.SerialHex} 2026-01-02T03:04:05Z certificateHold\n" +
                                 $"{downgraded} 2026-01-03T00:00:00Z superseded\n");
        s.Options.Issuers[0].LocalRevocations = local;
        Assert.True((await s.RunAsync()).Succeeded);
        var keyCompromise = CertStatus.Revoked(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), RevocationReason.KeyCompromise);
        Assert.Equal(keyCompromise, (await s.FindAsync(revoked.SerialHex))!.Single.Status);

        File.WriteAllText(local, $"# emptied by hand\n{downgraded} 2026-01-03T00:00:00Z certificateHold\n");
        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(keyCompromise, (await s.FindAsync(revoked.SerialHex))!.Single.Status);
        Assert.Equal(CertStatusKind.Good, (await s.FindAsync(held.SerialHex))!.Single.Status.Kind);
        Assert.Equal(CertStatus.Revoked(new DateTimeOffset(2026, 1, 3, 0, 0, 0, TimeSpan.Zero), RevocationReason.Superseded),
            (await s.FindAsync(downgraded))!.Single.Status);
        Assert.Equal(2, result.StickyRevocations);
        Assert.Contains(result.Warnings, w => w.Contains("listed as certificateHold", StringComparison.Ordinal));
    }

    /// <summary>When sources disagree, a permanent reason beats certificateHold (keeping the hold's earlier time): a hold can be lifted, a revocation cannot.</summary>
    [Fact]
    public void A_permanent_reason_beats_a_hold_from_another_source()
    {
        var serial = SerialNumber.ParseHex("0A");
        var held = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var decision = new OcspFunctions.Engine.StatusDecision();
        decision.AddRevocations([new(serial, held, RevocationReason.CertificateHold), new(serial, held.AddDays(1), RevocationReason.KeyCompromise)]);
        var other = SerialNumber.ParseHex("0B");
        decision.AddRevocations([new(other, held.AddDays(1), RevocationReason.Superseded), new(other, held, RevocationReason.CertificateHold)]);
        var statuses = decision.Decide(null, held.AddDays(2), TimeSpan.FromDays(7));
        Assert.Equal(CertStatus.Revoked(held, RevocationReason.KeyCompromise), statuses[serial]);
        Assert.Equal(CertStatus.Revoked(held, RevocationReason.Superseded), statuses[other]);
    }

    /// <summary>A full CRL (the next number) with no entries, signed by the workspace CA's RSA key.</summary>
    internal static byte[] EmptyCrl(CaWorkspace ca, long number)
    {
        using var key = RSA.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(ca.Directory, "ca.key")));
        return HandWrittenCrl.Sign(X509CertificateLoader.LoadCertificateFromFile(ca.CaCertPath), key, [], [HandWrittenCrl.Integer(Oids.CrlNumber, number)]);
    }
}
