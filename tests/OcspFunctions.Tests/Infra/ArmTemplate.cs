using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OcspFunctions.Tests.Infra;

/// <summary>
/// An ARM template as the Bicep compiler writes it (<c>bicep build --stdout</c>), with its modules flattened: every
/// resource of every nested deployment, and <see cref="Expand"/> to follow a value through module parameters,
/// variables and module outputs back to an expression over the main template's parameters. That is how the
/// invariants tell, for instance, that a role assignment's principal is the identity the function app runs as.
/// </summary>
public sealed partial class ArmTemplate
{
    private const string DeploymentType = "Microsoft.Resources/deployments";

    private ArmTemplate(JsonDocument document, string diagnostics)
    {
        Document = document;
        Diagnostics = diagnostics;
        Root = new ArmScope(document.RootElement, null, null, "main");
        Collect(Root);
    }

    public JsonDocument Document { get; }

    /// <summary>What the compiler printed on stderr (warnings and errors); empty when clean.</summary>
    public string Diagnostics { get; }

    public ArmScope Root { get; }

    /// <summary>Every module deployment (Microsoft.Resources/deployments with an inline template).</summary>
    public List<ArmScope> Modules { get; } = [];

    /// <summary>Every resource except module deployments, from every template.</summary>
    public List<ArmResource> Resources { get; } = [];

    public string RawText => Document.RootElement.GetRawText();

    public static ArmTemplate Parse(string json, string diagnostics = "") => new(JsonDocument.Parse(json), diagnostics);

    public IEnumerable<ArmResource> OfType(string type) => Resources.Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));

    /// <summary>A parameter of the main template (its declaration: type, defaultValue, allowedValues…).</summary>
    public JsonElement? Parameter(string name) => Arm.Prop(Root.Template, "parameters") is { } ps && ps.TryGetProperty(name, out var p) ? p : null;

    /// <summary>Every output of every template, with the scope it is evaluated in.</summary>
    public IEnumerable<(string Name, JsonElement Output, ArmScope Scope)> AllOutputs() =>
        new[] { Root }.Concat(Modules).SelectMany(s => Arm.Prop(s.Template, "outputs") is { ValueKind: JsonValueKind.Object } os
            ? os.EnumerateObject().Select(o => (o.Name, o.Value, s))
            : []);

    private void Collect(ArmScope scope)
    {
        if (Arm.Prop(scope.Template, "resources") is not { ValueKind: JsonValueKind.Array } resources) return;
        foreach (var r in resources.EnumerateArray())
        {
            string type = Arm.Str(r, "type") ?? "";
            if (type == DeploymentType && Arm.Prop(Arm.Prop(r, "properties"), "template") is { } template)
            {
                var module = new ArmScope(template, r, scope, $"{scope.Path}/{Arm.Str(r, "name")}");
                Modules.Add(module);
                Collect(module);
            }
            else Resources.Add(new ArmResource(type, Arm.Str(r, "apiVersion") ?? "", r, scope, this));
        }
    }

    /// <summary>
    /// A value as an ARM expression over the main template's parameters: module parameters are replaced by what the
    /// parent passes, variables by their values, module outputs by the module's output value — recursively. A plain
    /// string becomes a quoted literal ('text'), other JSON its raw text.
    /// </summary>
    public string Expand(JsonElement value, ArmScope scope, int depth = 0)
    {
        if (depth > 32) throw new InvalidOperationException("expansion too deep");
        if (value.ValueKind != JsonValueKind.String) return value.GetRawText();
        return Expand(value.GetString()!, scope, depth);
    }

    /// <summary>A string of the template (a value or an object key): an ARM expression "[…]" expanded, or a quoted literal.</summary>
    public string Expand(string s, ArmScope scope, int depth = 0)
    {
        if (s.Length >= 2 && s[0] == '[' && s[^1] == ']' && !s.StartsWith("[[", StringComparison.Ordinal))
            return ExpandExpression(s[1..^1], scope, depth);
        return Quote(s);
    }

    private string ExpandExpression(string expression, ArmScope scope, int depth) =>
        Reference().Replace(expression, m =>
        {
            if (m.Groups["dep"].Success)
            {
                var module = Modules.FirstOrDefault(d => ReferenceEquals(d.Parent, scope) && Arm.Str(d.Deployment, "name") == $"[{m.Groups["dep"].Value}]");
                return module is not null && Arm.Prop(Arm.Prop(module.Template, "outputs"), m.Groups["out"].Value) is { } output
                       && Arm.Prop(output, "value") is { } v
                    ? Expand(v, module, depth + 1)
                    : m.Value;
            }
            if (m.Groups["p"].Success)
            {
                string name = m.Groups["p"].Value;
                if (scope.Parent is null) return m.Value;
                if (Arm.Prop(Arm.Prop(Arm.Prop(scope.Deployment, "properties"), "parameters"), name) is { } passed && Arm.Prop(passed, "value") is { } pv)
                    return Expand(pv, scope.Parent, depth + 1);
                return Arm.Prop(Arm.Prop(Arm.Prop(scope.Template, "parameters"), name), "defaultValue") is { } dv ? Expand(dv, scope, depth + 1) : m.Value;
            }
            return Arm.Prop(Arm.Prop(scope.Template, "variables"), m.Groups["v"].Value) is { } variable ? Expand(variable, scope, depth + 1) : m.Value;
        });

    public static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>The text of a quoted ARM literal ('it''s' → it's), or null when <paramref name="expanded"/> is not one.</summary>
    public static string? Unquote(string? expanded) =>
        expanded is { Length: >= 2 } && expanded[0] == '\'' && expanded[^1] == '\'' && !expanded[1..^1].Replace("''", "", StringComparison.Ordinal).Contains('\'')
            ? expanded[1..^1].Replace("''", "'", StringComparison.Ordinal)
            : null;

    /// <summary>The top-level arguments of the call that starts at <paramref name="expression"/> ("f(a, g(b, c))" → a, g(b, c)).</summary>
    public static List<string> CallArguments(string expression)
    {
        var args = new List<string>();
        int open = expression.IndexOf('(');
        if (open < 0) return args;
        int depth = 0, start = open + 1;
        bool quoted = false;
        for (int i = open + 1; i < expression.Length; i++)
        {
            char c = expression[i];
            if (c == '\'') quoted = !quoted;
            else if (quoted) continue;
            else if (c is '(' or '[') depth++;
            else if (c is ')' or ']')
            {
                if (depth == 0)
                {
                    if (i > start || args.Count > 0) args.Add(expression[start..i].Trim());
                    return args;
                }
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                args.Add(expression[start..i].Trim());
                start = i + 1;
            }
        }
        return args;
    }

    // A module output, a parameter or a variable reference inside an ARM expression.
    [GeneratedRegex(@"reference\(resourceId\('Microsoft\.Resources/deployments', (?<dep>.+?)\), '[\w-]+'\)\.outputs\.(?<out>\w+)\.value|\bparameters\('(?<p>[^']+)'\)|\bvariables\('(?<v>[^']+)'\)")]
    private static partial Regex Reference();
}

/// <summary>One template: the main one, or a module's inline template with the deployment that carries it.</summary>
public sealed class ArmScope(JsonElement template, JsonElement? deployment, ArmScope? parent, string path)
{
    public JsonElement Template { get; } = template;

    public JsonElement? Deployment { get; } = deployment;

    public ArmScope? Parent { get; } = parent;

    public string Path { get; } = path;

    public override string ToString() => Path;
}

/// <summary>One resource of a template (any module), with helpers that expand its values.</summary>
public sealed record ArmResource(string Type, string ApiVersion, JsonElement Body, ArmScope Scope, ArmTemplate Template)
{
    /// <summary>Deployed only under a condition (a conditional assignment does not satisfy an invariant).</summary>
    public bool Conditional => Body.TryGetProperty("condition", out _);

    public string Name => Expand("name") ?? "";

    public JsonElement Properties => Arm.Prop(Body, "properties") ?? default;

    /// <summary>The value at a dotted path of the resource ("properties.httpsRedirect"), or null.</summary>
    public JsonElement? At(string path)
    {
        JsonElement? e = Body;
        foreach (var part in path.Split('.')) e = Arm.Prop(e, part);
        return e;
    }

    /// <summary>The value at <paramref name="path"/>, expanded to the main template (see <see cref="ArmTemplate.Expand"/>).</summary>
    public string? Expand(string path) => At(path) is { } v ? Template.Expand(v, Scope) : null;

    /// <summary>The value at <paramref name="path"/> when it is (or expands to) a literal: string text, number, true/false.</summary>
    public string? Literal(string path) => Expand(path) is { } x ? ArmTemplate.Unquote(x) ?? (Regex.IsMatch(x, @"^(-?\d+|true|false)$") ? x : null) : null;

    /// <summary>The literal strings of an array at <paramref name="path"/>.</summary>
    public List<string> Strings(string path) =>
        At(path) is { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Select(x => ArmTemplate.Unquote(Template.Expand(x, Scope)) ?? Template.Expand(x, Scope)).ToList()
            : [];

    public override string ToString() => $"{Type} {Name} ({Scope})";
}

/// <summary>Small JSON helpers.</summary>
public static class Arm
{
    public static JsonElement? Prop(JsonElement? e, string property) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(property, out var v) ? v : null;

    public static string? Str(JsonElement? e, string property) =>
        Prop(e, property) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static string Describe(IEnumerable<string> items) => new StringBuilder().AppendJoin(", ", items).ToString();
}
