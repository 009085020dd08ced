namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// Parses a WWW-Authenticate header (RFC 7235 §4.1): one or more challenges, each a scheme followed by
/// comma-separated <c>name=value</c> or <c>name="quoted value"</c> parameters.
/// </summary>
public static class AuthenticationChallenge
{
    /// <summary>The parameters of the first challenge of <paramref name="scheme"/>, or null when there is none.</summary>
    public static IReadOnlyDictionary<string, string>? Parse(string? header, string scheme)
    {
        if (string.IsNullOrEmpty(header)) return null;
        int i = 0;
        while (i < header.Length)
        {
            SkipSeparators(header, ref i);
            string name = ReadToken(header, ref i);
            if (name.Length == 0)
            {
                i++; // not a token: skip the character
                continue;
            }
            var parameters = ReadParameters(header, ref i);
            if (string.Equals(name, scheme, StringComparison.OrdinalIgnoreCase)) return parameters;
        }
        return null;
    }

    private static Dictionary<string, string> ReadParameters(string s, ref int i)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (i < s.Length)
        {
            int start = i;
            SkipSeparators(s, ref i);
            string name = ReadToken(s, ref i);
            SkipSpaces(s, ref i);
            if (name.Length == 0 || i >= s.Length || s[i] != '=')
            {
                // A token without '=' starts the next challenge.
                i = start;
                break;
            }
            i++; // '='
            SkipSpaces(s, ref i);
            string value = i < s.Length && s[i] == '"' ? ReadQuoted(s, ref i) : ReadBare(s, ref i);
            result.TryAdd(name, value);
            SkipSpaces(s, ref i);
            if (i < s.Length && s[i] != ',') break;
        }
        return result;
    }

    /// <summary>An unquoted value: up to the next comma or space (lenient: URLs are not tokens, but some servers send them bare).</summary>
    private static string ReadBare(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && s[i] is not (',' or ' ' or '\t')) i++;
        return s[start..i];
    }

    private static string ReadQuoted(string s, ref int i)
    {
        var sb = new System.Text.StringBuilder();
        i++; // opening quote
        while (i < s.Length && s[i] != '"')
        {
            if (s[i] == '\\' && i + 1 < s.Length) i++;
            sb.Append(s[i++]);
        }
        if (i < s.Length) i++; // closing quote
        return sb.ToString();
    }

    private static string ReadToken(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && IsTokenChar(s[i])) i++;
        return s[start..i];
    }

    private static bool IsTokenChar(char c) =>
        c > ' ' && c < 127 && c is not ('(' or ')' or '<' or '>' or '@' or ',' or ';' or ':' or '\\' or '"' or '/' or '[' or ']' or '?' or '=' or '{' or '}');

    private static void SkipSpaces(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t') i++;
    }

    private static void SkipSeparators(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or ',') i++;
    }
}
