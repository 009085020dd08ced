using System.Diagnostics;
using System.Text.Json;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>The verbs as an operator runs them: the real OcspResponder executable, a JSON config, exit codes.</summary>
[Collection("pki")]
public sealed class CliTests(TestPki pki)
{
    internal static (int Exit, string Out, string Err) Run(string workingDirectory, params string[] args) => RunWith(workingDirectory, null, args);

    private static (int Exit, string Out, string Err) RunWith(string workingDirectory, Dictionary<string, string>? environment, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "OcspResponder.dll");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in environment ?? []) psi.Environment[k] = v;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000)) process.Kill(entireProcessTree: true);
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string WriteConfig(CaWorkspace ca, object? timing = null)
    {
        // Relative paths: they resolve against the config file's directory.
        var config = new
        {
            Ocsp = new
            {
                Store = new { Path = "store" },
                Timing = timing ?? new { Validity = "1.00:00:00" },
                Issuers = new[]
                {
                    new
                    {
                        Name = "test-ca",
                        Certificate = "ca.pem",
                        Crls = new[] { "crl.pem" },
                        IssuedSerials = "index.txt",
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
    public void Refresh_status_staple_and_inspect_work_from_the_command_line()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "cli");
        string config = WriteConfig(ca);
        string elsewhere = pki.NewWorkDir("cli-cwd");

        var refresh = Run(elsewhere, "refresh", "--config", config);
        Assert.True(refresh.Exit == 0, refresh.Out + refresh.Err);
        Assert.Contains("test-ca: ok", refresh.Out, StringComparison.Ordinal);
        Assert.Contains($"good {ca.Source.Good.Count() + 1}", refresh.Out, StringComparison.Ordinal);
        Assert.Contains("refresh succeeded", refresh.Out, StringComparison.Ordinal);

        var status = Run(elsewhere, "status", "--config", config);
        Assert.True(status.Exit == 0, status.Out + status.Err);
        Assert.Contains("test-ca", status.Out, StringComparison.Ordinal);
        Assert.Contains("oldest nextUpdate", status.Out, StringComparison.Ordinal);

        var leaf = ca.Source.Good.First();
        string stapled = Path.Combine(elsewhere, "staple.der");
        var staple = Run(elsewhere, "staple", "--config", config, "--cert", leaf.CertPath, "--out", stapled);
        Assert.True(staple.Exit == 0, staple.Out + staple.Err);
        var verify = OpenSsl.Run(ca.Directory, ["ocsp", "-respin", stapled, "-issuer", ca.CaCertPath, "-CAfile", ca.CaCertPath, "-cert", leaf.CertPath], check: false);
        Assert.Contains("Response verify OK", verify.Output, StringComparison.Ordinal);
        Assert.Contains(": good", verify.StdOut, StringComparison.Ordinal);

        var inspect = Run(elsewhere, "inspect", stapled);
        Assert.Equal(0, inspect.Exit);
        Assert.Contains("status: good", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("signature verifies", inspect.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_input_gives_a_non_zero_exit_and_status_reports_it()
    {
        var ca = new CaWorkspace(pki, pki.RsaCa, "cli-fail");
        string config = WriteConfig(ca);
        Assert.Equal(0, Run(ca.Directory, "refresh", "--config", config).Exit);
        File.WriteAllText(ca.CrlPath, "-----BEGIN X509 CRL-----\nnot base64 at all\n-----END X509 CRL-----\n");
        var refresh = Run(ca.Directory, "refresh", "--config", config);
        Assert.Equal(1, refresh.Exit);
        Assert.Contains("FAILED", refresh.Out, StringComparison.Ordinal);
        var status = Run(ca.Directory, "status", "--config", config);
        Assert.Equal(1, status.Exit);
        Assert.Contains("FAILING", status.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_outside_the_ca_browser_forum_rules_are_refused_unless_private_pki()
    {
        var ca = new CaWorkspace(pki, pki.RsaCa, "cli-timing");
        string config = WriteConfig(ca, new { Validity = "14.00:00:00" });
        var refused = Run(ca.Directory, "refresh", "--config", config);
        Assert.Equal(2, refused.Exit);
        Assert.Contains("over 10 days", refused.Err, StringComparison.Ordinal);

        // Environment variables override the file, as Azure app settings do.
        var allowedByEnvironment = RunWith(ca.Directory, new() { ["Ocsp__Timing__AllowPrivatePki"] = "true" }, "refresh", "--config", config);
        Assert.True(allowedByEnvironment.Exit == 0, allowedByEnvironment.Out + allowedByEnvironment.Err);
        Assert.Contains("allowed by Timing:AllowPrivatePki", allowedByEnvironment.Err, StringComparison.Ordinal);

        string allowed = WriteConfig(ca, new { Validity = "1.00:00:00", RefreshAfter = "20:00:00" });
        var refusedRefresh = Run(ca.Directory, "refresh", "--config", allowed);
        Assert.Equal(2, refusedRefresh.Exit);
        Assert.Contains("less than 8 hours", refusedRefresh.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Csr_for_a_local_key_is_a_request_openssl_verifies_with_the_responder_profile()
    {
        string dir = pki.NewWorkDir("cli-csr");
        string csr = Path.Combine(dir, "responder.csr");
        var result = Run(dir, "csr", "--key", pki.EcCa.ResponderKeyPkcs8Path, "--subject", "CN=Example OCSP Responder, O=Example", "--out", csr);
        Assert.True(result.Exit == 0, result.Out + result.Err);
        var text = OpenSsl.Run(dir, "req", "-in", csr, "-verify", "-noout", "-text");
        Assert.Contains("verify OK", text.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("OCSP Signing", text.StdOut, StringComparison.Ordinal);
        Assert.Contains("OCSP No Check", text.StdOut, StringComparison.Ordinal);
        Assert.Contains("Digital Signature", text.StdOut, StringComparison.Ordinal);
        Assert.Contains("CN = Example OCSP Responder", text.StdOut, StringComparison.Ordinal);
        // The request's key is the responder key.
        var fromCsr = OpenSsl.Run(dir, "req", "-in", csr, "-noout", "-pubkey").StdOut;
        var fromKey = OpenSsl.Run(dir, "pkey", "-in", pki.EcCa.ResponderKeyPkcs8Path, "-pubout").StdOut;
        Assert.Equal(fromKey.Trim(), fromCsr.Trim());

        var neither = Run(dir, "csr", "--subject", "CN=x", "--out", csr);
        Assert.Equal(2, neither.Exit);
    }

    [Fact]
    public void A_missing_config_file_is_a_clear_error()
    {
        var result = Run(Path.GetTempPath(), "refresh", "--config", "/nonexistent/ocsp.json");
        Assert.Equal(2, result.Exit);
        Assert.Contains("does not exist", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configuration_error_quoting_a_control_character_prints_it_escaped_and_exits_2()
    {
        string dir = pki.NewWorkDir("cli-escape");
        string config = Path.Combine(dir, "ocsp.json");
        // An unknown key carrying ESC [2J (clear screen, JSON-escaped in the file): the message names the key, the terminal never gets the raw byte.
        File.WriteAllText(config, "{ \"Ocsp\": { \"Store\": { \"Path\": \"store\" }, \"Bogus\\u001b[2J\": 1 } }");
        var (exit, _, err) = Run(dir, "status", "--config", config);
        Assert.Equal(2, exit);
        Assert.DoesNotContain('\u001b', err);
        Assert.Contains("Bogus\\x1B[2J", err, StringComparison.Ordinal);
    }
}
