using System.Diagnostics;
using System.Text.Json;
using OcspFunctions.Tests.Clients;

namespace OcspFunctions.Tests.Infra;

/// <summary>Paths of the infrastructure stacks and of the locally installed HCL parser.</summary>
public static class InfraPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string TerraformDir => Path.Combine(RepoRoot, "infra", "terraform");

    public static string BicepFile => Path.Combine(RepoRoot, "infra", "bicep", "main.bicep");

    public static string BicepParamFile => Path.Combine(RepoRoot, "infra", "bicep", "main.bicepparam");

    /// <summary>tests/.tools: where tests/run-tests.sh installs @cdktf/hcl2json (gitignored).</summary>
    public static string ToolsDir => Path.Combine(RepoRoot, "tests", ".tools");

    public static string Converter => Path.Combine(RepoRoot, "tests", "infra", "hcl2json.mjs");

    private static string FindRepoRoot()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "OcspFunctions.sln")))
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found");
        return dir;
    }
}

/// <summary>
/// The Terraform configuration of a directory as HashiCorp's HCL parser sees it: every <c>*.tf</c> file converted to
/// JSON by <c>@cdktf/hcl2json</c> (tests/infra/hcl2json.mjs, run with node). Expressions stay strings ("${…}"), blocks
/// are arrays of objects, literals keep their JSON type.
/// </summary>
public sealed class TerraformConfig
{
    private TerraformConfig(JsonDocument document)
    {
        Document = document;
        foreach (var file in document.RootElement.EnumerateObject())
        {
            if (file.Value.TryGetProperty("resource", out var resources))
                foreach (var type in resources.EnumerateObject())
                    foreach (var name in type.Value.EnumerateObject())
                        Resources.Add(new TerraformResource(type.Name, name.Name, First(name.Value), file.Name));
            if (file.Value.TryGetProperty("variable", out var variables))
                foreach (var v in variables.EnumerateObject())
                    Variables[v.Name] = First(v.Value);
            if (file.Value.TryGetProperty("output", out var outputs))
                foreach (var o in outputs.EnumerateObject())
                    Outputs[o.Name] = First(o.Value);
            if (file.Value.TryGetProperty("locals", out var locals))
                foreach (var block in locals.EnumerateArray())
                    foreach (var l in block.EnumerateObject())
                        Locals[l.Name] = l.Value;
        }
    }

    public JsonDocument Document { get; }

    public List<TerraformResource> Resources { get; } = [];

    public Dictionary<string, JsonElement> Variables { get; } = [];

    public Dictionary<string, JsonElement> Outputs { get; } = [];

    public Dictionary<string, JsonElement> Locals { get; } = [];

    public string RawText => Document.RootElement.GetRawText();

    public IEnumerable<TerraformResource> OfType(string type) => Resources.Where(r => r.Type == type);

    public TerraformResource? Find(string type, string name) => Resources.FirstOrDefault(r => r.Type == type && r.Name == name);

    private static JsonElement First(JsonElement e) => e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0 ? e[0] : e;

    private static readonly Dictionary<string, TerraformConfig> Cache = [];

    /// <summary>The repository's infra/terraform, converted once per test run.</summary>
    public static TerraformConfig Repository
    {
        get
        {
            lock (Cache)
            {
                if (!Cache.TryGetValue(InfraPaths.TerraformDir, out var config))
                    Cache[InfraPaths.TerraformDir] = config = Load(InfraPaths.TerraformDir);
                return config;
            }
        }
    }

    /// <summary>Converts a directory of .tf files; a parse error fails the test with the parser's message.</summary>
    public static TerraformConfig Load(string directory) => LoadMany([directory])[directory];

    /// <summary>Converts several directories with one node start (the parser is WebAssembly; starting it costs ~1 s).</summary>
    public static Dictionary<string, TerraformConfig> LoadMany(IReadOnlyList<string> directories)
    {
        string node = ExternalTool.Require("node", "nodejs");
        if (!File.Exists(Path.Combine(InfraPaths.ToolsDir, "node_modules", "@cdktf", "hcl2json", "package.json")))
            Assert.Fail($"@cdktf/hcl2json is not installed in {InfraPaths.ToolsDir}: run tests/run-tests.sh (or tests/infra/check-infra.sh), "
                        + "which runs: npm install --prefix tests/.tools @cdktf/hcl2json");
        var psi = new ProcessStartInfo(node) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(InfraPaths.Converter);
        foreach (var d in directories) psi.ArgumentList.Add(d);
        psi.Environment["HCL2JSON_TOOLS_DIR"] = InfraPaths.ToolsDir;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start node");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(300_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("hcl2json did not finish in 300 s");
        }
        if (process.ExitCode != 0)
            Assert.Fail($"hcl2json failed (exit {process.ExitCode}):\n{stderr.Result}");
        var document = JsonDocument.Parse(stdout.Result);
        if (directories.Count == 1) return new() { [directories[0]] = new TerraformConfig(document) };
        return directories.ToDictionary(d => d, d => new TerraformConfig(JsonDocument.Parse(document.RootElement.GetProperty(d).GetRawText())));
    }
}

/// <summary>One resource block: its type, name, body (the first object) and the file it is in.</summary>
public sealed record TerraformResource(string Type, string Name, JsonElement Body, string File)
{
    public string Address => $"{Type}.{Name}";

    /// <summary>Unconditional: no count / for_each (a conditional assignment does not satisfy an invariant).</summary>
    public bool Unconditional => !Body.TryGetProperty("count", out _) && !Body.TryGetProperty("for_each", out _);

    public string? Str(string property) => Tf.Str(Body, property);

    public JsonElement? Block(string property) => Tf.Block(Body, property);
}

/// <summary>Small helpers over hcl2json output.</summary>
public static class Tf
{
    public static JsonElement? Prop(JsonElement? e, string property) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(property, out var v) ? v : null;

    public static string? Str(JsonElement? e, string property) =>
        Prop(e, property) is { } v ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => v.GetRawText(),
        } : null;

    /// <summary>A nested block (hcl2json: an array of objects) or a plain object attribute.</summary>
    public static JsonElement? Block(JsonElement? e, string property) =>
        Prop(e, property) is { } v ? v.ValueKind == JsonValueKind.Array ? v.GetArrayLength() > 0 ? v[0] : null : v : null;

    public static IReadOnlyList<string> Strings(JsonElement? e, string property) =>
        Prop(e, property) is { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToList()
            : [];

    /// <summary>Whether a value is the literal <paramref name="expected"/> (true/false), not an expression.</summary>
    public static bool IsLiteral(JsonElement? e, string property, bool expected) =>
        Prop(e, property) is { } v && v.ValueKind == (expected ? JsonValueKind.True : JsonValueKind.False);
}
