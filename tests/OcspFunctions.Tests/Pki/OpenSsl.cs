using System.Diagnostics;

namespace OcspFunctions.Tests.Pki;

/// <summary>The result of one <c>openssl</c> run.</summary>
public sealed record OpenSslResult(IReadOnlyList<string> Arguments, int ExitCode, string StdOut, string StdErr)
{
    /// <summary>stdout then stderr: <c>openssl ocsp</c> prints the summary to stdout and "Response verify OK" to stderr.</summary>
    public string Output => StdOut + StdErr;

    public override string ToString() =>
        $"openssl {string.Join(' ', Arguments)} → exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>Runs the <c>openssl</c> binary: the independent oracle of these tests.</summary>
public static class OpenSsl
{
    /// <summary>The binary; <c>$OPENSSL</c> overrides it.</summary>
    public static string Executable { get; } = Environment.GetEnvironmentVariable("OPENSSL") is { Length: > 0 } e ? e : "openssl";

    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs openssl in <paramref name="workingDirectory"/>; throws with stderr on a non-zero exit unless <paramref name="check"/>
    /// is false. Fully synchronous (the pipes are drained by two dedicated threads), so parallel callers never starve the thread pool.
    /// </summary>
    public static OpenSslResult Run(string workingDirectory, IEnumerable<string> arguments, bool check = true)
    {
        var args = arguments.ToList();
        using var process = Process.Start(StartInfo(workingDirectory, args)) ?? throw new InvalidOperationException("cannot start openssl");
        process.StandardInput.Close(); // nothing prompts: every command runs with -batch / -subj / explicit files
        string stdout = "", stderr = "";
        var outReader = new Thread(() => stdout = process.StandardOutput.ReadToEnd()) { IsBackground = true };
        var errReader = new Thread(() => stderr = process.StandardError.ReadToEnd()) { IsBackground = true };
        outReader.Start();
        errReader.Start();
        if (!process.WaitForExit(DefaultTimeout))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"openssl {string.Join(' ', args)} did not finish in {DefaultTimeout}");
        }
        outReader.Join();
        errReader.Join();
        return Finish(workingDirectory, new OpenSslResult(args, process.ExitCode, stdout, stderr), check);
    }

    public static OpenSslResult Run(string workingDirectory, params string[] arguments) => Run(workingDirectory, arguments, check: true);

    public static async Task<OpenSslResult> RunAsync(string workingDirectory, IEnumerable<string> arguments, bool check = true,
        CancellationToken cancellationToken = default)
    {
        var args = arguments.ToList();
        using var process = Process.Start(StartInfo(workingDirectory, args)) ?? throw new InvalidOperationException("cannot start openssl");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"openssl {string.Join(' ', args)} did not finish in {DefaultTimeout}");
        }
        var result = new OpenSslResult(args, process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        return Finish(workingDirectory, result, check);
    }

    private static ProcessStartInfo StartInfo(string workingDirectory, List<string> args) =>
        Clients.ExternalTool.StartInfo(Executable, workingDirectory, args);

    private static OpenSslResult Finish(string workingDirectory, OpenSslResult result, bool check) =>
        check && result.ExitCode != 0 ? throw new InvalidOperationException($"openssl failed in {workingDirectory}: {result}") : result;
}
