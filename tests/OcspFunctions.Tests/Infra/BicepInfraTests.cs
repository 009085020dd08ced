using System.Text.Json;

namespace OcspFunctions.Tests.Infra;

/// <summary>
/// infra/bicep compiled and linted by the real Bicep compiler (<see cref="BicepCli"/>) with infra/bicep/bicepconfig.json:
/// no diagnostics at all, the security rules are errors, every invariant holds on the compiled template, breaking one
/// in the Bicep source fails its check, and the Bicep and Terraform stacks set the same app settings.
/// </summary>
public sealed class BicepInfraTests
{
    private static string BicepDir => Path.GetDirectoryName(InfraPaths.BicepFile)!;

    public static TheoryData<string> Invariants => [.. BicepInvariants.All.Select(i => i.Name)];

    [Theory]
    [MemberData(nameof(Invariants))]
    public void Invariant_holds(string invariant)
    {
        var violations = BicepInvariants.Check(BicepCli.Repository, invariant);
        Assert.True(violations.Count == 0, $"{invariant}:\n  " + string.Join("\n  ", violations));
    }

    [Fact]
    public void Build_reports_no_diagnostics() =>
        Assert.True(BicepCli.Repository.Diagnostics.Trim() == "", $"bicep build main.bicep printed diagnostics:\n{BicepCli.Repository.Diagnostics}");

    [Fact]
    public void Lint_of_every_bicep_file_reports_no_diagnostics()
    {
        // Each module on its own too: linting main.bicep reports a module's errors (BCP104) but not its warnings.
        var files = Directory.GetFiles(BicepDir, "*.bicep", SearchOption.AllDirectories);
        Assert.True(files.Length >= 7, $"expected main.bicep and its modules, found {files.Length} files");
        var result = BicepCli.Run(BicepDir, "lint", "--pattern", "**/*.bicep");
        Assert.True(result.ExitCode == 0 && result.StdErr.Trim() == "" && result.StdOut.Trim() == "", $"bicep lint: {result}");
    }

    [Fact]
    public void Bicepparam_builds_against_the_template()
    {
        // build-params fails on a parameter main.bicep does not declare, a missing required one, or a wrong type.
        var result = BicepCli.Run(BicepDir, "build-params", Path.GetFileName(InfraPaths.BicepParamFile), "--stdout");
        Assert.True(result.ExitCode == 0 && result.StdErr.Trim() == "", $"bicep build-params: {result}");
        using var output = JsonDocument.Parse(result.StdOut);
        using var parameters = JsonDocument.Parse(output.RootElement.GetProperty("parametersJson").GetString()!);
        var set = parameters.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("responderKeyType", set);
        Assert.Contains("refreshSchedule", set);
        foreach (var name in set) Assert.NotNull(BicepCli.Repository.Parameter(name));
    }

    /// <summary>What bicepconfig.json promises: each security rule below is an error (the linter's default is a warning).</summary>
    [Fact]
    public void Linter_security_rules_are_errors()
    {
        string dir = CopyBicep("ocsp-bicep-lint");
        try
        {
            File.AppendAllText(Path.Combine(dir, "modules", "monitoring.bicep"), """

                param adminPassword string = ''
                @secure()
                param apiToken string = 'not-empty'
                output storageKeys string = listKeys(resourceId('Microsoft.Storage/storageAccounts', 'st'), '2023-05-01').keys[0].value
                output token string = apiToken
                output portal string = '${adminPassword}https://management.azure.com/'

                """);
            var result = BicepCli.Run(dir, "lint", "--pattern", "**/*.bicep");
            Assert.NotEqual(0, result.ExitCode);
            foreach (var rule in new[] { "secure-secrets-in-params", "secure-parameter-default", "outputs-should-not-contain-secrets", "no-hardcoded-env-urls" })
                Assert.True(result.StdErr.Contains($"Error {rule}:", StringComparison.Ordinal) || result.StdOut.Contains($"Error {rule}:", StringComparison.Ordinal),
                            $"{rule} is not reported as an error:\n{result}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Both_stacks_check_the_same_invariants() =>
        Assert.Equal(TerraformInvariants.All.Select(i => i.Name), BicepInvariants.All.Select(i => i.Name));

    [Fact]
    public void Both_stacks_set_the_same_app_settings()
    {
        var bicep = BicepInvariants.AppSettingNames(BicepCli.Repository).Order().ToList();
        var terraform = TerraformInvariants.AppSettingNames(TerraformConfig.Repository).Order().ToList();
        Assert.NotEmpty(bicep);
        Assert.Equal(bicep, terraform);
    }

    [Fact]
    public void Main_composes_one_module_per_concern_and_declares_the_expected_resources()
    {
        var t = BicepCli.Repository;
        var moduleFiles = Directory.GetFiles(Path.Combine(BicepDir, "modules"), "*.bicep").Select(f => Path.GetFileNameWithoutExtension(f)).Order().ToList();
        Assert.Equal(["alerts", "frontdoor", "functionapp", "keyvault", "monitoring", "storage"], moduleFiles);
        Assert.Equal(moduleFiles.Count, t.Modules.Count);
        Assert.True(File.ReadLines(InfraPaths.BicepFile).Count() <= 250, "main.bicep should stay a short composition of the modules");
        foreach (var type in new[]
                 {
                     "Microsoft.Storage/storageAccounts", "Microsoft.ManagedIdentity/userAssignedIdentities", "Microsoft.Web/serverfarms",
                     "Microsoft.Web/sites", "Microsoft.Web/sites/config", "Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/keys",
                     "Microsoft.Cdn/profiles", "Microsoft.Cdn/profiles/afdEndpoints", "Microsoft.Cdn/profiles/originGroups",
                     "Microsoft.Cdn/profiles/originGroups/origins", "Microsoft.Cdn/profiles/afdEndpoints/routes", "Microsoft.Cdn/profiles/customDomains",
                     "Microsoft.OperationalInsights/workspaces", "Microsoft.Insights/components", "Microsoft.Insights/webtests",
                     "Microsoft.Insights/metricAlerts", "Microsoft.Insights/scheduledQueryRules", "Microsoft.Insights/actionGroups",
                     "Microsoft.Insights/workbooks",
                 })
            Assert.True(t.OfType(type).Any(), $"no {type} resource");
        // 38 resources: the 30 of the single-file template this replaced, the publisher's optional role assignment, the OCSP
        // workbook and the meter's alert rules (one copy loop), and 5 for the responder certificate in Key Vault (3 conditional
        // role assignments, the vault's Event Grid system topic and its near-expiry alert subscription).
        Assert.Equal(38, t.Resources.Count);
    }

    /// <summary>Each mutation edits one Bicep file of a copy of infra/bicep; the named check must then fail on its compiled template.</summary>
    public static TheoryData<string, string, string, string, string> Mutations => new()
    {
        { "redirect-on", "modules/frontdoor.bicep", "httpsRedirect: 'Disabled'", "httpsRedirect: 'Enabled'", "route-no-https-redirect" },
        { "near-expiry-webhook", "modules/keyvault.bicep", "endpointType: 'MonitorAlert'", "endpointType: 'WebHook'", "responder-certificate-near-expiry-alert" },
        { "near-expiry-other-event", "modules/keyvault.bicep", "'Microsoft.KeyVault.CertificateNearExpiry'", "'Microsoft.KeyVault.SecretNearExpiry'", "responder-certificate-near-expiry-alert" },
        { "near-expiry-no-topic", "modules/keyvault.bicep", "topicType: 'Microsoft.KeyVault.vaults'", "topicType: 'Microsoft.Storage.StorageAccounts'", "responder-certificate-near-expiry-alert" },
        { "https-only", "modules/frontdoor.bicep", "supportedProtocols: [\n      'Http'\n      'Https'\n    ]", "supportedProtocols: [\n      'Https'\n    ]", "route-accepts-http" },
        { "no-cache", "modules/frontdoor.bicep", "    cacheConfiguration: {\n      queryStringCachingBehavior: 'IgnoreQueryString'\n      compressionSettings: {\n        isCompressionEnabled: false\n        contentTypesToCompress: []\n      }\n    }\n", "", "route-caching-on" },
        { "compression", "modules/frontdoor.bicep", "isCompressionEnabled: false", "isCompressionEnabled: true", "route-caching-on" },
        { "probe-path", "modules/frontdoor.bicep", "probePath: '/health'", "probePath: '/'", "health-probe" },
        { "probe-https", "modules/frontdoor.bicep", "probeProtocol: 'Http'", "probeProtocol: 'Https'", "health-probe" },
        { "origin-literal", "modules/frontdoor.bicep", "    hostName: originHostName\n", "    hostName: 'example.com'\n", "frontdoor-standard-origin-is-function-app" },
        { "origin-passed-wrong", "main.bicep", "originHostName: functionApp.outputs.defaultHostName", "originHostName: storage.outputs.name", "frontdoor-standard-origin-is-function-app" },
        { "rsa-default", "main.bicep", "param responderKeyType string = 'EC-HSM'", "param responderKeyType string = 'RSA-HSM'", "key-type" },
        { "software-key", "modules/keyvault.bicep", "kty: responderKeyType", "kty: 'EC'", "key-type" },
        { "exportable", "modules/keyvault.bicep", "exportable: false", "exportable: true", "key-type" },
        { "no-sign", "modules/keyvault.bicep", "keyOps: [\n      'sign'\n      'verify'\n    ]", "keyOps: [\n      'verify'\n    ]", "key-type" },
        { "standard-vault", "modules/keyvault.bicep", "name: 'premium'", "name: 'standard'", "key-vault-premium-rbac-purge-protection" },
        { "no-purge-protection", "modules/keyvault.bicep", "enablePurgeProtection: true", "enablePurgeProtection: false", "key-vault-premium-rbac-purge-protection" },
        { "crypto-user-on-vault", "modules/keyvault.bicep", "  scope: responderKey\n", "  scope: vault\n", "role-crypto-user-on-key" },
        { "crypto-user-guid", "modules/keyvault.bicep", "var keyVaultCryptoUserRoleId = '12338af0-0e69-4776-bea7-57ae8d297424'", "var keyVaultCryptoUserRoleId = '21090545-7ca7-4776-b22c-e363652d74d2'", "role-crypto-user-on-key" },
        { "crypto-user-other-principal", "modules/keyvault.bicep", "    principalId: identityPrincipalId\n", "    principalId: operatorPrincipalId\n", "role-crypto-user-on-key" },
        { "blob-guid", "modules/storage.bicep", "var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'", "var storageBlobDataContributorRoleId = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'", "role-blob-contributor-on-storage" },
        { "publisher-on-account", "modules/storage.bicep", "  name: guid(pkiContainer.id, publisherPrincipalId, storageBlobDataContributorRoleId, 'publish')\n  scope: pkiContainer\n", "  name: guid(pkiContainer.id, publisherPrincipalId, storageBlobDataContributorRoleId, 'publish')\n  scope: storage\n", "role-publisher-on-pki-container" },
        { "publisher-owner", "modules/storage.bicep", "    principalId: publisherPrincipalId\n", "    principalId: operatorPrincipalId\n", "role-publisher-on-pki-container" },
        { "blob-on-resource-group", "modules/storage.bicep", "  scope: storage\n", "", "role-blob-contributor-on-storage" },
        { "shared-key", "modules/storage.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAccess: true", "storage-locked-down" },
        { "public-blobs", "modules/storage.bicep", "allowBlobPublicAccess: false", "allowBlobPublicAccess: true", "storage-locked-down" },
        { "storage-http", "modules/storage.bicep", "supportsHttpsTrafficOnly: true", "supportsHttpsTrafficOnly: false", "storage-locked-down" },
        { "custom-runtime", "modules/functionapp.bicep", "var runtimeName = 'dotnet-isolated'", "var runtimeName = 'custom'", "function-app-flex-dotnet-isolated" },
        { "older-dotnet", "modules/functionapp.bicep", "var runtimeVersion = '10.0'", "var runtimeVersion = '8.0'", "function-app-flex-dotnet-isolated" },
        { "deployment-other-identity", "modules/functionapp.bicep", "userAssignedIdentityResourceId: identityId", "userAssignedIdentityResourceId: resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'other')", "function-app-flex-dotnet-isolated" },
        { "no-schedule", "modules/functionapp.bicep", "    OCSP_REFRESH_SCHEDULE: refreshSchedule\n", "", "app-settings" },
        { "custom-handler-setting", "modules/functionapp.bicep", "    OCSP_REFRESH_SCHEDULE: refreshSchedule\n", "    OCSP_REFRESH_SCHEDULE: refreshSchedule\n    FUNCTIONS_CUSTOMHANDLER_PORT: '8080'\n", "app-settings" },
        { "appi-conn-output", "modules/monitoring.bicep", "output appInsightsName string = appInsights.name", "output appInsightsName string = appInsights.name\noutput connection string = appInsights.properties.ConnectionString", "no-secret-outputs" },
        { "list-keys-setting", "modules/functionapp.bicep", "    Ocsp__Serve__PathPrefix: servePathPrefix\n", "    Ocsp__Serve__PathPrefix: servePathPrefix\n    Extra: listKeys(resourceId('Microsoft.Storage/storageAccounts', storageAccountName), '2023-05-01').keys[0].value\n", "no-shared-keys-anywhere" },
        { "https-url", "main.bicep", "var ocspUrl = 'http://", "var ocspUrl = 'https://", "required-outputs" },
        { "no-webtest-alert", "modules/alerts.bicep", "webTestId: healthWebTest.id", "webTestId: appInsights.id", "alerts" },
        { "webtest-root", "main.bicep", "healthUrl: 'http://${publicHostName}/health'", "healthUrl: 'http://${publicHostName}/'", "alerts" },
    };

    /// <summary>All mutated copies, compiled with one bicep start (--pattern); a mutation whose text is not found maps to null.</summary>
    private static readonly Lazy<Dictionary<string, (ArmTemplate? Template, string Error)>> Mutated = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), "ocsp-bicep-mutations-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var found = new HashSet<string>();
            foreach (var row in Mutations)
            {
                var (mutation, file, find, replace) = ((string)row[0], (string)row[1], (string)row[2], (string)row[3]);
                string dir = Path.Combine(root, mutation);
                CopyDirectory(BicepDir, dir);
                string path = Path.Combine(dir, file);
                string text = File.ReadAllText(path).ReplaceLineEndings("\n");
                int at = text.IndexOf(find, StringComparison.Ordinal);
                if (at < 0) continue;
                File.WriteAllText(path, text[..at] + replace + text[(at + find.Length)..]);
                found.Add(mutation);
            }
            var result = BicepCli.Run(root, "build", "--pattern", "*/main.bicep");
            return Mutations.Select(row => (string)row[0]).ToDictionary(m => m, m =>
            {
                string json = Path.Combine(root, m, "main.json");
                return found.Contains(m) && File.Exists(json)
                    ? (ArmTemplate.Parse(File.ReadAllText(json)), "")
                    : ((ArmTemplate?)null, found.Contains(m) ? $"did not compile: {result}" : "text not found");
            });
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    });

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Breaking_an_invariant_fails_its_check(string mutation, string file, string find, string replace, string invariant)
    {
        _ = replace;
        Assert.Empty(BicepInvariants.Check(BicepCli.Repository, invariant));
        var (mutated, error) = Mutated.Value[mutation];
        Assert.True(mutated is not null, $"mutation {mutation} (\"{find}\" in {file}): {error}");
        Assert.True(BicepInvariants.Check(mutated, invariant).Count > 0, $"mutation {mutation} did not break {invariant}");
    }

    private static string CopyBicep(string prefix)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}");
        CopyDirectory(BicepDir, dir);
        return dir;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".json", StringComparison.Ordinal) && !file.EndsWith("bicepconfig.json", StringComparison.Ordinal)) continue;
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
