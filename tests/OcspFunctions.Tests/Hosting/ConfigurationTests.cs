using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Hosting;

namespace OcspFunctions.Tests.Hosting;

/// <summary>
/// The composition root's binding: the engine, the host and each registered adapter bind their own option types from
/// the same keys as always, and a key none of them declares is reported by name (and issuer), not by binder internals.
/// </summary>
public sealed class ConfigurationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ocsp-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string json)
    {
        string path = Path.Combine(_dir, "ocsp.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string Issuer = """
        "Issuers": [ { "Name": "ca-2026", "Certificate": "ca.pem", "Responder": { "Certificate": "responder.pem", RESPONDER } } ]
        """;

    private static string Config(string responder, string extra = "") =>
        "{ \"Ocsp\": { \"Store\": { \"Path\": \"store\" }, " + extra + Issuer.Replace("RESPONDER", responder, StringComparison.Ordinal) + " } }";

    [Fact]
    public void A_misspelt_issuer_setting_names_the_issuer_the_key_and_the_likely_one()
    {
        var e = Assert.Throws<ConfigLoader.ConfigurationException>(() =>
            ConfigLoader.Load(Write(Config("\"KeyVaultKeyIdd\": \"https://v.vault.azure.net/keys/k\""))));
        Assert.Contains("issuer 'ca-2026': unknown setting Responder:KeyVaultKeyIdd (did you mean KeyVaultKeyId?)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_settings_outside_the_issuers_are_named_with_their_full_key_including_the_removed_timer_guard()
    {
        var e = Assert.Throws<ConfigLoader.ConfigurationException>(() => ConfigLoader.Load(Write(Config("\"Key\": \"k.pem\"")),
            new Dictionary<string, string?> { ["Ocsp:Store:Pth"] = "x", ["Ocsp:Serve:MinimumTimerInterval"] = "00:01:00", ["Ocsp:Frobnicate"] = "1" }));
        Assert.Contains("unknown setting Ocsp:Store:Pth (did you mean Path?)", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown setting Ocsp:Serve:MinimumTimerInterval", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown setting Ocsp:Frobnicate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Adapters_bind_their_own_settings_from_the_keys_the_app_settings_always_used()
    {
        var configuration = ConfigLoader.Load(Write(Config("\"KeyVaultKeyId\": \"https://v.vault.azure.net/keys/k\"")), new Dictionary<string, string?>
        {
            ["Ocsp:Store:BlobServiceUri"] = "https://acct.blob.core.windows.net",
            ["Ocsp:Store:BlobContainer"] = "responses",
            ["Ocsp:Store:ManagedIdentityClientId"] = "00000000-0000-0000-0000-000000000001",
            ["Ocsp:Serve:PathPrefix"] = "/ocsp",
            ["Ocsp:Serve:MaxRequestBytes"] = "4096",
            ["Ocsp:Serve:IndexReloadInterval"] = "00:00:10",
        });
        var blob = (BlobStoreOptions)configuration.Stores.Single(s => s.Adapter is BlobStoreAdapter).Settings;
        Assert.Equal(("https://acct.blob.core.windows.net", "responses"), (blob.BlobServiceUri, blob.BlobContainer));
        var directory = (FileSystemStoreOptions)configuration.Stores.Single(s => s.Adapter is FileSystemStoreAdapter).Settings;
        Assert.Equal(Path.Combine(_dir, "store"), directory.Path); // relative to the configuration file
        var (signer, settings) = Assert.Single(configuration.IssuerSigners.Single());
        Assert.IsType<KeyVaultSignerAdapter>(signer);
        Assert.Equal("https://v.vault.azure.net/keys/k", ((KeyVaultResponderOptions)settings).KeyVaultKeyId);
        Assert.Equal("00000000-0000-0000-0000-000000000001", ((AzureIdentityOptions)configuration.SignerShared[signer]!).ManagedIdentityClientId);
        Assert.Equal(("/ocsp", 4096), (configuration.Serve.PathPrefix, configuration.Serve.MaxRequestBytes));
        Assert.Equal(TimeSpan.FromSeconds(10), configuration.Options.Serve.IndexReloadInterval);
        Assert.Equal(Path.Combine(_dir, "ca.pem"), configuration.Options.Issuers[0].Certificate);
        Assert.Empty(configuration.Validate().Errors);
    }

    [Theory]
    [InlineData("\"Key\": \"k.pem\", \"KeyVaultKeyId\": \"https://v.vault.azure.net/keys/k\"")]
    [InlineData("\"UsePss\": true")]
    public void Each_issuer_needs_exactly_one_responder_key(string responder)
    {
        var (errors, _) = ConfigLoader.Load(Write(Config(responder))).Validate();
        Assert.Contains("Ocsp:Issuers:0:Responder: set exactly one of Key (a key file) and KeyVaultKeyId (a Key Vault key) or KeyVaultCertificate (a Key Vault certificate)", errors);
    }

    [Fact]
    public void Without_a_store_setting_the_message_lists_what_selects_each_store()
    {
        var configuration = ConfigLoader.Load(Write("{ \"Ocsp\": { " + Issuer.Replace("RESPONDER", "\"Key\": \"k.pem\"", StringComparison.Ordinal) + " } }"));
        var e = Assert.Throws<ConfigLoader.ConfigurationException>(() => Composition.CreateStore(configuration));
        Assert.Contains("Ocsp:Store:Path (a directory)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Ocsp:Store:BlobServiceUri or BlobConnectionString", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Ocsp:Timing:Validity", "four days", "setting Ocsp:Timing:Validity: 'four days' is not a time span such as 4.00:00:00")]
    [InlineData("Ocsp:Issuers:0:Responder:UsePss", "yes", "issuer 'ca-2026': setting Responder:UsePss: 'yes' is not true or false")]
    [InlineData("Ocsp:Issuers:0:IssuedSerialsFormat", "csv", "issuer 'ca-2026': setting IssuedSerialsFormat: 'csv' is not one of Auto, Text, WindowsDirectory, Certutil, OpenSslIndex")]
    public void A_value_of_the_wrong_type_is_named_in_plain_words(string key, string value, string expected)
    {
        var e = Assert.Throws<ConfigLoader.ConfigurationException>(() => ConfigLoader.Load(Write(Config("\"Key\": \"k.pem\"")),
            new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", e.Message, StringComparison.Ordinal);
    }
}
