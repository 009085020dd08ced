using System.Buffers;
using System.Globalization;
using System.Text;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// Writes an issued-serials list in the Text format the parser reads: one upper-case hex serial a line, with its expiry
/// (<c>, 2027-01-31T12:00:00Z</c>) when known, in the source's order — issuance order for certutil (by RequestID) and
/// index.txt (appended), which the refresh reads as newest last (<see cref="WorkPlan"/> signs new serials newest first).
/// The same source gives the same bytes, so an unchanged list is recognised by its hash.
/// </summary>
public static class IssuedSerialsText
{
    public static byte[] Write(IssuedSerials issued)
    {
        var serials = issued.Serials;
        var output = new ArrayBufferWriter<byte>((int)Math.Min(Array.MaxLength, 64L + serials.ArenaLength * 2 + serials.Count * 23L));
        output.Write("# issued serials (OcspFunctions publish): SERIAL[, NotAfter]\n"u8);
        Span<char> line = stackalloc char[64];
        for (int entry = 0; entry < serials.Count; entry++)
        {
            var bytes = serials.BytesAt(entry);
            Span<char> hex = bytes.Length * 2 + 24 <= line.Length ? line : new char[bytes.Length * 2 + 24];
            Convert.TryToHexString(bytes, hex, out int n);
            if (serials.ExpiryAt(entry) is { } e)
            {
                ", ".CopyTo(hex[n..]);
                e.UtcDateTime.TryFormat(hex[(n + 2)..], out int written, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                n += 2 + written;
            }
            hex[n++] = '\n';
            Encoding.UTF8.GetBytes(hex[..n], output);
        }
        return output.WrittenSpan.ToArray();
    }
}
