using OcspFunctions.Hosting;
using OcspFunctions.Hosting.Publishing;

namespace OcspFunctions.Tests.Publishing;

/// <summary>The <c>Issuers[]:Publish</c> settings: declared (a misspelt key is named), bound with paths resolved, checked before anything is read.</summary>
public sealed class PublishConfigurationTests
{
    private static Dictionary<string, string?> Base(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Ocsp:Store:BlobConnectionString"] = "UseDevelopmentStorage=true",
            ["Ocsp:Issuers:0:Name"] = "ca-2026",
            ["Ocsp:Issuers:0:Certificate"] = "/etc/pki/ca.pem",
            ["Ocsp:Issuers:0:Crls:0"] = "blob:pki/ca.crl",
            ["Ocsp:Issuers:0:Crls:1"] = "https://pki.example.com/ca.crl",
            ["Ocsp:Issuers:0:IssuedSerials"] = "blob:pki/issued.txt",
        };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    [Fact]
    public void A_misspelt_publish_key_is_named_with_a_suggestion()
    {
        var e = Assert.Throws<ConfigLoader.ConfigurationException>(() =>
            ConfigLoader.Load(null, Base(("Ocsp:Issuers:0:Publish:IssuedSerial", "certutil"))));
        Assert.Contains("issuer 'ca-2026': unknown setting Publish:IssuedSerial (did you mean IssuedSerials?)", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigLoader.ConfigurationException>(() =>
            ConfigLoader.Load(null, Base(("Ocsp:Issuers:0:Publish:Certutil:Confg", "x"))));
        Assert.Contains("unknown setting Publish:Certutil:Confg (did you mean Config?)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Publish_settings_bind_and_pair_with_the_blob_destinations()
    {
        var configuration = ConfigLoader.Load(null, Base(("Ocsp:Issuers:0:Publish:IssuedSerials", "certutil"),
            ("Ocsp:Issuers:0:Publish:Crls:0", "/var/CertEnroll/ca.crl"), ("Ocsp:Issuers:0:Publish:Certutil:Timeout", "00:02:00")));
        var publish = Assert.IsType<PublishOptions>(Assert.Single(configuration.Publish));
        Assert.True(publish.RunsCertutil);
        Assert.Equal(TimeSpan.FromMinutes(2), publish.Certutil.Timeout);
        Assert.Empty(PublishSetup.Validate(configuration));
    }

    [Fact]
    public void Destinations_that_are_not_blobs_or_do_not_pair_are_errors()
    {
        var errors = PublishSetup.Validate(ConfigLoader.Load(null, Base(("Ocsp:Issuers:0:IssuedSerials", "/srv/issued.txt"),
            ("Ocsp:Issuers:0:Publish:IssuedSerials", "/var/ca/index.txt"),
            ("Ocsp:Issuers:0:Publish:Crls:0", "a.crl"), ("Ocsp:Issuers:0:Publish:Crls:1", "b.crl"))));
        Assert.Contains(errors, e => e.Contains("issuer 'ca-2026': Publish:IssuedSerials needs IssuedSerials to be the blob:CONTAINER/NAME", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Publish:Crls has 2 entries but Crls has 1 blob:CONTAINER/NAME locations", StringComparison.Ordinal));

        errors = PublishSetup.Validate(ConfigLoader.Load(null, new Dictionary<string, string?>
        {
            ["Ocsp:Store:Path"] = "/tmp/store", ["Ocsp:Issuers:0:Name"] = "x", ["Ocsp:Issuers:0:Certificate"] = "/ca.pem",
        }));
        Assert.Contains(errors, e => e.StartsWith("publish uploads to Blob storage", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("no issuer has a Publish section", StringComparison.Ordinal));
    }
}

/// <summary>The shipped CA-side files: the example configuration is valid for publish, the units run publish every 5 minutes.</summary>
public sealed class PublishShippedFilesTests
{
    private static string CaSide(params string[] parts) =>
        Path.Combine([Tests.Infra.InfraPaths.RepoRoot, "infra", "ca-side", .. parts]);

    [Fact]
    public void The_example_configuration_is_valid_for_publish()
    {
        var configuration = ConfigLoader.Load(CaSide("publish.example.json"));
        Assert.Empty(PublishSetup.Validate(configuration));
        var publish = Assert.IsType<PublishOptions>(Assert.Single(configuration.Publish));
        Assert.True(publish.RunsCertutil);
        Assert.Equal(2, publish.Crls.Count);
    }

    [Fact]
    public void The_schedules_run_publish_every_five_minutes_and_log()
    {
        var timer = File.ReadAllText(CaSide("linux", "ocsp-publish.timer"));
        Assert.Contains("OnUnitActiveSec=5min", timer, StringComparison.Ordinal);
        var service = File.ReadAllText(CaSide("linux", "ocsp-publish.service"));
        Assert.Matches(@"(?m)^ExecStart=\S+ publish --config \S+$", service);
        Assert.Contains("StandardOutput=journal", service, StringComparison.Ordinal);
        var register = File.ReadAllText(CaSide("windows", "Register-OcspPublishTask.ps1"));
        Assert.Contains("(New-TimeSpan -Minutes 5)", register, StringComparison.Ordinal);
        var invoke = File.ReadAllText(CaSide("windows", "Invoke-OcspPublish.ps1"));
        Assert.Contains("publish --config $Config", invoke, StringComparison.Ordinal);
        Assert.Contains("Write-EventLog", invoke, StringComparison.Ordinal);
    }
}
