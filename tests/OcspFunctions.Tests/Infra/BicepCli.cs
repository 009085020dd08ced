using System.Diagnostics;
using System.Reflection;

namespace OcspFunctions.Tests.Infra;

/// <summary>
/// The real Bicep compiler (NuGet Azure.Bicep.CommandLine.linux-x64, <c>tools/bicep</c>), downloaded at restore by
/// tests/tools/BicepCli; its path comes from the test assembly's "BicepCli" metadata (BICEP_PATH overrides it).
/// </summary>
public static class BicepCli
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public override string ToString() => $"exit {ExitCode}\n{StdErr}{StdOut}";
    }

    private static readonly Lazy<string> Binary = new(Locate);

    public static string Path => Binary.Value;

    private static string Locate()
    {
        string? path = Environment.GetEnvironmentVariable("BICEP_PATH") is { Length: > 0 } env
            ? env
            : typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "BicepCli")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
            Assert.Fail($"the Bicep compiler is not at '{path}': restore the solution (tests/tools/BicepCli downloads "
                        + "Azure.Bicep.CommandLine.linux-x64 into the NuGet packages folder), or set BICEP_PATH");
        // NuGet extracts the binary without guaranteeing the executable bit for everyone (the package is linux-x64 only).
        if (!OperatingSystem.IsWindows() && File.GetUnixFileMode(path) is var mode && !mode.HasFlag(UnixFileMode.UserExecute))
            File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return path;
    }

    /// <summary>Runs bicep with <paramref name="args"/> in <paramref name="workingDirectory"/>; diagnostics go to stderr.</summary>
    public static Result Run(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // No telemetry, no update checks: the tests run offline.
        psi.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start bicep");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(300_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"bicep {string.Join(' ', args)} did not finish in 300 s");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary><c>bicep build FILE --stdout</c>: the ARM template, or a failed assertion with the diagnostics.</summary>
    public static ArmTemplate Build(string bicepFile)
    {
        var result = Run(System.IO.Path.GetDirectoryName(bicepFile)!, "build", System.IO.Path.GetFileName(bicepFile), "--stdout");
        Assert.True(result.ExitCode == 0, $"bicep build {bicepFile} failed: {result}");
        return ArmTemplate.Parse(result.StdOut, result.StdErr);
    }

    private static readonly Lazy<ArmTemplate> RepositoryTemplate = new(() => Build(InfraPaths.BicepFile));

    /// <summary>infra/bicep/main.bicep compiled once per test run.</summary>
    public static ArmTemplate Repository => RepositoryTemplate.Value;
}
