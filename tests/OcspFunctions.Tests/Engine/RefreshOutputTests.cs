using System.Text.Json;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// What an operator reads: an expected input failure is one log line naming the issuer, the input and the reason (the
/// stack trace only with -v), the failed issuer's summary says why, a missing input file exits 1, and text read from
/// inputs never reaches the terminal with its control characters.
/// </summary>
[Collection("pki")]
public sealed class RefreshOutputTests(TestPki pki)
{
    private const char Esc = '\u001b';

    private static string WriteConfig(CaWorkspace ca, string name, string crl = "crl.pem", string serials = "index.txt")
    {
        var config = new
        {
            Ocsp = new
            {
                Store = new { Path = "store" },
                Timing = new { Validity = "1.00:00:00" },
                Issuers = new[]
                {
                    new
                    {
                        Name = name,
                        Certificate = "ca.pem",
                        Crls = new[] { crl },
                        IssuedSerials = serials,
                        Responder = new { Certificate = "responder.pem", Key = "responder.pkcs8.pem" },
                    },
                },
            },
        };
        string path = Path.Combine(ca.Directory, "ocsp.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }

    [Fact]
    public void A_missing_input_file_fails_the_issuer_with_its_reason_and_one_log_line()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "cli-missing");
        string config = WriteConfig(ca, "test-ca", crl: "missing.pem");
        string missing = Path.Combine(ca.Directory, "missing.pem");

        var refresh = CliTests.Run(ca.Directory, "refresh", "--config", config);
        Assert.Equal(1, refresh.Exit);
        // The summary is the reason, not a line of zero counts.
        string summary = Assert.Single(refresh.Out.Split('\n'), l => l.StartsWith("test-ca:", StringComparison.Ordinal));
        Assert.Contains("FAILED", summary, StringComparison.Ordinal);
        Assert.Contains(missing, summary, StringComparison.Ordinal);
        Assert.Contains("no such file", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("good 0", refresh.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("not deterministic", refresh.Out, StringComparison.Ordinal);
        // One log line with the issuer, the location and the reason; no exception type, no stack trace.
        // (The console logger writes to standard output.)
        string all = refresh.Out + refresh.Err;
        string logged = Assert.Single(all.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("fail:", StringComparison.Ordinal));
        Assert.Contains("test-ca", logged, StringComparison.Ordinal);
        Assert.Contains(missing, logged, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", all, StringComparison.Ordinal);
        Assert.DoesNotContain(" at OcspFunctions.", all, StringComparison.Ordinal);

        // -v: the details, stack trace included.
        var verbose = CliTests.Run(ca.Directory, "refresh", "--config", config, "-v");
        Assert.Equal(1, verbose.Exit);
        Assert.Contains("SourceException", verbose.Out + verbose.Err, StringComparison.Ordinal);
        Assert.Contains(" at OcspFunctions.", verbose.Out + verbose.Err, StringComparison.Ordinal);
    }

    /// <summary>Sticky revocations reach the operator: the refresh line and a warning, and <c>status</c> (the count and the warning).</summary>
    [Fact]
    public void Refresh_and_status_report_revocations_kept_after_a_crl_dropped_them()
    {
        var ca = new CaWorkspace(pki, pki.RsaCa, "cli-sticky");
        File.WriteAllLines(Path.Combine(ca.Directory, "serials.txt"),
            File.ReadAllLines(ca.IndexPath).Where(l => l.Length > 0).Select(l => l.Split('\t')[3]));
        string config = WriteConfig(ca, "test-ca", serials: "serials.txt");
        Assert.Equal(0, CliTests.Run(ca.Directory, "refresh", "--config", config).Exit);
        File.WriteAllBytes(ca.CrlPath, StickyRevocationTests.EmptyCrl(ca, ca.Source.CrlNumber + 1));
        int kept = ca.Source.Revoked.Count(l => l.Name != "certificateHold");

        var refresh = CliTests.Run(ca.Directory, "refresh", "--config", config);
        Assert.True(refresh.Exit == 0, refresh.Out + refresh.Err);
        Assert.Contains($"(kept revoked {kept})", refresh.Out, StringComparison.Ordinal);
        Assert.Contains($"warning: {kept} serials kept revoked", refresh.Out, StringComparison.Ordinal);
        var status = CliTests.Run(ca.Directory, "status", "--config", config);
        Assert.True(status.Exit == 0, status.Out + status.Err);
        Assert.Contains($"kept revoked: {kept} serials", status.Out, StringComparison.Ordinal);
        Assert.Contains($"warning: {kept} serials kept revoked", status.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_from_the_configuration_and_a_serial_list_are_escaped_in_output()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "cli-escape");
        string serials = Path.Combine(ca.Directory, "serials.txt");
        File.WriteAllText(serials, $"01AB\n{Esc}]0;pwned\u0007{Esc}[2J\n");
        string config = WriteConfig(ca, $"test{Esc}[31m-ca", serials: "serials.txt");

        var refresh = CliTests.Run(ca.Directory, "refresh", "--config", config);
        Assert.Equal(1, refresh.Exit);
        Assert.DoesNotContain(Esc, refresh.Out + refresh.Err);
        Assert.DoesNotContain('\u0007', refresh.Out + refresh.Err);
        Assert.Contains(@"test\x1B[31m-ca: FAILED", refresh.Out, StringComparison.Ordinal);
        Assert.Contains(@"line 2: '\x1B]0;pwned\x07\x1B[2J' is not a hexadecimal serial number", refresh.Out, StringComparison.Ordinal);
        Assert.Contains(@"Refresh of issuer test\x1B[31m-ca failed", refresh.Out, StringComparison.Ordinal);

        var status = CliTests.Run(ca.Directory, "status", "--config", config);
        Assert.Equal(1, status.Exit);
        Assert.DoesNotContain(Esc, status.Out + status.Err);
        Assert.Contains(@"\x1B]0;pwned\x07", status.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_serial_list_error_escapes_the_line_it_quotes()
    {
        var e = Assert.Throws<SourceException>(() => IssuedSerialsParser.Parse("01AB\n\u001b[2J\u009b1m\n"u8.ToArray(), IssuedSerialsFormat.Text, "list\u001b.txt"));
        Assert.Equal(@"list\x1B.txt line 2: '\x1B[2J\x9B1m' is not a hexadecimal serial number", e.Message);
        var local = Assert.Throws<SourceException>(() => LocalRevocationsParser.Parse(new StringReader("01 2026-01-01T00:00:00Z \u202Eevil"), "local.txt"));
        Assert.Contains(@"unknown revocation reason '\u202Eevil'", local.Message, StringComparison.Ordinal);
    }

    /// <summary><c>inspect</c> prints what a CRL carries (its issuer name): escaped, line breaks kept.</summary>
    [Fact]
    public void Inspect_escapes_a_crl_issuer_name()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var name = new System.Security.Cryptography.X509Certificates.X500DistinguishedNameBuilder();
        name.AddCommonName($"evil{Esc}[2J CA");
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(name.Build(), key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var crl = HandWrittenCrl.Sign(ca, key, [], [HandWrittenCrl.Integer(Oids.CrlNumber, 1)]);

        string text = OcspResponder.Cli.Inspector.Describe(crl);
        Assert.DoesNotContain(Esc, text);
        Assert.Contains(@"evil\x1B[2J CA", text, StringComparison.Ordinal);
        Assert.Contains('\n', text);
    }

    [Theory]
    [InlineData("plain C:\\OCSP\\ca.crl", "plain C:\\OCSP\\ca.crl")]
    [InlineData("a\u001b[31mb", "a\\x1B[31mb")]
    [InlineData("tab\tcr\rlf\nnul\0del\u007f", "tab\\x09cr\\x0Dlf\\x0Anul\\x00del\\x7F")]
    [InlineData("c1\u0085 bidi\u202E sep\u2028", "c1\\x85 bidi\\u202E sep\\u2028")]
    public void Printable_escapes_control_format_and_separator_characters(string input, string expected)
    {
        Assert.Equal(expected, Printable.Escape(input));
        Assert.Equal(expected, Printable.Escape(Printable.Escape(input))); // escaping twice changes nothing
    }

    [Fact]
    public void Printable_escapes_a_lone_surrogate_and_keeps_a_pair()
    {
        string input = "lone" + '\ud800' + " pair\U0001F600 é";
        Assert.Equal("lone\\uD800 pair\U0001F600 é", Printable.Escape(input));
    }

    [Fact]
    public void Printable_lines_keep_line_breaks_and_tabs()
    {
        Assert.Equal("a\n\tb\r\nc\\x0Dd\\x1B", Printable.EscapeLines("a\n\tb\r\nc\rd\u001b"));
    }
}
