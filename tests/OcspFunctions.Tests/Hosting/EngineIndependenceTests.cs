using System.Text.RegularExpressions;
using System.Xml.Linq;
using OcspFunctions.Engine;
using OcspFunctions.Tests.Functions;

namespace OcspFunctions.Tests.Hosting;

/// <summary>
/// Layering (README, Layout): the engine knows nothing of Azure or HTTP. Checked three ways — its project file, the
/// assemblies it was compiled against, and its source for the types and settings that belong to the adapters and the host.
/// </summary>
public sealed partial class EngineIndependenceTests
{
    private static readonly string EngineDirectory = Path.Combine(PublishedApp.RepositoryRoot, "src", "OcspFunctions.Engine");

    private static bool Forbidden(string name) =>
        name.StartsWith("Azure", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Microsoft.AspNetCore", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("System.Net.Http", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Microsoft.Azure", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void The_engine_project_references_only_the_protocol_and_no_azure_or_http_package()
    {
        var project = XDocument.Load(Path.Combine(EngineDirectory, "OcspFunctions.Engine.csproj"));
        var packages = project.Descendants("PackageReference").Select(p => (string)p.Attribute("Include")!).ToList();
        Assert.NotEmpty(packages);
        Assert.DoesNotContain(packages, Forbidden);
        Assert.Empty(project.Descendants("FrameworkReference"));
        var projects = project.Descendants("ProjectReference").Select(p => ((string)p.Attribute("Include")!).Split('\\', '/')[^1]).ToList();
        Assert.Equal(["OcspFunctions.Protocol.csproj"], projects);
    }

    [Fact]
    public void The_compiled_engine_references_no_azure_aspnetcore_or_http_assembly()
    {
        var referenced = typeof(RefreshEngine).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("OcspFunctions.Protocol", referenced);
        Assert.DoesNotContain(referenced, Forbidden);
    }

    [GeneratedRegex(@"\b(HttpClient|HttpRequest\w*|HttpResponse\w*|HttpContext|Azure\.\w+|BlobServiceUri|BlobConnectionString|BlobContainer|ManagedIdentityClientId|KeyVaultKeyId|PathPrefix|MaxAgeCap|MaxRequestBytes|MinimumTimerInterval)\b")]
    private static partial Regex AdapterOrHostName();

    [Fact]
    public void The_engine_source_names_no_blob_key_vault_or_http_type_or_setting()
    {
        var hits = Directory.EnumerateFiles(EngineDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => AdapterOrHostName().IsMatch(x.line))
            .Select(x => $"{Path.GetFileName(x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(hits.Count == 0, string.Join("\n", hits));
    }
}
