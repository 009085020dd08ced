using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// The refresh end to end on the embedded default (directory store, key file) over a CA run by <c>openssl ca</c>:
/// index.txt as the issued-serials list, <c>openssl ca -gencrl</c> CRLs; every stored response checked by
/// <c>openssl ocsp -respin</c>.
/// </summary>
[Collection("pki")]
public sealed class RefreshEngineTests(TestPki pki)
{
    private sealed class Setup
    {
        public required CaWorkspace Ca { get; init; }
        public required string StoreDir { get; init; }
        public required OcspOptions Options { get; init; }
        public required FileSystemObjectStore Store { get; init; }
        public OcspIssuer Issuer => new(X509CertificateLoader.LoadCertificateFromFile(Ca.CaCertPath));

        public Task<RefreshReport> RunAsync(DateTimeOffset? now = null) => Engine(now).RunAsync(CancellationToken.None);

        public RefreshEngine Engine(DateTimeOffset? now = null) => new(Options, Store,
            new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
            now is { } t ? new FixedTime(t) : TimeProvider.System, NullLogger<RefreshEngine>.Instance);

        public string ResponsePath(string serialHex, CertIdHashAlgorithm algorithm = CertIdHashAlgorithm.Sha1) =>
            Path.Combine(StoreDir, StoreLayout.Response(algorithm, Issuer.KeyHash(algorithm), SerialNumber.ParseHex(serialHex)));

        /// <summary>Every stored response file's bytes, by relative path.</summary>
        public Dictionary<string, byte[]> Snapshot() => Directory.GetFiles(Path.Combine(StoreDir, "responses"), "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(StoreDir, f), File.ReadAllBytes);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private Setup Create(string hint, TestCa? source = null, bool withIssuedList = true)
    {
        var ca = new CaWorkspace(pki, source ?? pki.RsaCa, hint);
        string storeDir = Path.Combine(ca.Directory, "store");
        var options = ca.Options(hint);
        if (!withIssuedList) options.Issuers[0].IssuedSerials = null;
        return new Setup { Ca = ca, StoreDir = storeDir, Options = options, Store = new FileSystemObjectStore(storeDir) };
    }

    private static string OpenSslStatus(Setup s, string responsePath, string serialHex)
    {
        var result = OpenSsl.Run(s.Ca.Directory, ["ocsp", "-respin", responsePath, "-issuer", s.Ca.CaCertPath, "-CAfile", s.Ca.CaCertPath,
            "-serial", "0x" + serialHex, "-no_nonce"], check: false);
        Assert.Contains("Response verify OK", result.Output, StringComparison.Ordinal);
        return result.StdOut;
    }

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
                string path = s.ResponsePath(leaf.SerialHex, algorithm);
                Assert.True(File.Exists(path), $"{leaf} {algorithm} missing");
                var single = OcspResponse.Decode(File.ReadAllBytes(path)).Basic!.Responses.Single();
                Assert.Equal(algorithm, single.CertId.HashAlgorithm);
                Assert.Equal(leaf.IsRevoked ? CertStatusKind.Revoked : CertStatusKind.Good, single.Status.Kind);
                if (leaf.IsRevoked)
                {
                    Assert.Equal(leaf.RevocationTime, single.Status.RevocationTime);
                    Assert.Equal(leaf.CrlReasonCode, (int?)single.Status.Reason);
                }
            }
            string text = OpenSslStatus(s, s.ResponsePath(leaf.SerialHex), leaf.SerialHex);
            Assert.Contains(leaf.IsRevoked ? ": revoked" : ": good", text, StringComparison.Ordinal);
        }

        // Signed by the CA but never in its database: no response, so the server answers unauthorized.
        Assert.False(File.Exists(s.ResponsePath("0BADC0FFEE")));
        var manifest = IssuerManifest.Parse(File.ReadAllBytes(Path.Combine(s.StoreDir, StoreLayout.Manifest(s.Issuer.KeyHashHex))), "manifest");
        Assert.True(manifest.LastRunSucceeded);
        Assert.True(manifest.Deterministic);
        Assert.Equal(s.Ca.Source.CrlNumber, long.Parse(manifest.CrlNumbers[s.Ca.CrlPath], System.Globalization.CultureInfo.InvariantCulture));
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
        var after = s.Snapshot();
        var changed = after.Where(kv => !before[kv.Key].AsSpan().SequenceEqual(kv.Value)).Select(kv => kv.Key).ToList();
        Assert.Equal(2, changed.Count);
        Assert.All(changed, path => Assert.EndsWith(SerialNumber.ParseHex(victim.SerialHex).ToString(), path, StringComparison.Ordinal));
        Assert.Contains(": revoked", OpenSslStatus(s, s.ResponsePath(victim.SerialHex), victim.SerialHex), StringComparison.Ordinal);
        Assert.Contains("Reason: keyCompromise", OpenSslStatus(s, s.ResponsePath(victim.SerialHex), victim.SerialHex), StringComparison.Ordinal);
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
        Assert.Contains(": good", OpenSslStatus(s, s.ResponsePath(serial), serial), StringComparison.Ordinal);
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
        var single = OcspResponse.Decode(File.ReadAllBytes(s.ResponsePath(victim.SerialHex))).Basic!.Responses.Single();
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
        foreach (var leaf in s.Ca.Source.Leaves) Assert.Equal(leaf.IsRevoked, File.Exists(s.ResponsePath(leaf.SerialHex)));
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

        string indexFile = Path.Combine(s.StoreDir, StoreLayout.Index(s.Issuer.KeyHashHex));
        var before = s.Snapshot();
        var indexBefore = File.ReadAllBytes(indexFile);

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
        Assert.Equal(indexBefore, File.ReadAllBytes(indexFile));
        var manifest = IssuerManifest.Parse(File.ReadAllBytes(Path.Combine(s.StoreDir, StoreLayout.Manifest(s.Issuer.KeyHashHex))), "manifest");
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
            Progress = new InlineProgress(p => { if (p.Done >= 3) cts.Cancel(); }),
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.RunAsync(cts.Token));
        // Some responses and a checkpointed index made it; no temporary files are left as responses.
        Assert.NotEmpty(s.Snapshot());
        Assert.DoesNotContain(s.Snapshot().Keys, k => k.EndsWith(".tmp", StringComparison.Ordinal));

        var rerun = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(rerun.Succeeded, string.Join("; ", rerun.Errors));
        Assert.True(rerun.Changed < s.Ca.Source.Leaves.Count + 1, "the checkpoint should have kept some progress");
        foreach (var leaf in s.Ca.Source.Leaves)
            Assert.Contains(leaf.IsRevoked ? ": revoked" : ": good", OpenSslStatus(s, s.ResponsePath(leaf.SerialHex), leaf.SerialHex), StringComparison.Ordinal);
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
            Assert.False(Directory.Exists(Path.Combine(s.StoreDir, "responses")));
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
        var single = OcspResponse.Decode(File.ReadAllBytes(s.ResponsePath(s.Ca.Source.Leaves[0].SerialHex))).Basic!.Responses.Single();
        Assert.Equal(TimingPolicyThisUpdate(start.AddHours(12).AddMinutes(2)), single.ThisUpdate);
        Assert.Equal(single.ThisUpdate.AddDays(1), single.NextUpdate);
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
        Assert.Contains(": revoked", OpenSslStatus(s, s.ResponsePath(victim.SerialHex), victim.SerialHex), StringComparison.Ordinal);
        Assert.Contains(": good", OpenSslStatus(s, s.ResponsePath(hold.SerialHex), hold.SerialHex), StringComparison.Ordinal);

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
    private sealed class InterferingStore(IObjectStore inner) : IObjectStore
    {
        private bool _done;

        public async Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken)
        {
            var result = await inner.GetAsync(name, cancellationToken);
            if (!_done && name.EndsWith("manifest.json", StringComparison.Ordinal))
            {
                _done = true;
                await Task.Delay(20, cancellationToken); // a later modification time
                await inner.PutAsync(name, "{\"name\":\"written by the other writer\"}"u8.ToArray(), cancellationToken);
            }
            return result;
        }

        public Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.PutAsync(name, content, cancellationToken);
        public Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken) =>
            inner.PutAsync(name, content, condition, cancellationToken);
        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
        public Task<IAsyncDisposable?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken) =>
            inner.TryAcquireLeaseAsync(name, duration, cancellationToken);
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
