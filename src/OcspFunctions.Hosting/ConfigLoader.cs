using Microsoft.Extensions.Configuration;
using OcspFunctions.Engine;

namespace OcspResponder.Cli;

/// <summary>Reads the configuration: a JSON file (optional) overlaid by environment variables (<c>Ocsp__…</c>), as Azure app settings arrive.</summary>
public static class ConfigLoader
{
    public sealed class ConfigurationException(string message) : Exception(message);

    public static OcspOptions Load(string? file, IDictionary<string, string?>? overrides = null)
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
        OcspOptions options;
        try
        {
            options = builder.Build().GetSection(OcspOptions.SectionName).Get<OcspOptions>(o => o.ErrorOnUnknownConfiguration = true) ?? new OcspOptions();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new ConfigurationException($"configuration is invalid: {e.Message}{(e.InnerException is { } inner ? " " + inner.Message : "")}");
        }
        ResolvePaths(options, baseDirectory);
        return options;
    }

    /// <summary>Relative file locations are relative to the configuration file, not to the working directory.</summary>
    private static void ResolvePaths(OcspOptions options, string baseDirectory)
    {
        string Resolve(string location) =>
            string.IsNullOrEmpty(location) || location.Contains("://", StringComparison.Ordinal) || Path.IsPathRooted(location)
            || location.StartsWith("blob:", StringComparison.OrdinalIgnoreCase)
                ? location
                : Path.GetFullPath(Path.Combine(baseDirectory, location));

        if (options.Store.Path is { } store) options.Store.Path = Resolve(store);
        foreach (var issuer in options.Issuers)
        {
            issuer.Certificate = Resolve(issuer.Certificate);
            issuer.Crls = issuer.Crls.Select(Resolve).ToList();
            if (issuer.IssuedSerials is { } s) issuer.IssuedSerials = Resolve(s);
            if (issuer.LocalRevocations is { } l) issuer.LocalRevocations = Resolve(l);
            issuer.Responder.Certificate = Resolve(issuer.Responder.Certificate);
            if (issuer.Responder.Key is { } k) issuer.Responder.Key = Resolve(k);
        }
    }
}
