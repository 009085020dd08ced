using System.Diagnostics;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>crl-memory</c>: peak memory of parse + verify + enumerate of the 1M-entry CRL, each form (DER, PEM)
/// measured in its own fresh child process so nothing earlier (generation, the other form) skews the peaks.
/// </summary>
public static class CrlMemory
{
    private const double Target = 2.0;

    public static int Run(string[] args)
    {
        if (args.Length == 2 && args[0] == "--measure") return Measure(args[1]);

        var files = CrlFixture.Ensure(Console.Out);
        Console.WriteLine($"CRL files in {CrlFixture.Directory}; {CrlFixture.EntryCount:N0} entries; .NET {Environment.Version}, " +
                          $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC");
        int worst = 0;
        foreach (var path in new[] { files.DerPath, files.PemPath })
        {
            int rc = RunChild(path);
            worst = Math.Max(worst, rc);
        }
        Console.WriteLine(worst == 0 ? "crl-memory: target met (peak extra managed memory <= 2x file size)" : "crl-memory: TARGET MISSED");
        return worst;
    }

    private static int RunChild(string path)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(typeof(CrlMemory).Assembly.Location);
        foreach (var a in new[] { "crl-memory", "--measure", path }) psi.ArgumentList.Add(a);
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the measuring process");
        child.WaitForExit();
        return child.ExitCode;
    }

    private static int Measure(string path)
    {
        var files = CrlFixture.Ensure();
        using var ca = CrlFixture.LoadCa(files);
        long fileSize = new FileInfo(path).Length;
        using var self = Process.GetCurrentProcess();

        // Baseline: everything collected, nothing of the CRL loaded.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        long baseManaged = GC.GetTotalMemory(forceFullCollection: true);
        long baseAllocated = GC.GetTotalAllocatedBytes(precise: true);
        self.Refresh();
        long baseWorkingSet = self.WorkingSet64;

        long peakManaged = baseManaged;
        long peakHeapAtGc = 0;
        bool done = false;
        var sampler = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                long m = GC.GetTotalMemory(forceFullCollection: false);
                if (m > peakManaged) peakManaged = m;
                Thread.Sleep(1);
            }
        }) { IsBackground = true, Priority = ThreadPriority.AboveNormal, Name = "memory sampler" };
        sampler.Start();

        var sw = Stopwatch.StartNew();
        long checksum = CrlWork.ParseVerifyEnumerate(path, ca);
        sw.Stop();

        long endManaged = GC.GetTotalMemory(forceFullCollection: false);
        Volatile.Write(ref done, true);
        sampler.Join();
        peakManaged = Math.Max(peakManaged, endManaged);
        // GCs during the run: the largest heap size any of them saw (before the GC collected it).
        foreach (var kind in new[] { GCKind.Ephemeral, GCKind.FullBlocking, GCKind.Background })
        {
            var info = GC.GetGCMemoryInfo(kind);
            if (info.Index > 0) peakHeapAtGc = Math.Max(peakHeapAtGc, info.GenerationInfo.ToArray().Sum(g => g.SizeBeforeBytes));
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - baseAllocated;
        self.Refresh();
        long peakWorkingSetDelta = self.PeakWorkingSet64 - baseWorkingSet;

        long extra = peakManaged - baseManaged;
        double ratio = (double)extra / fileSize;
        string form = path.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) ? "PEM" : "DER";
        Console.WriteLine();
        Console.WriteLine($"[{form}] {path}");
        Console.WriteLine($"  file size                        {fileSize,15:N0} bytes");
        Console.WriteLine($"  parse+verify+enumerate (cold)    {sw.Elapsed.TotalMilliseconds,15:N0} ms   (checksum {checksum:X})");
        Console.WriteLine($"  peak extra managed memory        {extra,15:N0} bytes   ratio {ratio:F2}x file size");
        Console.WriteLine($"  total allocated during run       {allocated,15:N0} bytes   ratio {(double)allocated / fileSize:F2}x");
        Console.WriteLine($"  largest GC heap before a GC      {peakHeapAtGc,15:N0} bytes   (0 = no GC ran)");
        Console.WriteLine($"  PeakWorkingSet64 - baseline WS   {peakWorkingSetDelta,15:N0} bytes   ratio {(double)peakWorkingSetDelta / fileSize:F2}x");
        Console.WriteLine($"  target <= {Target:F1}x (managed): {(ratio <= Target ? "met" : "MISSED")}");
        return ratio <= Target ? 0 : 1;
    }
}
