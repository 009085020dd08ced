using System.Security.Cryptography;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>
/// How the index is split: a serial belongs to shard <c>hash(serial) mod n</c>, n a power of two chosen from the number
/// of serials (about <see cref="TargetEntries"/> or fewer a shard) and recorded in the manifest. A shard is small enough
/// that a server loads one per first request into it, and a refresh rewrites only the shards holding a changed serial.
/// </summary>
public static class IndexShards
{
    /// <summary>At most this many entries a shard when the count is chosen (~0.5 MB of text, a few ms to parse).</summary>
    public const int TargetEntries = 8192;

    /// <summary>The shard count for <paramref name="entries"/> serials: never below <paramref name="current"/> (a count only grows, so serials do not move back and forth).</summary>
    public static int CountFor(int entries, int current)
    {
        int needed = (int)Math.Min(1 << 20, Math.Max(1, ((long)entries + TargetEntries - 1) / TargetEntries));
        int count = 1;
        while (count < needed) count <<= 1;
        return Math.Max(count, current);
    }

    /// <summary>
    /// The serial's shard among <paramref name="count"/> (a power of two): 64-bit FNV-1a finished with MurmurHash3's fmix64,
    /// independent of the 32-bit FNV-1a that spreads refresh times, so a shard's serials do not all come due together.
    /// </summary>
    public static int ShardOf(SerialNumber serial, int count) => ShardOf(serial.Bytes, count);

    /// <summary>The shard of the serial with these canonical bytes.</summary>
    public static int ShardOf(ReadOnlySpan<byte> serial, int count)
    {
        ulong hash = 14695981039346656037;
        foreach (byte b in serial) hash = (hash ^ b) * 1099511628211;
        return (int)(Mix(hash) & (ulong)(count - 1));
    }

    /// <summary>A shard's version: the start of the SHA-256 of its stored bytes.</summary>
    public static string Version(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content))[..16];

    internal static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccd;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53;
        h ^= h >> 33;
        return h;
    }
}
