using System.Globalization;
using System.Text;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// Writes an issued-serials list in the Text format the parser reads: one upper-case hex serial a line, sorted, with its
/// expiry (<c>, 2027-01-31T12:00:00Z</c>) when known. Same serials and expiries, same bytes — so an unchanged list is
/// recognised by its hash.
/// </summary>
public static class IssuedSerialsText
{
    public static byte[] Write(IssuedSerials issued)
    {
        var text = new StringBuilder(issued.Serials.Count * 40);
        text.Append("# issued serials (OcspFunctions publish): SERIAL[, NotAfter]\n");
        foreach (var (serial, expiry) in issued.Serials.OrderBy(s => s.Key))
        {
            text.Append(serial.ToString());
            if (expiry is { } e) text.Append(", ").Append(e.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            text.Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
