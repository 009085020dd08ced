using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Hosting;
using OcspFunctions.Protocol.Signing;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>Responder certificate life: the roll-over capacity check, and days to expiry in status and /health.</summary>
[Collection("pki")]
public sealed class ResponderRolloverTests(TestPki pki)
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_rollover_check_gives_the_numbers_and_prefers_the_measured_rate()
    {
        // 1,000,000 responses at 200/s = 1.4 h; 1 h left on the old certificate → refused with the numbers.
        string? error = ResponderRollover.CheckRollover(Now.AddHours(1), Now.AddDays(60), 1_000_000, null, 200, Now);
        Assert.NotNull(error);
        Assert.Contains("1,000,000 responses", error, StringComparison.Ordinal);
        Assert.Contains("200/s (the signer's declared limit)", error, StringComparison.Ordinal);
        Assert.Contains("1.4 h", error, StringComparison.Ordinal);
        Assert.Contains("in 1.0 h", error, StringComparison.Ordinal);
        // A measured rate wins over the declared one.
        Assert.Null(ResponderRollover.CheckRollover(Now.AddHours(1), Now.AddDays(60), 1_000_000, 400, 200, Now));
        Assert.Contains("(measured)", ResponderRollover.CheckRollover(Now.AddHours(1), Now.AddDays(60), 1_000_000, 100, 2000, Now), StringComparison.Ordinal);
        // Enough time, no rate known, or the old certificate already gone: nothing to refuse.
        Assert.Null(ResponderRollover.CheckRollover(Now.AddHours(2), Now.AddDays(60), 1_000_000, null, 200, Now));
        Assert.Null(ResponderRollover.CheckRollover(Now.AddHours(1), Now.AddDays(60), 1_000_000, null, null, Now));
        Assert.Null(ResponderRollover.CheckRollover(Now.AddHours(-1), Now.AddDays(60), 1_000_000, null, 200, Now));
        // Runs sign only MaxRunTime of every timer interval (4 of 5 minutes): 1.4 h of signing takes 1.7 h of wall time.
        Assert.Null(ResponderRollover.CheckRollover(Now.AddHours(1.6), Now.AddDays(60), 1_000_000, null, 200, Now));
        string? slower = ResponderRollover.CheckRollover(Now.AddHours(1.6), Now.AddDays(60), 1_000_000, null, 200, Now, dutyCycle: 0.8);
        Assert.NotNull(slower);
        Assert.Contains("signing 80 % of the time", slower, StringComparison.Ordinal);
        Assert.Contains("1.7 h", slower, StringComparison.Ordinal);
    }

    [Fact]
    public void Days_to_expiry_warn_at_30_and_fail_at_7_in_health()
    {
        Assert.Equal(20.5, ResponderRollover.DaysToExpiry(Now.AddDays(20.5), Now));
        Assert.Equal("ok", ResponderRollover.ExpiryLevel(Now.AddDays(31), Now));
        Assert.Equal("warn", ResponderRollover.ExpiryLevel(Now.AddDays(29), Now));
        Assert.Equal("fail", ResponderRollover.ExpiryLevel(Now.AddDays(6.9), Now));
        var manifest = new IssuerManifest
            { LastRunSucceeded = true, OldestNextUpdate = Now.AddDays(1), NextRefreshDue = Now.AddHours(1), ResponderNotAfter = Now.AddDays(20) };
        Assert.Equal("fresh", ResponderHost.HealthState(manifest, Now));
        manifest.ResponderNotAfter = Now.AddDays(6);
        Assert.Equal("expiring", ResponderHost.HealthState(manifest, Now));
        manifest.LastRunSucceeded = false;
        Assert.Equal("failing", ResponderHost.HealthState(manifest, Now));
    }

    /// <summary>A local key declaring a very low rate, so a small test PKI cannot re-sign before the old certificate ends.</summary>
    private sealed class SlowSigner(IOcspSigner inner, double rate) : IOcspSigner, ISigningRateHint
    {
        public SignatureAlgorithm Algorithm => inner.Algorithm;
        public ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.SignAsync(data, cancellationToken);
        public ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) => inner.GetSubjectPublicKeyInfoAsync(cancellationToken);
        public double? DeclaredSignaturesPerSecond => rate;
    }

    private sealed class SlowSigners(double rate) : ISignerFactory
    {
        public async Task<IOcspSigner> CreateAsync(IssuerOptions issuer, CancellationToken cancellationToken) =>
            new SlowSigner(await new LocalKeySignerFactory().CreateAsync(issuer, cancellationToken), rate);
    }

    [Fact]
    public async Task A_new_responder_certificate_the_old_one_cannot_cover_fails_the_issuer_with_the_numbers_but_still_re_signs()
    {
        var ca = new CaWorkspace(pki, pki.Ca("ec"), "rollover");
        var options = ca.Options("rollover");
        // A signer this slow fails the capacity check too (bounded runs); here only the roll-over check is under test.
        options.Timing.AllowPrivatePki = true;
        async Task<IssuerRefreshResult> RunAsync()
        {
            var report = await new RefreshEngine(options, new FileSystemObjectStore(ca.StorePath), new CompositeSourceReader([new FileSourceReader()]),
                new SlowSigners(0.000001), TimeProvider.System, NullLogger<RefreshEngine>.Instance).RunAsync(CancellationToken.None);
            return Assert.Single(report.Issuers);
        }
        var first = await RunAsync();
        Assert.True(first.Succeeded, string.Join("; ", first.Errors));

        // A new certificate for the same key (a renewal): a dozen responses at 0.000001/s take 139 days; the old one has under 20 left.
        OpenSsl.Run(ca.Directory, "req", "-new", "-key", ca.ResponderKeyPath, "-subj", "/CN=renewed responder", "-out", "renewed.csr");
        OpenSsl.Run(ca.Directory, "x509", "-req", "-in", "renewed.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "60", "-sha256",
            "-extfile", "openssl.cnf", "-extensions", "ocsp_ext", "-set_serial", "0x0BEEF", "-out", "renewed.pem");
        options.Issuers[0].Responder.Certificate = Path.Combine(ca.Directory, "renewed.pem");
        var rolled = await RunAsync();
        Assert.False(rolled.Succeeded, $"signed {rolled.ResponsesSigned}, changed {rolled.Changed}, refreshed {rolled.Refreshed}; " + string.Join("; ", rolled.Warnings));
        var error = Assert.Single(rolled.Errors);
        Assert.Contains("roll-over cannot finish in time", error, StringComparison.Ordinal);
        Assert.Contains($"{first.ResponsesSigned} responses to re-sign", error, StringComparison.Ordinal);
        Assert.Equal(first.ResponsesSigned, rolled.ResponsesSigned); // re-signed anyway: holding back only lets more go stale
        using var renewed = X509CertificateLoader.LoadCertificateFromFile(options.Issuers[0].Responder.Certificate);
        var manifest = IssuerManifest.Parse((await new FileSystemObjectStore(ca.StorePath).GetAsync(StoreLayout.Manifest(rolled.IssuerId!), CancellationToken.None))!.Content, "m");
        Assert.Equal(new DateTimeOffset(renewed.NotAfter.ToUniversalTime()), manifest.ResponderNotAfter);
        Assert.Contains(error, manifest.Errors);

        // The next run has nothing to roll over: fine again.
        var after = await RunAsync();
        Assert.True(after.Succeeded, string.Join("; ", after.Errors));
    }

    [Fact]
    public async Task Status_shows_the_days_left_warns_under_30_and_exits_1_under_7()
    {
        var ca = new CaWorkspace(pki, pki.Ca("ec"), "expiry-status");
        string config = Path.Combine(ca.Directory, "ocsp.json");
        File.WriteAllText(config, """
            { "Ocsp": { "Store": { "Path": "store" }, "Timing": { "Validity": "1.00:00:00" }, "Issuers": [ { "Name": "test-ca",
              "Certificate": "ca.pem", "Crls": [ "crl.pem" ], "IssuedSerials": "index.txt",
              "Responder": { "Certificate": "responder.pem", "Key": "responder.pkcs8.pem" } } ] } }
            """);
        Assert.Equal(0, await OcspResponder.Cli.RefreshCommand.RunAsync(config, false, TextWriter.Null, TextWriter.Null, CancellationToken.None));
        var output = new StringWriter();
        Assert.Equal(0, await OcspResponder.Cli.StatusCommand.RunAsync(config, output, TextWriter.Null, CancellationToken.None));
        Assert.Matches(@"responder certificate expires: \S+ \S+ \((19|20)(\.\d)? days\) — warning: under 30 days left", output.ToString());

        // A responder certificate with 5 days left: still signing (over 8 hours), but status fails.
        OpenSsl.Run(ca.Directory, "req", "-new", "-key", ca.ResponderKeyPath, "-subj", "/CN=short responder", "-out", "short.csr");
        OpenSsl.Run(ca.Directory, "x509", "-req", "-in", "short.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "5", "-sha256",
            "-extfile", "openssl.cnf", "-extensions", "ocsp_ext", "-set_serial", "0x05EC", "-out", "responder.pem");
        Assert.Equal(0, await OcspResponder.Cli.RefreshCommand.RunAsync(config, false, TextWriter.Null, TextWriter.Null, CancellationToken.None));
        output = new StringWriter();
        Assert.Equal(1, await OcspResponder.Cli.StatusCommand.RunAsync(config, output, TextWriter.Null, CancellationToken.None));
        Assert.Matches(@"\((4|5)(\.\d)? days\) — EXPIRING: under 7 days left", output.ToString());
    }
}
