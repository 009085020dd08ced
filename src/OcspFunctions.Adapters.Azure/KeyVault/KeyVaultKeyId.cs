using System.Text.RegularExpressions;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>Which service holds a key: the two share the keys REST API but not their limits or token audience.</summary>
public enum KeyVaultKind
{
    /// <summary>A key vault, <c>https://NAME.vault.azure.net</c>: throttled per vault per 10 s (429).</summary>
    Vault,

    /// <summary>A Managed HSM, <c>https://NAME.managedhsm.azure.net</c>: not throttled; bound by its three HSM partitions.</summary>
    ManagedHsm,
}

/// <summary>
/// A Key Vault or Managed HSM key identifier: https://NAME.vault.DOMAIN/keys/KEY[/VERSION] or
/// https://NAME.managedhsm.DOMAIN/keys/KEY[/VERSION]. DOMAIN is the cloud's: azure.net (public), azure.cn (China),
/// usgovcloudapi.net (US Government); the host's second label says which service it is.
/// </summary>
public sealed partial record KeyVaultKeyId(Uri VaultUri, string Name, string? Version)
{
    private const string Forms = "https://NAME.vault.azure.net/keys/KEY[/VERSION] or https://NAME.managedhsm.azure.net/keys/KEY[/VERSION]";

    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9A-Za-z]{1,64}$")]
    private static partial Regex VersionPattern();

    /// <summary>The key's URL without the version (the latest version).</summary>
    public Uri KeyUri => new(VaultUri, $"keys/{Name}");

    /// <summary>The key's URL with <see cref="Version"/> when known.</summary>
    public Uri Uri => Version is null ? KeyUri : new(VaultUri, $"keys/{Name}/{Version}");

    /// <summary>
    /// Vault or Managed HSM, from the host's second label (NAME.vault.… / NAME.managedhsm.…). <see cref="Parse"/> accepts
    /// no other host; an id constructed directly with another host counts as a vault, the throttled kind.
    /// </summary>
    public KeyVaultKind Kind => KindOf(VaultUri.Host) ?? KeyVaultKind.Vault;

    /// <summary>
    /// The token scope Key Vault's challenge names for this host: the host without its first label + "/.default"
    /// (https://vault.azure.net/.default, https://managedhsm.azure.net/.default, https://vault.azure.cn/.default …).
    /// The signer still takes the scope from the 401 challenge; this is what to expect and what the docs list.
    /// </summary>
    public string Scope => "https://" + VaultUri.Host[(VaultUri.Host.IndexOf('.') + 1)..] + "/.default";

    public override string ToString() => Uri.ToString();

    private static KeyVaultKind? KindOf(string host)
    {
        var labels = host.Split('.');
        if (labels.Length < 4 || labels.Any(l => l.Length == 0)) return null; // NAME.SERVICE.DOMAIN.TLD at least
        return labels[1].ToLowerInvariant() switch
        {
            "vault" => KeyVaultKind.Vault,
            "managedhsm" => KeyVaultKind.ManagedHsm,
            _ => null,
        };
    }

    /// <summary>Parses a vault or Managed HSM key id (a trailing slash is accepted); HTTPS only.</summary>
    public static KeyVaultKeyId Parse(string keyId)
    {
        if (string.IsNullOrWhiteSpace(keyId)) throw new ArgumentException("the Key Vault key id is empty");
        if (!Uri.TryCreate(keyId.Trim(), UriKind.Absolute, out var uri))
            throw new ArgumentException($"Key Vault key id '{keyId}' is not an absolute URL ({Forms})");
        if (uri.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Key Vault key id '{keyId}' must use https (bearer tokens are only sent over TLS)");
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            throw new ArgumentException($"Key Vault key id '{keyId}' must not have a query or fragment");
        if (KindOf(uri.Host) is null)
            throw new ArgumentException(
                $"Key Vault key id '{keyId}': '{uri.Host}' is neither a key vault nor a Managed HSM host (use {Forms})");
        var segments = uri.AbsolutePath.Trim('/').Split('/');
        if (segments.Length is < 2 or > 3 || segments[0] != "keys")
            throw new ArgumentException($"Key Vault key id '{keyId}' is not of the form {Forms}");
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
