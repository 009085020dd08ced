using System.Diagnostics;
using System.Globalization;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol.Crl;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>issued-memory --serials N [--dir D]</c>: what the refresh's inputs cost before any signing — the issued-serials list
/// of the refresh fixture (<see cref="RefreshFixture"/>, generated when missing) read and parsed as the refresh does, then
/// the fixture's CRL decoded and every status decided — measured in a fresh child process so generation does not skew it.
/// Prints wall times, managed bytes per serial after a full GC (the list alone; list + revocations + decided statuses)
/// and the process's VmHWM (peak RSS).
/// </summary>
public static class IssuedMemory
{
    public static int Run(string[] args)
    {
        int serials = 1_000_000;
        string dir = Path.Combine(Path.GetTempPath(), "ocspfunctions-bench");
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--serials") serials = int.Parse(args[i + 1].Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
            else if (args[i] == "--dir") dir = args[i + 1];
            else if (args[i] == "--measure") return Measure(args[i + 1], serials);
            else throw new ArgumentException($"unexpected argument '{args[i]}'");
        }
        var files = RefreshFixture.Ensure(dir, serials, "p256", Console.Out);
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(typeof(IssuedMemory).Assembly.Location);
        foreach (var a in new[] { "issued-memory", "--serials", serials.ToString(CultureInfo.InvariantCulture), "--measure", files.Directory })
            psi.ArgumentList.Add(a);
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the measuring process");
        child.WaitForExit();
        return child.ExitCode;
    }

    private static int Measure(string directory, int serials)
    {
        var files = RefreshFixture.Paths(Path.GetDirectoryName(directory)!, serials, "p256");
        long baseline = FullGc();
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var issued = ReadAndParse(files.IssuedPath);
        var parsed = sw.Elapsed;
        self.Refresh();
        var cpu1 = self.TotalProcessorTime;
        long afterParse = FullGc();

        self.Refresh();
        var cpu2 = self.TotalProcessorTime;
        sw.Restart();
        var decision = new StatusDecision();
        decision.AddFullCrl(CertificateRevocationList.Decode(File.ReadAllBytes(files.CrlPath)));
        var statuses = decision.Decide(issued, DateTimeOffset.UtcNow, TimeSpan.FromDays(7));
        int count = statuses.Count;
        var decided = sw.Elapsed;
        self.Refresh();
        var cpu3 = self.TotalProcessorTime;
        long afterDecide = FullGc();
        GC.KeepAlive(issued);
        GC.KeepAlive(decision);
        GC.KeepAlive(statuses);

        long hwm = ProcStatus.Bytes("VmHWM");
        int n = issued.Serials.Count;
        Console.WriteLine($"issued-memory: {n:N0} issued serials ({new FileInfo(files.IssuedPath).Length:N0} bytes), {decision.RevokedCount:N0} revoked, {count:N0} decided statuses");
        Console.WriteLine($"  read + parse               {parsed.TotalMilliseconds,10:N0} ms wall, {(cpu1 - cpu0).TotalMilliseconds:N0} ms CPU");
        Console.WriteLine($"  CRL decode + decide        {decided.TotalMilliseconds,10:N0} ms wall, {(cpu3 - cpu2).TotalMilliseconds:N0} ms CPU");
        Console.WriteLine($"  issued list (after GC)     {(afterParse - baseline) / (double)n,10:N1} bytes/serial  ({(afterParse - baseline) / 1048576.0:N0} MB)");
        Console.WriteLine($"  + revocations + statuses   {(afterDecide - baseline) / (double)n,10:N1} bytes/serial  ({(afterDecide - baseline) / 1048576.0:N0} MB)");
        Console.WriteLine($"  VmHWM (peak RSS)           {hwm / 1048576.0,10:N0} MB");
        return n == serials && count == serials ? 0 : 1;
    }

    /// <summary>
    /// As the refresh: the whole file in one byte[], handed to the parser and referenced by nothing after. A method of its own:
    /// unoptimized (tier-0) code keeps a temporary alive to the end of the method that made it.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static IssuedSerials ReadAndParse(string path) => IssuedSerialsParser.Parse(File.ReadAllBytes(path), IssuedSerialsFormat.Text, path);

    private static long FullGc()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
