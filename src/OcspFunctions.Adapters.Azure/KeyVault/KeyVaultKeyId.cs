using System.Text.RegularExpressions;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>A Key Vault (or Managed HSM) key identifier: https://VAULT/keys/NAME[/VERSION].</summary>
public sealed partial record KeyVaultKeyId(Uri VaultUri, string Name, string? Version)
{
    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9A-Za-z]{1,64}$")]
    private static partial Regex VersionPattern();

    /// <summary>The key's URL without the version (the latest version).</summary>
    public Uri KeyUri => new(VaultUri, $"keys/{Name}");

    /// <summary>The key's URL with <see cref="Version"/> when known.</summary>
    public Uri Uri => Version is null ? KeyUri : new(VaultUri, $"keys/{Name}/{Version}");

    public override string ToString() => Uri.ToString();

    /// <summary>Parses https://VAULT/keys/NAME[/VERSION] (a trailing slash is accepted); HTTPS only.</summary>
    public static KeyVaultKeyId Parse(string keyId)
    {
        if (string.IsNullOrWhiteSpace(keyId)) throw new ArgumentException("the Key Vault key id is empty");
        if (!Uri.TryCreate(keyId.Trim(), UriKind.Absolute, out var uri))
            throw new ArgumentException($"Key Vault key id '{keyId}' is not an absolute URL (https://VAULT.vault.azure.net/keys/NAME[/VERSION])");
        if (uri.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Key Vault key id '{keyId}' must use https (bearer tokens are only sent over TLS)");
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            throw new ArgumentException($"Key Vault key id '{keyId}' must not have a query or fragment");
        var segments = uri.AbsolutePath.Trim('/').Split('/');
        if (segments.Length is < 2 or > 3 || segments[0] != "keys")
            throw new ArgumentException($"Key Vault key id '{keyId}' is not of the form https://VAULT/keys/NAME[/VERSION]");
        string name = segments[1];
        if (!NamePattern().IsMatch(name)) throw new ArgumentException($"Key Vault key id '{keyId}': '{name}' is not a valid key name");
        string? version = segments.Length == 3 && segments[2].Length > 0 ? segments[2] : null;
        if (version is not null && !VersionPattern().IsMatch(version))
            throw new ArgumentException($"Key Vault key id '{keyId}': '{version}' is not a valid key version");
        var vault = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
        return new KeyVaultKeyId(vault, name, version);
    }

    /// <summary>The version segment of a kid a vault returned, checking it names this key.</summary>
    internal string VersionFromKid(string kid)
    {
        var returned = Parse(kid);
        if (!string.Equals(returned.Name, Name, StringComparison.OrdinalIgnoreCase))
            throw new KeyVaultException($"Key Vault returned key '{kid}' for '{this}'");
        return returned.Version ?? throw new KeyVaultException($"Key Vault returned key id '{kid}' without a version");
    }
}
