using System.Buffers;
using System.Text;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// The Text format read straight from UTF-8 bytes: a 10,000,000-line list is 540 MB of UTF-8 and would be 1.08 GB more as
/// a string. Each line is widened to UTF-16 on its own (decoded, when not ASCII) and parsed as the string path parses it,
/// so both read a list alike. UTF-16 and UTF-32 lists (a byte-order mark, or BOM-less UTF-16) take the string path.
/// </summary>
public static partial class IssuedSerialsParser
{
    /// <summary>Where UTF-8 text starts (after a UTF-8 BOM), or null when <see cref="SourceSupport.Decode"/> would not read UTF-8.</summary>
    private static int? Utf8Start(byte[] content)
    {
        if (content.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) return 3;
        if (content.Length >= 2 && (content[0] is 0xFE or 0xFF || (content[0] == 0 && content[1] == 0) || (content[0] != 0 && content[1] == 0)))
            return null;
        return 0;
    }

    /// <summary><see cref="Detect(string)"/> over UTF-8 bytes.</summary>
    private static IssuedSerialsFormat Detect(ReadOnlySpan<byte> text)
    {
        foreach (var bytes in Utf8Lines(text))
        {
            var line = Encoding.UTF8.GetString(bytes);
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (line.Length > 1 && line[0] is 'V' or 'R' or 'E' && line[1] == '\t') return IssuedSerialsFormat.OpenSslIndex;
            break;
        }
        return text.IndexOf("Serial Number: \""u8) >= 0 ? IssuedSerialsFormat.Certutil : IssuedSerialsFormat.Text;
    }

    /// <summary><see cref="ParseText(string, string)"/> over UTF-8 bytes: same serials, same errors.</summary>
    private static IssuedSerials ParseTextUtf8(ReadOnlySpan<byte> text, string sourceName)
    {
        var result = WithCapacity(text.Count((byte)'\n') + 1);
        Span<char> buffer = stackalloc char[256];
        int lineNumber = 0;
        foreach (var bytes in Utf8Lines(text))
        {
            lineNumber++;
            ReadOnlySpan<char> line = bytes.Length <= buffer.Length && Ascii.ToUtf16(bytes, buffer, out int written) == OperationStatus.Done
                ? buffer[..written]
                : Encoding.UTF8.GetString(bytes);
            if (ParseTextLine(line, result.Serials) is { } error) throw SourceSupport.LineError(sourceName, lineNumber, error);
        }
        return RequireSerials(result, sourceName);
    }
}
