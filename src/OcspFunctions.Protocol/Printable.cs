using System.Globalization;
using System.Text;

namespace OcspFunctions.Protocol;

/// <summary>
/// Text read from inputs (serial lists, CRLs, certificates, configuration) made safe for a terminal or a log: control
/// characters (C0, DEL, C1 — ESC could rewrite the screen), format characters (bidi overrides), line and paragraph
/// separators and lone surrogates are written as <c>\xHH</c> (below U+0100) or <c>\uHHHH</c>. A backslash is left as it
/// is, so escaping twice changes nothing and Windows paths stay readable.
/// </summary>
public static class Printable
{
    public static string Escape(string? text) => Escape(text, keepLineBreaks: false);

    /// <summary>For multi-line output: '\n' (and a "\r\n" pair) and tabs are kept, everything else as <see cref="Escape(string?)"/>.</summary>
    public static string EscapeLines(string? text) => Escape(text, keepLineBreaks: true);

    private static string Escape(string? text, bool keepLineBreaks)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        int first = -1;
        for (int i = 0; i < text.Length; i++)
        {
            if (NeedsEscape(text, i, keepLineBreaks))
            {
                first = i;
                break;
            }
        }
        if (first < 0) return text;
        var sb = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]); // a well-formed pair (emoji, CJK extension B …)
                continue;
            }
            if (!NeedsEscape(text, i, keepLineBreaks)) sb.Append(c);
            else if (c < 0x100) sb.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            else sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static bool NeedsEscape(string text, int i, bool keepLineBreaks)
    {
        char c = text[i];
        if (c is >= ' ' and < '\x7F') return false;
        if (keepLineBreaks && (c is '\n' or '\t' || (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n'))) return false;
        if (char.IsHighSurrogate(c)) return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        if (char.IsLowSurrogate(c)) return i == 0 || !char.IsHighSurrogate(text[i - 1]);
        return CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
    }
}
