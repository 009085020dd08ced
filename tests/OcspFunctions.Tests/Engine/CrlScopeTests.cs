using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Crl;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// CRL numbers are tracked per CRL scope (full / delta, and the issuingDistributionPoint of a partitioned CRL), not per
/// configured location: an older CRL of the same scope is refused wherever it comes from (RFC 5280 §5.2.3).
/// </summary>
[Collection("pki")]
public sealed class CrlScopeTests(TestPki pki)
{
    /// <summary>An older CRL moved to another path (or a URL that starts serving old content) is refused, and nothing changes.</summary>
    [Fact]
    public async Task An_older_crl_at_another_path_is_refused_and_the_store_stays_byte_identical()
    {
        var s = RefreshSetup.Create(pki, "rollback-path");
        string oldCrl = Path.Combine(s.Ca.Directory, "old-copy.pem");
        File.Copy(s.Ca.CrlPath, oldCrl);
        long oldNumber = s.Ca.Source.CrlNumber;
        Assert.True((await s.RunAsync()).Succeeded);

        // The CA revokes a certificate and publishes CRL number old + 1; the refresh accepts it.
        var victim = s.Ca.Source.Good.First();
        s.Ca.Revoke(s.Ca.LeafPath(victim.Name), "keyCompromise");
        s.Ca.GenerateCrl();
        // A plain serial list, so only the CRL says the victim is revoked.
        WriteSerialList(s);
        var accepted = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(accepted.Succeeded, string.Join("; ", accepted.Errors));
        Assert.Equal(CertStatusKind.Revoked, (await s.FindAsync(victim.SerialHex))!.Single.Status.Kind);
        var before = s.Snapshot();

        // The configuration now points at the older CRL, at another path.
        s.Options.Issuers[0].Crls = [oldCrl];
        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.False(result.Succeeded);
        string error = Assert.Single(result.Errors);
        foreach (var part in new[] { s.Options.Issuers[0].Name, oldNumber.ToString(CultureInfo.InvariantCulture),
                     (oldNumber + 1).ToString(CultureInfo.InvariantCulture), oldCrl, s.Ca.CrlPath, "lower than" })
            Assert.Contains(part, error, StringComparison.Ordinal);
        Assert.Equal(0, result.ResponsesSigned);
        Assert.Equal(before, s.Snapshot());
        var manifest = s.Manifest();
        Assert.False(manifest.LastRunSucceeded);
        Assert.Equal([error], manifest.Errors);
        Assert.Equal((oldNumber + 1).ToString(CultureInfo.InvariantCulture), manifest.CrlScopes["full"].Number);
        Assert.Equal(CertStatusKind.Revoked, (await s.FindAsync(victim.SerialHex))!.Single.Status.Kind);

        // Both configured (a lagging mirror): the newer one is used, the older reported as superseded.
        s.Options.Issuers[0].Crls = [oldCrl, s.Ca.CrlPath];
        var both = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(both.Succeeded, string.Join("; ", both.Errors));
        Assert.Contains(both.Warnings, w => w.Contains("superseded", StringComparison.Ordinal) && w.Contains(oldCrl, StringComparison.Ordinal));
        Assert.Equal(CertStatusKind.Revoked, (await s.FindAsync(victim.SerialHex))!.Single.Status.Kind);
    }

    /// <summary>A manifest written before CRL scopes (numbers per location) keeps protecting its locations, then migrates.</summary>
    [Fact]
    public async Task Per_location_numbers_of_an_older_manifest_still_refuse_a_replay_then_migrate()
    {
        var s = RefreshSetup.Create(pki, "legacy-numbers");
        byte[] oldCrl = File.ReadAllBytes(s.Ca.CrlPath);
        long oldNumber = s.Ca.Source.CrlNumber;
        s.Ca.GenerateCrl();
        Assert.True((await s.RunAsync()).Succeeded);

        // As an earlier version wrote it: only the per-location number.
        var manifest = s.Manifest();
        manifest.CrlScopes.Clear();
        manifest.CrlNumbers[s.Ca.CrlPath] = (oldNumber + 1).ToString(CultureInfo.InvariantCulture);
        WriteManifest(s, manifest);
        var before = s.Snapshot();

        File.WriteAllBytes(s.Ca.CrlPath, oldCrl);
        var refused = Assert.Single((await s.RunAsync()).Issuers);
        Assert.False(refused.Succeeded);
        Assert.Contains(refused.Errors, e => e.Contains("lower than", StringComparison.Ordinal) && e.Contains(oldNumber.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Assert.Equal(before, s.Snapshot());

        // The current CRL is accepted; its number moves to the scope record and the per-location entry goes.
        s.Ca.GenerateCrl();
        Assert.True((await s.RunAsync()).Succeeded);
        manifest = s.Manifest();
        Assert.Empty(manifest.CrlNumbers);
        Assert.Equal((oldNumber + 2).ToString(CultureInfo.InvariantCulture), manifest.CrlScopes["full"].Number);
    }

    /// <summary>
    /// Partitioned CRLs (RFC 5280 §5.2.5): each issuingDistributionPoint is its own scope with its own numbers, so a low
    /// number in one partition is no rollback; an older CRL of a partition is refused, naming the partition.
    /// </summary>
    [Fact]
    public async Task Each_distribution_point_partition_has_its_own_crl_numbers()
    {
        var s = RefreshSetup.Create(pki, "partitions");
        WriteSerialList(s);
        var leaves = s.Ca.Source.Good.ToList();
        string partA = Path.Combine(s.Ca.Directory, "part-a.crl"), partB = Path.Combine(s.Ca.Directory, "part-b.crl");
        File.WriteAllBytes(partA, PartitionCrl(s.Ca, "http://crl.example/a.crl", 10, leaves[0].SerialHex));
        File.WriteAllBytes(partB, PartitionCrl(s.Ca, "http://crl.example/b.crl", 3, leaves[1].SerialHex));
        s.Options.Issuers[0].Crls = [partA, partB];
        var first = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(first.Succeeded, string.Join("; ", first.Errors));
        foreach (var leaf in leaves.Take(2)) Assert.Equal(CertStatusKind.Revoked, (await s.FindAsync(leaf.SerialHex))!.Single.Status.Kind);
        var scopes = s.Manifest().CrlScopes;
        Assert.Equal(["10", "3"], scopes.Values.Select(v => v.Number).Order(StringComparer.Ordinal));
        Assert.All(scopes.Keys, k => Assert.StartsWith("full/", k, StringComparison.Ordinal));

        // Partition A goes back to number 5 (from B's path, even): refused, naming A's distribution point.
        var before = s.Snapshot();
        File.WriteAllBytes(partB, PartitionCrl(s.Ca, "http://crl.example/a.crl", 5));
        s.Options.Issuers[0].Crls = [partB];
        var refused = Assert.Single((await s.RunAsync()).Issuers);
        Assert.False(refused.Succeeded);
        string error = Assert.Single(refused.Errors);
        Assert.Contains("http://crl.example/a.crl", error, StringComparison.Ordinal);
        Assert.Contains("CRL number 5, lower than the 10", error, StringComparison.Ordinal);
        Assert.Equal(before, s.Snapshot());
    }

    /// <summary>
    /// A CRL without a CRL number cannot be ordered: used with a warning while its scope has never had a numbered CRL,
    /// refused once it has (an old v1-style CRL replayed in place of a numbered one).
    /// </summary>
    [Fact]
    public async Task A_crl_without_a_number_is_used_with_a_warning_then_refused_once_its_scope_has_numbers()
    {
        var s = RefreshSetup.Create(pki, "unnumbered");
        string unnumbered = Path.Combine(s.Ca.Directory, "unnumbered.crl");
        using (var key = RSA.Create())
        {
            key.ImportFromPem(File.ReadAllText(Path.Combine(s.Ca.Directory, "ca.key")));
            File.WriteAllBytes(unnumbered, HandWrittenCrl.Sign(X509CertificateLoader.LoadCertificateFromFile(s.Ca.CaCertPath), key, [], []));
        }
        s.Options.Issuers[0].Crls = [unnumbered];
        var first = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(first.Succeeded, string.Join("; ", first.Errors));
        Assert.Contains(first.Warnings, w => w.Contains("has no CRL number", StringComparison.Ordinal));
        Assert.Empty(s.Manifest().CrlScopes);

        s.Options.Issuers[0].Crls = [s.Ca.CrlPath];
        Assert.True((await s.RunAsync()).Succeeded);
        var before = s.Snapshot();
        s.Options.Issuers[0].Crls = [unnumbered];
        var refused = Assert.Single((await s.RunAsync()).Issuers);
        Assert.False(refused.Succeeded);
        string error = Assert.Single(refused.Errors);
        Assert.Contains("has no CRL number, but CRL number", error, StringComparison.Ordinal);
        Assert.Contains(s.Ca.CrlPath, error, StringComparison.Ordinal);
        Assert.Equal(before, s.Snapshot());
    }

    /// <summary>A delta applies only to a full CRL of its own scope (RFC 5280 §5.2.4).</summary>
    [Fact]
    public async Task A_delta_of_another_partition_is_refused()
    {
        var s = RefreshSetup.Create(pki, "delta-scope");
        string full = Path.Combine(s.Ca.Directory, "part-a.crl"), delta = Path.Combine(s.Ca.Directory, "delta-b.crl");
        File.WriteAllBytes(full, PartitionCrl(s.Ca, "http://crl.example/a.crl", 10));
        File.WriteAllBytes(delta, PartitionCrl(s.Ca, "http://crl.example/b.crl", 11, deltaBase: 10));
        s.Options.Issuers[0].Crls = [full, delta];
        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains("no matching full CRL of the same scope", StringComparison.Ordinal));
    }

    /// <summary>issuingDistributionPoint read strictly (RFC 5280 §5.2.5, DER): deviations are refused, not skipped.</summary>
    [Theory]
    [InlineData("3000", "empty")]                          // SEQUENCE {}
    [InlineData("30038101 00", "FALSE")]                   // onlyContainsUserCerts encoded FALSE
    [InlineData("30068101FF8201FF", "more than one")]      // user and CA certificates only
    [InlineData("30068201FF8101FF", "out-of-order")]       // [2] before [1]
    [InlineData("30038601 41", "out-of-order")]            // [6] is no field
    [InlineData("3005A003 040141", "neither")]             // distributionPoint holds an OCTET STRING
    [InlineData("30038401FF", "indirect")]                 // indirectCRL
    public void A_malformed_issuing_distribution_point_fails_the_crl(string idpHex, string message)
    {
        var ca = pki.RsaCa;
        var bytes = SignCrl(ca.Certificate, ca.KeyPath, 7, Convert.FromHexString(idpHex.Replace(" ", "", StringComparison.Ordinal)), null, []);
        var e = Assert.Throws<CrlException>(() => CertificateRevocationList.Decode(bytes));
        Assert.Contains(message, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_well_formed_issuing_distribution_point_is_read()
    {
        var ca = pki.RsaCa;
        var crl = CertificateRevocationList.Decode(SignCrl(ca.Certificate, ca.KeyPath, 7, Idp("http://crl.example/a.crl", userOnly: true), null, []));
        var idp = crl.IssuingDistributionPoint!;
        Assert.Equal(["http://crl.example/a.crl"], idp.Uris);
        Assert.True(idp.OnlyContainsUserCerts);
        Assert.False(idp.OnlyContainsCACerts);
        Assert.Equal("distribution point http://crl.example/a.crl; user certificates only", idp.ToString());
    }

    internal static void WriteSerialList(RefreshSetup s)
    {
        string serials = Path.Combine(s.Ca.Directory, "serials.txt");
        File.WriteAllLines(serials, File.ReadAllLines(s.Ca.IndexPath).Where(l => l.Length > 0).Select(l => l.Split('\t')[3]));
        s.Options.Issuers[0].IssuedSerials = serials;
    }

    internal static void WriteManifest(RefreshSetup s, IssuerManifest manifest) =>
        File.WriteAllBytes(Path.Combine(s.StoreDir, StoreLayout.Manifest(s.IssuerId)), manifest.Serialize());

    private static byte[] PartitionCrl(CaWorkspace ca, string uri, long number, string? revokedSerial = null, long? deltaBase = null) =>
        SignCrl(X509CertificateLoader.LoadCertificateFromFile(ca.CaCertPath), Path.Combine(ca.Directory, "ca.key"), number, Idp(uri), deltaBase,
            revokedSerial is null ? [] : [revokedSerial]);

    /// <summary>IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } } … }.</summary>
    private static byte[] Idp(string uri, bool userOnly = false)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        var dp = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        w.PushSequence(dp);
        w.PushSequence(dp);
        w.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
        w.PopSequence(dp);
        w.PopSequence(dp);
        if (userOnly) w.WriteBoolean(true, new Asn1Tag(TagClass.ContextSpecific, 1));
        w.PopSequence();
        return w.Encode();
    }

    /// <summary>A CRL signed with the CA's RSA key: cRLNumber, a critical issuingDistributionPoint, optionally a deltaCRLIndicator.</summary>
    private static byte[] SignCrl(X509Certificate2 ca, string keyPath, long number, byte[] idp, long? deltaBase, string[] revokedSerials)
    {
        using var key = RSA.Create();
        key.ImportFromPem(File.ReadAllText(keyPath));
        var extensions = new List<CrlExtension> { HandWrittenCrl.Integer(Oids.CrlNumber, number), new(Oids.IssuingDistributionPoint, true, idp) };
        if (deltaBase is { } b) extensions.Add(HandWrittenCrl.Integer(Oids.DeltaCrlIndicator, b, critical: true));
        var entries = revokedSerials.Select(serial => new CrlEntry(SerialNumber.ParseHex(serial).Bytes.ToArray(),
            [new CrlExtension(Oids.CrlReason, false, [0x0A, 0x01, (byte)RevocationReason.KeyCompromise])]));
        return HandWrittenCrl.Sign(ca, key, entries, extensions);
    }
}
