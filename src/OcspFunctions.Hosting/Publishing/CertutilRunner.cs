using System.Diagnostics;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Hosting.Publishing;

/// <summary>
/// Runs <c>certutil [-config CA] -view -gmt -restrict "Disposition>=20,Disposition<=21" -out "SerialNumber,NotAfter" csv</c>:
/// issued (20) and revoked (21) certificates — revoked ones too, so their expiry travels and a sticky revocation can be
/// let go after it — with times in UTC (<c>-gmt</c>). A non-zero exit or a time-out fails the list (never a partial one).
/// </summary>
public static class CertutilRunner
{
    public static IReadOnlyList<string> Arguments(CertutilOptions options)
    {
        var arguments = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Config)) arguments.AddRange(["-config", options.Config]);
        arguments.AddRange(["-view", "-gmt", "-restrict", "Disposition>=20,Disposition<=21", "-out", "SerialNumber,NotAfter", "csv"]);
        return arguments;
    }

    /// <summary>certutil's standard output, as bytes (UTF-16 or UTF-8; the parser detects which).</summary>
    public static async Task<byte[]> RunAsync(CertutilOptions options, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var argument in Arguments(options)) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new SourceException($"certutil ({options.Path}) did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SourceException($"cannot run certutil ({options.Path}): {e.Message}", e);
        }
        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Timeout);
            using var output = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(output, timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await Task.WhenAll(copy, error, process.WaitForExitAsync(timeout.Token)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                throw new SourceException($"certutil ({options.Path}) did not finish within {options.Timeout}");
            }
            if (process.ExitCode != 0)
            {
                var first = (await error.ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
                throw new SourceException($"certutil ({options.Path}) exited with code {process.ExitCode}{(first is null ? "" : ": " + first)}");
            }
            return output.ToArray();
        }
    }
}
