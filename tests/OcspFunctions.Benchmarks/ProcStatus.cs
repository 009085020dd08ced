using System.Globalization;

namespace OcspFunctions.Benchmarks;

/// <summary>This process's memory figures from <c>/proc/self/status</c> (Linux): VmRSS, VmHWM (peak RSS), …</summary>
internal static class ProcStatus
{
    /// <summary>The field in bytes (the file gives kB), or -1 when the file or the field is missing.</summary>
    public static long Bytes(string field)
    {
        const string Path = "/proc/self/status";
        if (!File.Exists(Path)) return -1;
        foreach (var line in File.ReadLines(Path))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        return -1;
    }
}
