using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OcspFunctions.Tests.Clients;

/// <summary>The result of one external program run.</summary>
public sealed record ToolResult(string Command, int ExitCode, string StdOut, string StdErr)
{
    public string Output => StdOut + StdErr;

    public override string ToString() => $"{Command} → exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Runs the real OCSP clients (curl, NSS tools, nginx). A missing binary fails the test — never skips it — with a message
/// pointing at tests/run-tests.sh, which installs the Debian packages.
/// </summary>
public static class ExternalTool
{
    private static readonly string[] ExtraDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/bin", "/usr/local/sbin"];

    /// <summary>The full path of <paramref name="name"/>, or a failed test naming the Debian <paramref name="package"/>.</summary>
    public static string Require(string name, string package)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(ExtraDirectories)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
        if (path is null)
            Assert.Fail($"'{name}' is not installed (Debian package {package}); run tests/run-tests.sh, which installs the packages these tests drive.");
        return path;
    }

    public static string Curl => Require("curl", "curl");
    public static string CertUtil => Require("certutil", "libnss3-tools");
    public static string OcspClnt => Require("ocspclnt", "libnss3-tools");
    public static string VfyChain => Require("vfychain", "libnss3-tools");
    public static string Nginx => Require("nginx", "nginx-light");

    /// <summary>Runs to completion (stdin closed at once); kills it after <paramref name="timeout"/> (default 30 s).</summary>
    public static ToolResult Run(string executable, string workingDirectory, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var args = arguments.ToList();
        string command = Path.GetFileName(executable) + " " + string.Join(' ', args);
        using var process = Process.Start(StartInfo(executable, workingDirectory, args)) ?? throw new InvalidOperationException("cannot start " + command);
        process.StandardInput.Close();
        string stdout = "", stderr = "";
        var outReader = new Thread(() => stdout = process.StandardOutput.ReadToEnd()) { IsBackground = true };
        var errReader = new Thread(() => stderr = process.StandardError.ReadToEnd()) { IsBackground = true };
        outReader.Start();
        errReader.Start();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        if (!process.WaitForExit(limit))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"{command} did not finish in {limit}");
        }
        outReader.Join();
        errReader.Join();
        return new ToolResult(command, process.ExitCode, stdout, stderr);
    }

    public static ToolResult Run(string executable, string workingDirectory, params string[] arguments) =>
        Run(executable, workingDirectory, arguments, null);

    /// <summary>Runs and throws with the output on a non-zero exit.</summary>
    public static ToolResult Check(string executable, string workingDirectory, params string[] arguments)
    {
        var result = Run(executable, workingDirectory, arguments, null);
        return result.ExitCode == 0 ? result : throw new InvalidOperationException(result.ToString());
    }

    internal static ProcessStartInfo StartInfo(string executable, string workingDirectory, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>A loopback port that was free a moment ago (bound to port 0, read, released).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Waits until something accepts TCP connections on the loopback port.</summary>
    public static async Task<bool> WaitForPortAsync(int port, TimeSpan timeout, Func<bool>? giveUp = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (giveUp?.Invoke() == true) return false;
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        return false;
    }
}
