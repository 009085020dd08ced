using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using OcspFunctions.Engine;
using OcspFunctions.Hosting.Publishing;

namespace OcspFunctions.Hosting;

/// <summary>
/// Reads the configuration: a JSON file (optional) overlaid by environment variables (<c>Ocsp__…</c>), as Azure app
/// settings arrive. The engine, the host and each registered adapter bind their own option types from it; a key none
/// of them declares is an error naming the key (and the issuer it is under).
/// </summary>
public static partial class ConfigLoader
{
    public sealed class ConfigurationException(string message) : Exception(message);

    public static OcspConfiguration Load(string? file, IDictionary<string, string?>? overrides = null)
    {
        var builder = new ConfigurationBuilder();
        string baseDirectory = Directory.GetCurrentDirectory();
        if (file is not null)
        {
            var full = Path.GetFullPath(file);
            if (!File.Exists(full)) throw new ConfigurationException($"configuration file {full} does not exist");
            builder.AddJsonFile(full, optional: false);
            baseDirectory = Path.GetDirectoryName(full)!;
        }
        builder.AddEnvironmentVariables();
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
        IConfigurationSection ocsp;
        try
        {
            ocsp = builder.Build().GetSection(OcspOptions.SectionName);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw Invalid(e);
        }
        CheckKnownKeys(ocsp);
        try
        {
            return Bind(ocsp, baseDirectory);
        }
        catch (InvalidOperationException e) when (BinderConversion().Match(e.Message) is { Success: true } m)
        {
            throw new ConfigurationException(
                $"configuration errors:\n  {Where(ocsp, m.Groups["path"].Value)}: '{m.Groups["value"].Value}' is not {Expected(m.Groups["type"].Value)}");
        }
        catch (InvalidOperationException e)
        {
            throw Invalid(e);
        }
    }

    private static ConfigurationException Invalid(Exception e) =>
        new($"configuration is invalid: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}");

    /// <summary>Every declared setting: the engine's options, the host's, and the registered adapters'.</summary>
    private static SettingsSchema Schema()
    {
        var schema = SettingsSchema.For(typeof(OcspOptions));
        schema.At("Serve").Add(typeof(HttpServeOptions));
        schema.At("Issuers:*:Publish").Add(typeof(PublishOptions));
        foreach (var store in Registrations.Stores) schema.At("Store").Add(store.OptionsType);
        foreach (var signer in Registrations.Signers)
        {
            schema.At("Issuers:*:Responder").Add(signer.OptionsType);
            if (signer is { SharedOptionsType: { } type, SharedSection: { } section }) schema.At(section).Add(type);
        }
        return schema;
    }

    private static void CheckKnownKeys(IConfigurationSection ocsp)
    {
        var unknown = new List<(string Path, string? Suggestion)>();
        Schema().FindUnknown(ocsp, unknown);
        if (unknown.Count == 0) return;
        var lines = unknown.Select(u => Describe(ocsp, u.Path, u.Suggestion));
        throw new ConfigurationException("configuration errors:\n  " + string.Join("\n  ", lines));
    }

    /// <summary>"issuer 'ca-2026': unknown setting Responder:KeyVaultKeyIdd (did you mean KeyVaultKeyId?)"; outside the issuers the full key.</summary>
    private static string Describe(IConfigurationSection ocsp, string path, string? suggestion) =>
        $"{Where(ocsp, path, "unknown ")}{(suggestion is null ? "" : $" (did you mean {suggestion}?)")}";

    /// <summary>"issuer 'ca-2026': setting Responder:UsePss" under an issuer (its number when it has no name), else "setting Ocsp:…".</summary>
    private static string Where(IConfigurationSection ocsp, string path, string adjective = "")
    {
        var parts = path.Split(':');
        if (parts.Length > 3 && parts[1].Equals("Issuers", StringComparison.OrdinalIgnoreCase))
        {
            string? name = ocsp.GetSection($"Issuers:{parts[2]}:Name").Value;
            string issuer = string.IsNullOrWhiteSpace(name) ? $"Ocsp:Issuers:{parts[2]}" : $"issuer '{name}'";
            return $"{issuer}: {adjective}setting {string.Join(':', parts[3..])}";
        }
        return $"{adjective}setting {path}";
    }

    /// <summary>What a value of the binder's target type looks like, in the operator's words.</summary>
    private static string Expected(string typeName)
    {
        var type = Type.GetType(typeName) ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(typeName)).FirstOrDefault(t => t is not null);
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            null => $"a valid {typeName}",
            { IsEnum: true } => $"one of {string.Join(", ", Enum.GetNames(type))}",
            _ when type == typeof(TimeSpan) => "a time span such as 4.00:00:00 (days.hours:minutes:seconds) or 00:30:00",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ when type == typeof(double) || type == typeof(decimal) => "a number",
            _ => $"a valid {type.Name}",
        };
    }

    /// <summary>The binder's "Failed to convert configuration value 'x' at 'Ocsp:…' to type 'System.TimeSpan'."</summary>
    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<path>[^']*)' to type '(?<type>[^']*)'\.$", RegexOptions.Singleline)]
    private static partial Regex BinderConversion();

    private static OcspConfiguration Bind(IConfigurationSection ocsp, string baseDirectory)
    {
        var options = ocsp.Get<OcspOptions>() ?? new OcspOptions();
        var serve = ocsp.GetSection("Serve").Get<HttpServeOptions>() ?? new HttpServeOptions();
        string Resolve(string location) => ResolvePath(location, baseDirectory);

        var stores = new List<(IStoreAdapter, object)>();
        foreach (var adapter in Registrations.Stores)
        {
            var settings = BindType(ocsp.GetSection("Store"), adapter.OptionsType);
            adapter.ResolvePaths(settings, Resolve);
            stores.Add((adapter, settings));
        }
        // Each issuer on its own: bound as a list element, a value that does not convert (UsePss: yes) would silently drop
        // the whole issuer; bound alone, it is an error naming the setting.
        var issuerSections = ocsp.GetSection("Issuers").GetChildren().ToList();
        options.Issuers = issuerSections.Select(section => section.Get<IssuerOptions>() ?? new IssuerOptions()).ToList();
        var issuerSigners = new List<IReadOnlyList<(ISignerAdapter, object)>>();
        for (int i = 0; i < options.Issuers.Count; i++)
        {
            var responder = i < issuerSections.Count ? issuerSections[i].GetSection("Responder") : null;
            issuerSigners.Add(Registrations.Signers
                .Select(adapter => (Adapter: adapter,
                    Settings: responder is null ? Activator.CreateInstance(adapter.OptionsType)! : BindType(responder, adapter.OptionsType)))
                .Where(s => s.Adapter.Selects(s.Settings))
                .ToList());
        }
        var shared = Registrations.Signers.ToDictionary(s => s,
            s => s is { SharedOptionsType: { } type, SharedSection: { } section } ? BindType(ocsp.GetSection(section), type) : null);

        foreach (var issuer in options.Issuers)
        {
            issuer.Certificate = Resolve(issuer.Certificate);
            issuer.Crls = issuer.Crls.Select(Resolve).ToList();
            if (issuer.IssuedSerials is { } s) issuer.IssuedSerials = Resolve(s);
            if (issuer.LocalRevocations is { } l) issuer.LocalRevocations = Resolve(l);
            issuer.Responder.Certificate = Resolve(issuer.Responder.Certificate);
            if (issuer.Responder.Key is { } k) issuer.Responder.Key = Resolve(k);
        }
        var publish = issuerSections.Select(section => BindPublish(section.GetSection("Publish"), Resolve)).ToList();
        return new OcspConfiguration
        {
            Options = options, Serve = serve, Stores = stores, IssuerSigners = issuerSigners, SignerShared = shared, Publish = publish,
        };
    }

    /// <summary>An issuer's <c>Publish</c> section (the CA-side inputs), or null when it has none.</summary>
    private static PublishOptions? BindPublish(IConfigurationSection section, Func<string, string> resolve)
    {
        if (!section.Exists()) return null;
        var publish = section.Get<PublishOptions>() ?? new PublishOptions();
        if (publish.IssuedSerials is { } s && !publish.RunsCertutil) publish.IssuedSerials = resolve(s);
        publish.Crls = publish.Crls.Select(resolve).ToList();
        return publish;
    }

    private static object BindType(IConfigurationSection section, Type type) =>
        section.Get(type) ?? Activator.CreateInstance(type)!;

    /// <summary>Relative file locations are relative to the configuration file, not to the working directory.</summary>
    private static string ResolvePath(string location, string baseDirectory) =>
        string.IsNullOrEmpty(location) || location.Contains("://", StringComparison.Ordinal) || Path.IsPathRooted(location)
        || location.StartsWith("blob:", StringComparison.OrdinalIgnoreCase)
            ? location
            : Path.GetFullPath(Path.Combine(baseDirectory, location));
}
