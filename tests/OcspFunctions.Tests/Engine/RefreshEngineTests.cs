using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

using Setup = RefreshSetup;

/// <summary>
/// The refresh end to end on the embedded default (directory store, key file) over a CA run by <c>openssl ca</c>:
/// index.txt as the issued-serials list, <c>openssl ca -gencrl</c> CRLs; every stored response checked by
/// <c>openssl ocsp -respin</c>.
/// </summary>
[Collection("pki")]
public sealed class RefreshEngineTests(TestPki pki)
{
    private Setup Create(string hint, TestCa? source = null, bool withIssuedList = true) => Setup.Create(pki, hint, source, withIssuedList);

    private static string OpenSslStatus(Setup s, string responsePath, string serialHex) => s.OpenSslStatus(responsePath, serialHex);

    [Fact]
    public async Task Publishes_good_revoked_and_nothing_for_never_issued_serials()
    {
        var s = Create("publish");
        var report = await s.RunAsync();
        var result = Assert.Single(report.Issuers);
        Assert.True(report.Succeeded, string.Join("; ", result.Errors));
        // The responder certificate in the CA database is issued too: it is good like any other serial.
        int issued = s.Ca.Source.Leaves.Count + 1;
        Assert.Equal(issued, result.Changed);
        Assert.Equal(issued * 2, result.ResponsesSigned);
        Assert.Equal(s.Ca.Source.Revoked.Count(), result.Revoked);

        foreach (var leaf in s.Ca.Source.Leaves)
        {
            foreach (var algorithm in new[] { CertIdHashAlgorithm.Sha1, CertIdHashAlgorithm.Sha256 })
            {
                var stored = await s.FindAsync(leaf.SerialHex, algorithm);
                Assert.True(stored is not null, $"{leaf} {algorithm} missing");
                var single = OcspResponse.Decode(stored.Der).Basic!.Responses.Single();
                Assert.Equal(algorithm, single.CertId.HashAlgorithm);
                Assert.Equal(SerialNumber.ParseHex(leaf.SerialHex), single.CertId.SerialNumber);
                Assert.Equal(leaf.IsRevoked ? CertStatusKind.Revoked : CertStatusKind.Good, single.Status.Kind);
                if (leaf.IsRevoked)
                {
                    Assert.Equal(leaf.RevocationTime, single.Status.RevocationTime);
                    Assert.Equal(leaf.CrlReasonCode, (int?)single.Status.Reason);
                }
            }
            string text = OpenSslStatus(s, await s.ResponseFileAsync(leaf.SerialHex), leaf.SerialHex);
            Assert.Contains(leaf.IsRevoked ? ": revoked" : ": good", text, StringComparison.Ordinal);
            // Only the configured CertID hash algorithms are pre-signed.
            Assert.Null(await s.FindAsync(leaf.SerialHex, CertIdHashAlgorithm.Sha384));
        }

        // Signed by the CA but never in its database: no response, so the server answers unauthorized.
        Assert.Null(await s.FindAsync("0BADC0FFEE"));
        var manifest = s.Manifest();
        Assert.True(manifest.LastRunSucceeded);
        Assert.True(manifest.Deterministic);
        // The CRL number is recorded for the CRL's scope (a full CRL of the whole CA), with where it came from.
        var scope = manifest.CrlScopes["full"];
        Assert.Equal(s.Ca.Source.CrlNumber, long.Parse(scope.Number, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(s.Ca.CrlPath, scope.Location);
        Assert.Empty(manifest.CrlNumbers);
    }

    /// <summary>
    /// A pack is a header holding the responder certificate, then records; each serial's record is its SHA-1 and SHA-256
    /// stored responses (without certs), adjacent, at the range the index gives.
    /// </summary>
    [Fact]
    public async Task The_index_locates_each_serials_record_in_a_stored_pack()
    {
        var s = Create("packs");
        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var index = s.Index();
        Assert.Equal(s.Ca.Source.Leaves.Count + 1, index.Entries.Count);
        var packs = s.PackNames();
        Assert.Equal(packs, index.Packs().Order(StringComparer.Ordinal));
        Assert.Equal(packs.Length, result.PacksWritten);
        var manifest = s.Manifest();
        Assert.Equal(packs.Length, manifest.Packs);
        Assert.Empty(manifest.RetiredPacks);

        var responder = X509CertificateLoader.LoadCertificateFromFile(s.Options.Issuers[0].Responder.Certificate);
        var contents = packs.ToDictionary(p => p, p => File.ReadAllBytes(s.PackPath(p)));
        var headers = new Dictionary<string, (byte[] Certificates, int Length)>();
        foreach (var (pack, bytes) in contents)
        {
            // SEQUENCE { [0] EXPLICIT SEQUENCE OF Certificate }: the delegated responder's certificate, once per pack.
            AsnDecoder.ReadSequence(bytes, AsnEncodingRules.DER, out int offset, out int length, out int headerLength);
            var certs = new AsnReader(bytes.AsMemory(offset, length), AsnEncodingRules.DER)
                .ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence();
            Assert.Equal(responder.RawData, certs.ReadEncodedValue().ToArray());
            Assert.False(certs.HasData);
            headers[pack] = (bytes.AsSpan(offset, length).ToArray(), headerLength);
        }
        foreach (var (serial, entry) in index.Entries)
        {
            var record = contents[entry.Pack].AsSpan(checked((int)entry.Offset), entry.Length).ToArray();
            var certificates = headers[entry.Pack].Certificates;
            var sha1 = ResponsePacks.Select(record, certificates, CertIdHashAlgorithm.Sha1, serial);
            var sha256 = ResponsePacks.Select(record, certificates, CertIdHashAlgorithm.Sha256, serial);
            Assert.NotNull(sha1);
            Assert.NotNull(sha256);
            // Exactly two stored responses: BasicOCSPResponse without certs, served with the pack's certificate put back.
            AsnDecoder.ReadEncodedValue(record, AsnEncodingRules.DER, out _, out _, out int first);
            AsnDecoder.ReadEncodedValue(record.AsSpan(first), AsnEncodingRules.DER, out _, out _, out int second);
            Assert.Equal(entry.Length, first + second);
            Assert.All(new[] { sha1, sha256 }, r =>
            {
                Assert.Equal(serial, r.Single.CertId.SerialNumber);
                Assert.Equal(entry.Status, r.Single.Status.Kind);
                Assert.Equal(entry.ThisUpdate, r.Single.ThisUpdate.ToUnixTimeSeconds());
                Assert.Equal(entry.NextUpdate, r.Single.NextUpdate!.Value.ToUnixTimeSeconds());
                var basic = OcspResponse.Decode(r.Der).Basic!;
                Assert.Equal(responder.RawData, Assert.Single(basic.Certificates).RawData);
                Assert.True(basic.VerifySignature(responder));
            });
        }
        // Records follow the header, do not overlap, and the packs hold nothing else.
        foreach (var pack in packs)
        {
            var ranges = index.Entries.Values.Where(e => e.Pack == pack).OrderBy(e => e.Offset).ToList();
            long end = headers[pack].Length;
            foreach (var e in ranges)
            {
                Assert.Equal(end, e.Offset);
                end = e.Offset + e.Length;
            }
            Assert.Equal(contents[pack].Length, end);
        }
    }

    /// <summary>An index that points at another serial's record is refused, never served as that serial's answer.</summary>
    [Fact]
    public async Task A_record_for_another_serial_is_refused()
    {
        var s = Create("wrong-record");
        Assert.True((await s.RunAsync()).Succeeded);
        var index = s.Index();
        var (a, entryA) = index.Entries.First();
        var (b, _) = index.Entries.First(kv => kv.Key != a);
        var record = await ResponsePacks.ReadRecordAsync(s.Store, s.Issuer.KeyHashHex, entryA, CancellationToken.None);
        var certificates = await ResponsePacks.ReadHeaderAsync(s.Store, s.Issuer.KeyHashHex, entryA.Pack, CancellationToken.None);
        Assert.NotNull(ResponsePacks.Select(record!, certificates, CertIdHashAlgorithm.Sha1, a));
        var e = Assert.Throws<MalformedResponseException>(() => ResponsePacks.Select(record!, certificates, CertIdHashAlgorithm.Sha1, b));
        Assert.Contains(b.ToString(), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Second_run_with_nothing_changed_signs_nothing()
    {
        var s = Create("idle");
        Assert.True((await s.RunAsync()).Succeeded);
        var before = s.Snapshot();
        var report = await s.RunAsync();
        var result = Assert.Single(report.Issuers);
        Assert.True(report.Succeeded);
        Assert.Equal(0, result.ResponsesSigned);
        Assert.Equal(s.Ca.Source.Leaves.Count + 1, result.Unchanged);
        Assert.Equal(before, s.Snapshot());
    }

    [Fact]
    public async Task A_new_revocation_re_signs_just_that_serial()
    {
        var s = Create("revoke-one");
        Assert.True((await s.RunAsync()).Succeeded);
        var before = s.Snapshot();
        var victim = s.Ca.Source.Good.First();
        s.Ca.Revoke(s.Ca.LeafPath(victim.Name), "keyCompromise");
        s.Ca.GenerateCrl();

        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(1, result.Changed);
        Assert.Equal(2, result.ResponsesSigned);
        Assert.Equal(1, result.PacksWritten);

        // Packs are never rewritten: all but the index is byte-identical, plus one new pack holding its header and just the
        // victim's record.
        var after = s.Snapshot();
        string shards = StoreLayout.IndexFolder(s.IssuerId);
        Assert.All(before.Where(kv => !kv.Key.StartsWith(shards, StringComparison.Ordinal)), kv => Assert.Equal(kv.Value, after[kv.Key]));
        string newPack = Assert.Single(after.Keys.Except(before.Keys));
        var victimSerial = SerialNumber.ParseHex(victim.SerialHex);
        var indexBefore = new IssuerIndex();
        foreach (var (name, content) in before.Where(kv => kv.Key.StartsWith(shards, StringComparison.Ordinal)))
            IssuerIndex.ParseInto(content, name, indexBefore.Entries);
        var indexAfter = s.Index();
        Assert.Equal(indexBefore.Entries.Keys.Order(), indexAfter.Entries.Keys.Order());
        Assert.Equal(new[] { victimSerial }, indexAfter.Entries.Where(kv => indexBefore.Entries[kv.Key] != kv.Value).Select(kv => kv.Key));
        var entry = indexAfter.Entries[victimSerial];
        Assert.Equal(StoreLayout.Pack(s.IssuerId, entry.Pack), newPack);
        AsnDecoder.ReadEncodedValue(after[newPack], AsnEncodingRules.DER, out _, out _, out int header);
        Assert.Equal((header, after[newPack].Length - header), (entry.Offset, entry.Length));
        Assert.Empty(s.Manifest().RetiredPacks); // the first packs still hold every other serial

        string file = await s.ResponseFileAsync(victim.SerialHex);
        Assert.Contains(": revoked", OpenSslStatus(s, file, victim.SerialHex), StringComparison.Ordinal);
        Assert.Contains("Reason: keyCompromise", OpenSslStatus(s, file, victim.SerialHex), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_newly_issued_serial_is_published_by_the_next_run()
    {
        var s = Create("issue-one");
        Assert.True((await s.RunAsync()).Succeeded);
        var (_, serial) = s.Ca.Issue("fresh");
        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded);
        Assert.Equal(1, result.Changed);
        Assert.Contains(": good", OpenSslStatus(s, await s.ResponseFileAsync(serial), serial), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Local_revocations_win_over_the_crl()
    {
        var s = Create("local");
        var victim = s.Ca.Source.Good.First();
        string local = Path.Combine(s.Ca.Directory, "local.txt");
        File.WriteAllText(local, $"# revoked by hand\n{victim.SerialHex} 2026-01-02T03:04:05Z keyCompromise\n");
        s.Options.Issuers[0].LocalRevocations = local;
        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var single = OcspResponse.Decode((await s.FindAsync(victim.SerialHex))!.Der).Basic!.Responses.Single();
        Assert.Equal(CertStatus.Revoked(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), RevocationReason.KeyCompromise), single.Status);
    }

    [Fact]
    public async Task Without_an_issued_list_only_revoked_serials_are_published()
    {
        var s = Create("no-list", withIssuedList: false);
        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded);
        Assert.False(result.Deterministic);
        Assert.Contains(result.Warnings, w => w.Contains("not deterministic", StringComparison.Ordinal));
        foreach (var leaf in s.Ca.Source.Leaves) Assert.Equal(leaf.IsRevoked, await s.FindAsync(leaf.SerialHex) is not null);
        Assert.Equal(s.Ca.Source.Revoked.Count(), s.Index().Entries.Count);
    }

    public enum BadInput { TamperedCrl, ExpiredCrl, LowerCrlNumber, TruncatedSerialList, CorruptSerialList, WrongResponderKey, MissingCrl }

    [Theory]
    [InlineData(BadInput.TamperedCrl, "does not verify")]
    [InlineData(BadInput.ExpiredCrl, "expired")]
    [InlineData(BadInput.LowerCrlNumber, "lower than")]
    [InlineData(BadInput.TruncatedSerialList, "shrank")]
    [InlineData(BadInput.CorruptSerialList, "line")]
    [InlineData(BadInput.WrongResponderKey, "does not match")]
    [InlineData(BadInput.MissingCrl, "missing-crl.pem")]
    public async Task Bad_input_fails_the_issuer_and_keeps_previous_responses(BadInput bad, string message)
    {
        var s = Create("bad-" + bad);
        Assert.True((await s.RunAsync()).Succeeded);
        var victim = s.Ca.Source.Good.First();
        byte[] oldCrl = File.ReadAllBytes(s.Ca.CrlPath);
        s.Ca.Revoke(s.Ca.LeafPath(victim.Name), "keyCompromise");
        if (bad == BadInput.LowerCrlNumber)
        {
            // Accept a newer CRL first; replaying the older one must then be refused.
            s.Ca.GenerateCrl();
            Assert.True((await s.RunAsync()).Succeeded);
        }

        var before = s.Snapshot();
        Assert.Contains(before.Keys, k => k.StartsWith(StoreLayout.IndexFolder(s.IssuerId), StringComparison.Ordinal));

        switch (bad)
        {
            case BadInput.TamperedCrl:
                s.Ca.GenerateCrl();
                var der = CrlDer(s.Ca);
                der[^5] ^= 0x01; // inside the signature
                File.WriteAllBytes(s.Ca.CrlPath, der);
                break;
            case BadInput.ExpiredCrl:
                s.Ca.GenerateExpiredCrl(s.Ca.CrlPath);
                break;
            case BadInput.LowerCrlNumber:
                File.WriteAllBytes(s.Ca.CrlPath, oldCrl);
                break;
            case BadInput.TruncatedSerialList:
                s.Ca.GenerateCrl();
                File.WriteAllLines(s.Ca.IndexPath, File.ReadAllLines(s.Ca.IndexPath).Take(2));
                break;
            case BadInput.CorruptSerialList:
                s.Ca.GenerateCrl();
                File.AppendAllText(s.Ca.IndexPath, "V\tnot-a-time\t\tZZZZ\tunknown\t/CN=x\n");
                break;
            case BadInput.WrongResponderKey:
                s.Ca.GenerateCrl();
                s.Options.Issuers[0].Responder.Key = Path.Combine(s.Ca.Directory, "leaf.key");
                break;
            case BadInput.MissingCrl:
                s.Ca.GenerateCrl();
                s.Options.Issuers[0].Crls = [Path.Combine(s.Ca.Directory, "missing-crl.pem")];
                break;
        }

        var report = await s.RunAsync();
        var result = Assert.Single(report.Issuers);
        Assert.False(report.Succeeded);
        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains(message, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(0, result.ResponsesSigned);
        Assert.Equal(before, s.Snapshot());
        var manifest = s.Manifest();
        Assert.False(manifest.LastRunSucceeded);
        Assert.Contains(manifest.Errors, e => e.Contains(message, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_run_killed_mid_way_converges_when_run_again()
    {
        var s = Create("killed");
        using var cts = new CancellationTokenSource();
        var engine = new RefreshEngine(s.Options, s.Store, new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
            TimeProvider.System, NullLogger<RefreshEngine>.Instance)
        {
            BatchSize = 2,
            CheckpointEvery = 2,
            CheckpointInterval = TimeSpan.Zero,
            Progress = new InlineProgress(p => { if (p.Done >= 3) cts.Cancel(); }),
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.RunAsync(cts.Token));
        // A checkpointed index made it, referring only to stored packs; no temporary file is left anywhere in the store.
        var checkpointed = s.Index();
        Assert.NotEmpty(checkpointed.Entries);
        Assert.All(checkpointed.Packs(), p => Assert.True(File.Exists(s.PackPath(p)), $"pack {p} missing"));
        Assert.Empty(Directory.GetFiles(s.StoreDir, "*.tmp", SearchOption.AllDirectories));

        var rerun = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(rerun.Succeeded, string.Join("; ", rerun.Errors));
        int total = s.Ca.Source.Leaves.Count + 1;
        Assert.True(rerun.Changed < total, "the checkpoint should have kept some progress");
        Assert.Equal(total, s.Index().Entries.Count);
        foreach (var leaf in s.Ca.Source.Leaves)
            Assert.Contains(leaf.IsRevoked ? ": revoked" : ": good", OpenSslStatus(s, await s.ResponseFileAsync(leaf.SerialHex), leaf.SerialHex), StringComparison.Ordinal);
        // A pack the killed run stored but never indexed is retired, not leaked.
        var index = s.Index();
        var manifest = s.Manifest();
        Assert.All(s.PackNames(), p => Assert.True(index.Packs().Contains(p) || manifest.RetiredPacks.ContainsKey(p), $"pack {p} neither used nor retired"));
        Assert.Equal(0, Assert.Single((await s.RunAsync()).Issuers).ResponsesSigned);
    }

    [Fact]
    public async Task Two_runs_at_once_do_not_both_write()
    {
        var s = Create("locked");
        await using (var lease = await s.Store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(1), CancellationToken.None))
        {
            Assert.NotNull(lease);
            var report = await s.RunAsync();
            Assert.True(report.LockHeld);
            Assert.False(report.Succeeded);
            Assert.False(Directory.Exists(Path.Combine(s.StoreDir, "issuers")));
        }
        Assert.True((await s.RunAsync()).Succeeded);
    }

    [Fact]
    public async Task Refreshes_come_due_spread_out_and_are_re_signed()
    {
        var s = Create("due");
        var start = DateTimeOffset.UtcNow;
        Assert.True((await s.RunAsync(start)).Succeeded);
        int total = s.Ca.Source.Leaves.Count + 1;
        // Validity 1 day, refresh after 12 h less up to 25 % spread: nothing is due at 8 h, everything by 12 h.
        Assert.Equal(0, Assert.Single((await s.RunAsync(start.AddHours(8))).Issuers).Refreshed);
        var late = Assert.Single((await s.RunAsync(start.AddHours(12).AddMinutes(2))).Issuers);
        Assert.Equal(total, late.Refreshed);
        Assert.Equal(total * 2, late.ResponsesSigned);
        var single = (await s.FindAsync(s.Ca.Source.Leaves[0].SerialHex))!.Single;
        Assert.Equal(TimingPolicyThisUpdate(start.AddHours(12).AddMinutes(2)), single.ThisUpdate);
        Assert.Equal(single.ThisUpdate.AddDays(1), single.NextUpdate);
    }

    /// <summary>
    /// Re-signing everything leaves the first run's packs unreferenced: they are retired (kept for servers still holding
    /// the previous index) and deleted by the first run at least <see cref="RefreshEngine.PackRetention"/> later.
    /// </summary>
    [Fact]
    public async Task Unreferenced_packs_are_retired_then_deleted_after_the_retention()
    {
        var s = Create("retire");
        var retention = s.Engine().PackRetention;
        int total = s.Ca.Source.Leaves.Count + 1;
        var start = DateTimeOffset.UtcNow;
        var first = Assert.Single((await s.RunAsync(start)).Issuers);
        Assert.True(first.Succeeded, string.Join("; ", first.Errors));
        var firstPacks = s.PackNames();
        Assert.NotEmpty(firstPacks);
        Assert.Equal(firstPacks.Length, first.PacksWritten);
        var server = s.Source(TimeSpan.FromDays(1)); // loads the first index and keeps it
        var certIds = s.Ca.Source.Leaves.Select(l => s.Issuer.CertIdFor(SerialNumber.ParseHex(l.SerialHex), CertIdHashAlgorithm.Sha256)).ToList();
        Assert.Equal(LookupOutcome.Found, (await server.LookupAsync(certIds[0], CancellationToken.None)).Outcome);

        async Task AssertAllServedAsync(DateTimeOffset signedAt)
        {
            foreach (var leaf in s.Ca.Source.Leaves)
            {
                var single = (await s.FindAsync(leaf.SerialHex))!.Single;
                Assert.Equal(leaf.IsRevoked ? CertStatusKind.Revoked : CertStatusKind.Good, single.Status.Kind);
                Assert.Equal(TimingPolicy.ThisUpdate(signedAt), single.ThisUpdate);
            }
        }

        // Everything comes due and is re-signed into new packs; the first ones are retired, not deleted.
        var resigned = start.AddHours(12).AddMinutes(2);
        var second = Assert.Single((await s.RunAsync(resigned)).Issuers);
        Assert.True(second.Succeeded, string.Join("; ", second.Errors));
        Assert.Equal(total, second.Refreshed);
        Assert.Equal(0, second.PacksDeleted);
        var manifest = s.Manifest();
        Assert.Equal(firstPacks, manifest.RetiredPacks.Keys.Order(StringComparer.Ordinal));
        Assert.All(manifest.RetiredPacks.Values, since => Assert.Equal(resigned, since));
        Assert.Equal(s.Index().Packs().Count(), manifest.Packs);
        Assert.DoesNotContain(s.Index().Packs(), firstPacks.Contains);
        Assert.All(firstPacks, p => Assert.True(File.Exists(s.PackPath(p)), $"retired pack {p} deleted too early"));
        await AssertAllServedAsync(resigned);
        // The server still on the first index reads the retired packs.
        foreach (var certId in certIds.Skip(1))
        {
            var lookup = await server.LookupAsync(certId, CancellationToken.None);
            Assert.Equal(LookupOutcome.Found, lookup.Outcome);
            Assert.Equal(TimingPolicy.ThisUpdate(start), lookup.Response!.ThisUpdate);
        }

        // Just short of the retention they stay.
        var early = Assert.Single((await s.RunAsync(resigned + retention - TimeSpan.FromMinutes(1))).Issuers);
        Assert.True(early.Succeeded, string.Join("; ", early.Errors));
        Assert.Equal(0, early.ResponsesSigned);
        Assert.Equal(0, early.PacksDeleted);
        Assert.All(firstPacks, p => Assert.True(File.Exists(s.PackPath(p)), $"retired pack {p} deleted too early"));

        // Once retained that long they are deleted; the packs in use stay.
        var late = Assert.Single((await s.RunAsync(resigned + retention)).Issuers);
        Assert.True(late.Succeeded, string.Join("; ", late.Errors));
        Assert.Equal(firstPacks.Length, late.PacksDeleted);
        Assert.All(firstPacks, p => Assert.False(File.Exists(s.PackPath(p)), $"retired pack {p} not deleted"));
        Assert.Empty(s.Manifest().RetiredPacks);
        Assert.Equal(s.Index().Packs().Order(StringComparer.Ordinal), s.PackNames());
        await AssertAllServedAsync(resigned);
    }

    /// <summary>
    /// A pack the index refers to but the store no longer has (deleted by hand; lost by a machine crash) is noticed by the
    /// next run, which re-signs just its serials, warns, and leaves every serial served again.
    /// </summary>
    [Fact]
    public async Task A_missing_pack_is_noticed_and_its_serials_re_signed_by_the_next_run()
    {
        var s = Create("missing-pack");
        var options = s.Options;
        var start = DateTimeOffset.UtcNow;
        var engine = new RefreshEngine(options, s.Store, new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
            new FixedTime(start), NullLogger<RefreshEngine>.Instance) { PackBytes = 1 }; // one pack per serial
        Assert.True((await engine.RunAsync(CancellationToken.None)).Succeeded);
        var victim = s.Ca.Source.Leaves[1];
        var lostPack = s.Index().Entries[SerialNumber.ParseHex(victim.SerialHex)].Pack;
        File.Delete(s.PackPath(lostPack));
        Assert.NotNull(await s.FindAsync(s.Ca.Source.Leaves[0].SerialHex));
        await Assert.ThrowsAsync<StoreException>(() => s.FindAsync(victim.SerialHex));

        var result = Assert.Single((await s.RunAsync(start.AddMinutes(5))).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(0, result.Changed);
        Assert.Equal(1, result.Refreshed);
        Assert.Equal(2, result.ResponsesSigned);
        Assert.Contains(result.Warnings, w => w.Contains(lostPack, StringComparison.Ordinal) && w.Contains("re-signing their 1 serials", StringComparison.Ordinal));
        Assert.Contains(": " + (victim.IsRevoked ? "revoked" : "good"), OpenSslStatus(s, await s.ResponseFileAsync(victim.SerialHex), victim.SerialHex), StringComparison.Ordinal);
        var index = s.Index();
        Assert.All(index.Packs(), p => Assert.True(File.Exists(s.PackPath(p)), $"pack {p} still missing"));
        Assert.DoesNotContain(lostPack, s.Manifest().RetiredPacks.Keys);
    }

    /// <summary>Deleting retired packs is housekeeping: when the store refuses, the run still succeeds and records a warning.</summary>
    [Fact]
    public async Task A_failed_pack_deletion_is_a_warning_and_the_manifest_still_describes_the_index()
    {
        var s = Create("retire-fail");
        var start = DateTimeOffset.UtcNow;
        Assert.True((await s.RunAsync(start)).Succeeded);
        var firstPacks = s.PackNames();
        var resigned = start.AddHours(12).AddMinutes(2);
        Assert.True((await s.RunAsync(resigned)).Succeeded);
        Assert.Equal(firstPacks, s.Manifest().RetiredPacks.Keys.Order(StringComparer.Ordinal));

        var later = resigned + TimeSpan.FromHours(2);
        var refusing = new DeleteRefusingStore(s.Store);
        var engine = new RefreshEngine(s.Options, refusing, new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
            new FixedTime(later), NullLogger<RefreshEngine>.Instance);
        var result = Assert.Single((await engine.RunAsync(CancellationToken.None)).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.True(refusing.Refused > 0);
        Assert.Contains(result.Warnings, w => w.StartsWith("could not retire unused packs", StringComparison.Ordinal));
        var manifest = s.Manifest();
        Assert.True(manifest.LastRunSucceeded);
        Assert.Equal(later, manifest.LastSuccess);
        Assert.Equal(s.Index().Packs().Count(), manifest.Packs);
        Assert.All(firstPacks, p => Assert.True(File.Exists(s.PackPath(p))));

        // The next run without the fault deletes them.
        var cleanup = Assert.Single((await s.RunAsync(later.AddMinutes(5))).Issuers);
        Assert.Equal(firstPacks.Length, cleanup.PacksDeleted);
        Assert.Empty(s.Manifest().RetiredPacks);
    }

    private sealed class DeleteRefusingStore(IObjectStore inner) : ForwardingStore(inner)
    {
        public int Refused;

        public override Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Refused);
            throw new StoreException($"test store refuses to delete {name}");
        }
    }

    /// <summary>A pack that cannot be stored fails the issuer before the index refers to it; the next run publishes.</summary>
    [Theory]
    [InlineData(false, false)] // one pack, stored at the end of the run
    [InlineData(false, true)]  // stored at the first checkpoint
    [InlineData(true, true)]   // a pack per record, stored while the next ones are signed
    public async Task A_pack_store_failure_fails_the_issuer_and_keeps_the_published_index_and_packs(bool smallPacks, bool checkpoints)
    {
        var s = Create($"pack-fail-{smallPacks}-{checkpoints}");
        var start = DateTimeOffset.UtcNow;
        Assert.True((await s.RunAsync(start)).Succeeded);
        var before = s.Snapshot();
        Assert.Contains(before.Keys, k => k.StartsWith(StoreLayout.IndexFolder(s.IssuerId), StringComparison.Ordinal));

        var due = start.AddHours(12).AddMinutes(2); // everything due: every record goes into new packs
        var refusing = new PackRefusingStore(s.Store);
        var defaults = s.Engine();
        var engine = new RefreshEngine(s.Options, refusing, new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
            new FixedTime(due), NullLogger<RefreshEngine>.Instance)
        {
            PackBytes = smallPacks ? 1 : defaults.PackBytes,
            BatchSize = checkpoints ? 2 : defaults.BatchSize,
            CheckpointEvery = checkpoints ? 2 : defaults.CheckpointEvery,
            CheckpointInterval = checkpoints ? TimeSpan.Zero : defaults.CheckpointInterval,
        };
        var report = await engine.RunAsync(CancellationToken.None);
        var result = Assert.Single(report.Issuers);
        Assert.False(report.Succeeded);
        Assert.False(result.Succeeded);
        Assert.True(refusing.Refused > 0);
        Assert.Contains(result.Errors, e => e.Contains(PackRefusingStore.Refusal, StringComparison.Ordinal));
        Assert.Equal(before, s.Snapshot());
        var manifest = s.Manifest();
        Assert.False(manifest.LastRunSucceeded);
        Assert.Contains(manifest.Errors, e => e.Contains(PackRefusingStore.Refusal, StringComparison.Ordinal));
        foreach (var leaf in s.Ca.Source.Leaves) Assert.Equal(TimingPolicy.ThisUpdate(start), (await s.FindAsync(leaf.SerialHex))!.Single.ThisUpdate);

        var retry = Assert.Single((await s.RunAsync(due)).Issuers);
        Assert.True(retry.Succeeded, string.Join("; ", retry.Errors));
        Assert.Equal(s.Ca.Source.Leaves.Count + 1, retry.Refreshed);
        foreach (var leaf in s.Ca.Source.Leaves) Assert.Equal(TimingPolicy.ThisUpdate(due), (await s.FindAsync(leaf.SerialHex))!.Single.ThisUpdate);
    }

    /// <summary>RFC 5280 §5.2.4: a delta CRL applies on top of its base — it adds revocations and its removeFromCRL lifts a hold.</summary>
    [Fact]
    public async Task A_delta_crl_revokes_and_lifts_a_hold_on_top_of_its_base()
    {
        var s = Create("delta");
        var hold = s.Ca.Source.Leaf("certificateHold");
        var victim = s.Ca.Source.Good.First();
        string delta = Path.Combine(s.Ca.Directory, "delta.der");
        long baseNumber = s.Ca.Source.CrlNumber;
        File.WriteAllBytes(delta, SignedDeltaCrl(s.Ca, baseNumber, baseNumber + 1,
            [(victim.SerialHex, RevocationReason.KeyCompromise), (hold.SerialHex, RevocationReason.RemoveFromCrl)]));
        s.Options.Issuers[0].Crls.Add(delta);
        // A plain serial list: index.txt would itself record the hold, and revocations from the CA database or the
        // local list are deliberately not lifted by a delta (fail-safe when sources disagree).
        string serials = Path.Combine(s.Ca.Directory, "serials.txt");
        File.WriteAllLines(serials, File.ReadAllLines(s.Ca.IndexPath).Where(l => l.Length > 0).Select(l => l.Split('\t')[3]));
        s.Options.Issuers[0].IssuedSerials = serials;

        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Contains(": revoked", OpenSslStatus(s, await s.ResponseFileAsync(victim.SerialHex), victim.SerialHex), StringComparison.Ordinal);
        Assert.Contains(": good", OpenSslStatus(s, await s.ResponseFileAsync(hold.SerialHex), hold.SerialHex), StringComparison.Ordinal);

        // A delta for a newer base than any configured full CRL is refused, and nothing changes.
        var before = s.Snapshot();
        File.WriteAllBytes(delta, SignedDeltaCrl(s.Ca, baseNumber + 5, baseNumber + 6, [(s.Ca.Source.Good.Last().SerialHex, RevocationReason.KeyCompromise)]));
        var refused = Assert.Single((await s.RunAsync()).Issuers);
        Assert.False(refused.Succeeded);
        Assert.Contains(refused.Errors, e => e.Contains("no matching full CRL", StringComparison.Ordinal));
        Assert.Equal(before, s.Snapshot());
    }

    /// <summary>A delta CRL signed with the workspace CA's RSA key: cRLNumber and a critical deltaCRLIndicator.</summary>
    private static byte[] SignedDeltaCrl(CaWorkspace ca, long baseNumber, long number, (string Serial, RevocationReason Reason)[] entries)
    {
        using var key = System.Security.Cryptography.RSA.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(ca.Directory, "ca.key")));
        var revoked = entries.Select(e => new CrlEntry(SerialNumber.ParseHex(e.Serial).Bytes.ToArray(),
            [new CrlExtension(Oids.CrlReason, false, [0x0A, 0x01, (byte)e.Reason])]));
        return HandWrittenCrl.Sign(X509CertificateLoader.LoadCertificateFromFile(ca.CaCertPath), key, revoked,
            [HandWrittenCrl.Integer(Oids.CrlNumber, number), HandWrittenCrl.Integer(Oids.DeltaCrlIndicator, baseNumber, critical: true)]);
    }

    /// <summary>A writer that ignores the lease changes the manifest while a run is going: the run stops rather than overwrite it.</summary>
    [Fact]
    public async Task A_manifest_changed_by_another_writer_is_not_overwritten()
    {
        var s = Create("conflict");
        Assert.True((await s.RunAsync()).Succeeded);
        var store = new InterferingStore(s.Store);
        var engine = new RefreshEngine(s.Options, store, new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
            TimeProvider.System, NullLogger<RefreshEngine>.Instance);
        var result = Assert.Single((await engine.RunAsync(CancellationToken.None)).Issuers);
        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains("changed by another refresh", StringComparison.Ordinal));
        string manifest = File.ReadAllText(Path.Combine(s.StoreDir, StoreLayout.Manifest(s.Issuer.KeyHashHex)));
        Assert.Contains("written by the other writer", manifest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task File_store_conditional_puts_follow_if_match_and_create_only()
    {
        var store = new FileSystemObjectStore(pki.NewWorkDir("conditional"));
        Assert.NotNull(await store.PutAsync("a/b", "one"u8.ToArray(), PutCondition.Absent, CancellationToken.None));
        Assert.Null(await store.PutAsync("a/b", "two"u8.ToArray(), PutCondition.Absent, CancellationToken.None));
        var read = await store.GetAsync("a/b", CancellationToken.None);
        await store.PutAsync("a/b", "three"u8.ToArray(), CancellationToken.None);
        Assert.Null(await store.PutAsync("a/b", "four"u8.ToArray(), PutCondition.For(read), CancellationToken.None));
        var current = await store.GetAsync("a/b", CancellationToken.None);
        Assert.NotNull(await store.PutAsync("a/b", "five"u8.ToArray(), PutCondition.For(current), CancellationToken.None));
        Assert.Equal("five"u8.ToArray(), (await store.GetAsync("a/b", CancellationToken.None))!.Content);
    }

    /// <summary>Rewrites a manifest right after the run has read it, as a second writer would.</summary>
    private sealed class InterferingStore(IObjectStore inner) : ForwardingStore(inner)
    {
        private bool _done;

        public override async Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken)
        {
            var result = await Inner.GetAsync(name, cancellationToken);
            if (!_done && name.EndsWith("manifest.json", StringComparison.Ordinal))
            {
                _done = true;
                await Task.Delay(20, cancellationToken); // a later modification time
                await Inner.PutAsync(name, "{\"name\":\"written by the other writer\"}"u8.ToArray(), cancellationToken);
            }
            return result;
        }
    }

    /// <summary>Refuses every pack write (a full disk, a Blob error) and forwards everything else.</summary>
    private sealed class PackRefusingStore(IObjectStore inner) : ForwardingStore(inner)
    {
        public const string Refusal = "test store refuses pack writes";

        private int _refused;

        public int Refused => _refused;

        public override Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            if (!name.Contains("/packs/", StringComparison.Ordinal)) return Inner.PutAsync(name, content, cancellationToken);
            Interlocked.Increment(ref _refused);
            throw new StoreException($"{Refusal}: {name}");
        }
    }

    private static DateTimeOffset TimingPolicyThisUpdate(DateTimeOffset t) => TimingPolicy.ThisUpdate(t);

    private static byte[] CrlDer(CaWorkspace ca)
    {
        string der = Path.Combine(ca.Directory, "crl-tmp.der");
        OpenSsl.Run(ca.Directory, "crl", "-in", ca.CrlPath, "-outform", "DER", "-out", der);
        return File.ReadAllBytes(der);
    }

    private sealed class InlineProgress(Action<RefreshProgress> report) : IProgress<RefreshProgress>
    {
        public void Report(RefreshProgress value) => report(value);
    }
}
