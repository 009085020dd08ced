using System.Text;
using System.Text.RegularExpressions;

namespace OcspFunctions.Tests.Infra;

/// <summary>A top-level Bicep declaration: kind (param, var, resource, output), name, the text after the name, decorators.</summary>
public sealed record BicepDeclaration(string Kind, string Name, string Type, string? Condition, string Value, IReadOnlyList<string> Decorators)
{
    public override string ToString() => $"{Kind} {Name}";
}

/// <summary>
/// A tiny structural reader of a Bicep file — nothing here can compile Bicep, so this is what can be checked: comments
/// removed (strings, interpolations and ''' strings respected), top-level <c>param</c>, <c>var</c>, <c>resource</c> and
/// <c>output</c> declarations with their balanced bodies, and property lookups inside a body.
/// </summary>
public sealed class BicepTemplate
{
    private BicepTemplate(string text)
    {
        Text = StripComments(text);
        Parse();
    }

    /// <summary>The template without comments.</summary>
    public string Text { get; }

    public List<BicepDeclaration> Declarations { get; } = [];

    public IEnumerable<BicepDeclaration> Resources => Declarations.Where(d => d.Kind == "resource");

    public IEnumerable<BicepDeclaration> Outputs => Declarations.Where(d => d.Kind == "output");

    public BicepDeclaration? Param(string name) => Declarations.FirstOrDefault(d => d.Kind == "param" && d.Name == name);

    public BicepDeclaration? Var(string name) => Declarations.FirstOrDefault(d => d.Kind == "var" && d.Name == name);

    public BicepDeclaration? Resource(string symbol) => Resources.FirstOrDefault(d => d.Name == symbol);

    /// <summary>Resources whose type (before the @api-version) is <paramref name="type"/>.</summary>
    public IEnumerable<BicepDeclaration> OfType(string type) =>
        Resources.Where(r => r.Type.Split('@')[0].Equals(type, StringComparison.OrdinalIgnoreCase));

    public static BicepTemplate Load(string path) => new(File.ReadAllText(path));

    public static BicepTemplate FromText(string text) => new(text);

    // ----- lexical helpers ----------------------------------------------------------------------------------------

    /// <summary>Index just after the string that starts at <paramref name="i"/> ('…' with \ escapes and ${…}, or '''…''').</summary>
    public static int SkipString(string s, int i)
    {
        if (string.CompareOrdinal(s, i, "'''", 0, 3) == 0)
        {
            int end = s.IndexOf("'''", i + 3, StringComparison.Ordinal);
            return end < 0 ? s.Length : end + 3;
        }
        int j = i + 1;
        while (j < s.Length)
        {
            char c = s[j];
            if (c == '\\') j += 2;
            else if (c == '\'') return j + 1;
            else if (c == '$' && j + 1 < s.Length && s[j + 1] == '{') j = MatchClose(s, j + 1) + 1;
            else j++;
        }
        return s.Length;
    }

    /// <summary>Index of the bracket closing the one at <paramref name="open"/> ({, [ or (), skipping strings.</summary>
    public static int MatchClose(string s, int open)
    {
        int depth = 0;
        for (int j = open; j < s.Length;)
        {
            char c = s[j];
            if (c == '\'')
            {
                j = SkipString(s, j);
                continue;
            }
            if (c is '{' or '[' or '(') depth++;
            else if (c is '}' or ']' or ')')
            {
                depth--;
                if (depth == 0) return j;
            }
            j++;
        }
        return s.Length - 1;
    }

    private static string StripComments(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length;)
        {
            if (s[i] == '\'')
            {
                int end = SkipString(s, i);
                sb.Append(s, i, end - i);
                i = end;
            }
            else if (s[i] == '/' && i + 1 < s.Length && s[i + 1] == '/')
            {
                while (i < s.Length && s[i] != '\n') i++;
            }
            else if (s[i] == '/' && i + 1 < s.Length && s[i + 1] == '*')
            {
                int end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? s.Length : end + 2;
            }
            else sb.Append(s[i++]);
        }
        return sb.ToString();
    }

    /// <summary>An expression starting at <paramref name="i"/>: to the end of the line, continued over open brackets.</summary>
    private static int ExpressionEnd(string s, int i)
    {
        int j = i;
        while (j < s.Length && s[j] != '\n')
        {
            if (s[j] == '\'') j = SkipString(s, j);
            else if (s[j] is '{' or '[' or '(') j = MatchClose(s, j) + 1;
            else j++;
        }
        return j;
    }

    private static readonly Regex Declaration = new(
        @"^(?<kind>param|var|resource|output)\s+(?<name>\w+)\s+(?<type>'[^']*'|\w+(\[\])?)?(\s+existing)?\s*(?==|$)",
        RegexOptions.Multiline);

    private void Parse()
    {
        string s = Text;
        var decorators = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            // Start of a line: skip blank space.
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length) break;
            if (s[i] == '@')
            {
                int end = ExpressionEnd(s, i);
                decorators.Add(s[i..end].Trim());
                i = end;
                continue;
            }
            var m = Declaration.Match(s, i);
            if (!m.Success || m.Index != i)
            {
                int end = ExpressionEnd(s, i);
                decorators.Clear();
                i = end;
                continue;
            }
            string kind = m.Groups["kind"].Value, name = m.Groups["name"].Value, type = m.Groups["type"].Value.Trim('\'');
            int j = m.Index + m.Length;
            string? condition = null;
            string value = "";
            if (j < s.Length && s[j] == '=')
            {
                j++;
                while (j < s.Length && s[j] is ' ' or '\t') j++;
                var conditional = Regex.Match(s[j..], @"^if\s*\(");
                if (kind == "resource" && conditional.Success)
                {
                    int open = j + conditional.Length - 1;
                    int close = MatchClose(s, open);
                    condition = s[(open + 1)..close].Trim();
                    j = close + 1;
                    while (j < s.Length && char.IsWhiteSpace(s[j])) j++;
                }
                int end = ExpressionEnd(s, j);
                value = s[j..end].Trim();
                j = end;
            }
            Declarations.Add(new BicepDeclaration(kind, name, type, condition, value, decorators.ToList()));
            decorators.Clear();
            i = j;
        }
    }

    // ----- property lookups inside a body -------------------------------------------------------------------------

    /// <summary>The value text of the first <c>name:</c> property in <paramref name="body"/> at any depth (a scalar to the end of its line, or a balanced { } / [ ] block).</summary>
    public static string? Property(string body, string name)
    {
        foreach (Match m in Regex.Matches(body, $@"(?<![\w'.]){Regex.Escape(name)}\s*:"))
        {
            if (InsideString(body, m.Index)) continue;
            int j = m.Index + m.Length;
            while (j < body.Length && body[j] is ' ' or '\t') j++;
            int end = ExpressionEnd(body, j);
            return body[j..end].Trim();
        }
        return null;
    }

    /// <summary>Items of an array literal ([ 'a' 'b' ] or [ 'a', 'b' ]), as written.</summary>
    public static IReadOnlyList<string> ArrayItems(string? array)
    {
        if (array is null || !array.StartsWith('[')) return [];
        string inner = array[1..MatchClose(array, 0)];
        var items = new List<string>();
        for (int i = 0; i < inner.Length;)
        {
            char c = inner[i];
            if (char.IsWhiteSpace(c) || c == ',') { i++; continue; }
            int end = c == '\'' ? SkipString(inner, i) : c is '{' or '[' or '(' ? MatchClose(inner, i) + 1 : ScanToken(inner, i);
            items.Add(inner[i..end].Trim());
            i = end;
        }
        return items;
    }

    private static int ScanToken(string s, int i)
    {
        while (i < s.Length && !char.IsWhiteSpace(s[i]) && s[i] != ',')
        {
            if (s[i] == '\'') i = SkipString(s, i);
            else if (s[i] is '{' or '[' or '(') i = MatchClose(s, i) + 1;
            else i++;
        }
        return i;
    }

    private static bool InsideString(string s, int index)
    {
        for (int i = 0; i < index;)
        {
            if (s[i] == '\'')
            {
                int end = SkipString(s, i);
                if (end > index) return true;
                i = end;
            }
            else i++;
        }
        return false;
    }
}
