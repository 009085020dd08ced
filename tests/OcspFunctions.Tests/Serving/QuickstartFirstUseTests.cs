using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;
using OcspResponder.Cli;

namespace OcspFunctions.Tests.Serving;

/// <summary>quickstart on first use (issue 10 item 6): private keys, git, commands that work from anywhere, a taken port.</summary>
[Collection("pki")]
public sealed class QuickstartFirstUseTests(TestPki pki)
{
    [Fact]
    public void Keys_are_owner_only_the_directory_ignores_itself_and_printed_commands_work_from_another_directory()
    {
        string cwd = pki.NewWorkDir("quickstart-first-use");
        string port = Clients.ExternalTool.FreePort().ToString(CultureInfo.InvariantCulture);
        var run = CliTests.Run(cwd, "quickstart", "--dir", "demo dir", "--port", port, "--no-serve");
        Assert.True(run.Exit == 0, run.Out + run.Err);
        string dir = Path.Combine(cwd, "demo dir");

        if (!OperatingSystem.IsWindows())
        {
            foreach (var key in new[] { "ca.key", "responder.key" })
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, key)));
        }
        Assert.Contains("*", File.ReadAllLines(Path.Combine(dir, ".gitignore")));
        // Run again over the same directory: the keys are new files, still owner-only.
        Assert.Equal(0, CliTests.Run(cwd, "quickstart", "--dir", "demo dir", "--port", port, "--no-serve").Exit);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "ca.key")));

        // git agrees that nothing in the directory would be committed.
        var git = Process.Start(new ProcessStartInfo("git", ["-C", dir, "init", "-q"]) { RedirectStandardOutput = true, RedirectStandardError = true });
        if (git is not null)
        {
            git.WaitForExit();
            var status = Process.Start(new ProcessStartInfo("git", ["-C", dir, "status", "--porcelain", "--untracked-files=all"]) { RedirectStandardOutput = true })!;
            string untracked = status.StandardOutput.ReadToEnd();
            status.WaitForExit();
            Assert.Equal("", untracked.Trim());
        }

        // Every file argument printed is absolute; the exit codes are explained.
        var printed = run.Out.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains(printed, l => l.StartsWith("# query exits 0 only for a verified, current good", StringComparison.Ordinal));
        Assert.Contains(printed, l => l.Contains("exits 1", StringComparison.Ordinal) && l.Contains("unauthorized", StringComparison.Ordinal));
        string quotedCa = QuickstartCommand.Quote(Path.Combine(dir, "ca.pem"));
        Assert.StartsWith("'/", quotedCa, StringComparison.Ordinal); // the space forces quoting
        Assert.All(printed.Where(l => l.StartsWith("openssl ocsp", StringComparison.Ordinal)), l => Assert.Contains("-issuer " + quotedCa, l, StringComparison.Ordinal));
        Assert.DoesNotContain(printed, l => l.Contains("--project src/OcspResponder", StringComparison.Ordinal));

        // The printed status command, pasted into a shell elsewhere, runs this program over the demo.
        string statusLine = printed.Single(l => l.Contains(" status --config ", StringComparison.Ordinal));
        var shell = new ProcessStartInfo("bash", ["-c", statusLine]) { WorkingDirectory = pki.NewWorkDir("quickstart-elsewhere"), RedirectStandardOutput = true, RedirectStandardError = true };
        using var pasted = Process.Start(shell)!;
        string output = pasted.StandardOutput.ReadToEnd() + pasted.StandardError.ReadToEnd();
        pasted.WaitForExit();
        Assert.True(pasted.ExitCode == 0, statusLine + "\n" + output);
        Assert.Contains("demo-ca", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_taken_port_is_reported_before_anything_says_serving()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        string port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        string cwd = pki.NewWorkDir("quickstart-port");
        var run = CliTests.Run(cwd, "quickstart", "--dir", "demo", "--port", port);
        Assert.Equal(2, run.Exit);
        Assert.Contains($"port {port} on 127.0.0.1 is already in use", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Serving", run.Out, StringComparison.Ordinal);
    }
}
