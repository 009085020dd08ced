using System.Text.Json;
using System.Text.RegularExpressions;

namespace OcspFunctions.Tests.Infra;

/// <summary>
/// The Terraform stack (infra/terraform) as HashiCorp's HCL parser reads it (<c>@cdktf/hcl2json</c>, installed into
/// tests/.tools by tests/run-tests.sh): every invariant holds on the real files, and breaking one makes its check fail.
/// Terraform itself cannot run here (no provider downloads), so this is what CI can check.
/// </summary>
public sealed class TerraformInfraTests
{
    public static TheoryData<string> Invariants => [.. TerraformInvariants.All.Select(i => i.Name)];

    [Theory]
    [MemberData(nameof(Invariants))]
    public void Invariant_holds(string invariant)
    {
        var violations = TerraformInvariants.Check(TerraformConfig.Repository, invariant);
        Assert.True(violations.Count == 0, $"{invariant}:\n  " + string.Join("\n  ", violations));
    }

    [Fact]
    public void Every_tf_file_parses_and_the_stack_has_the_expected_resources()
    {
        var config = TerraformConfig.Repository;
        var files = Directory.GetFiles(InfraPaths.TerraformDir, "*.tf").Select(f => Path.GetFileName(f)).Order().ToList();
        Assert.Equal(files, config.Document.RootElement.EnumerateObject().Select(p => p.Name).Order().ToList());
        foreach (var type in new[]
                 {
                     "azurerm_storage_account", "azurerm_user_assigned_identity", "azurerm_service_plan", "azapi_resource", "azurerm_key_vault",
                     "azurerm_key_vault_key", "azurerm_cdn_frontdoor_profile", "azurerm_cdn_frontdoor_endpoint", "azurerm_cdn_frontdoor_origin_group",
                     "azurerm_cdn_frontdoor_origin", "azurerm_cdn_frontdoor_route", "azurerm_cdn_frontdoor_custom_domain", "azurerm_log_analytics_workspace",
                     "azurerm_application_insights", "azurerm_application_insights_standard_web_test", "azurerm_monitor_metric_alert",
                     "azurerm_monitor_scheduled_query_rules_alert_v2", "azurerm_monitor_action_group",
                 })
            Assert.True(config.OfType(type).Any(), $"no {type}");
    }

    [Fact]
    public void Tfvars_example_sets_only_declared_variables()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ocsp-tfvars-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            File.Copy(Path.Combine(InfraPaths.TerraformDir, "terraform.tfvars.example"), Path.Combine(dir, "example.tf"));
            var example = TerraformConfig.Load(dir).Document.RootElement.GetProperty("example.tf");
            var names = example.EnumerateObject().Select(p => p.Name).ToList();
            Assert.NotEmpty(names);
            foreach (var name in names)
                Assert.True(TerraformConfig.Repository.Variables.ContainsKey(name), $"terraform.tfvars.example sets {name}, which variables.tf does not declare");
            foreach (var (name, variable) in TerraformConfig.Repository.Variables)
                Assert.True(variable.TryGetProperty("default", out _) || names.Contains(name), $"required variable {name} is missing from terraform.tfvars.example");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Each mutation breaks one invariant of a copy of infra/terraform; the named check must then fail.</summary>
    public static TheoryData<string, string, string, string, string> Mutations => new()
    {
        { "redirect-on", "frontdoor.tf", "https_redirect_enabled = false", "https_redirect_enabled = true", "route-no-https-redirect" },
        { "near-expiry-webhook", "keyvault.tf", "endpointType = \"MonitorAlert\"", "endpointType = \"WebHook\"", "responder-certificate-near-expiry-alert" },
        { "near-expiry-other-event", "keyvault.tf", "[\"Microsoft.KeyVault.CertificateNearExpiry\", ", "[", "responder-certificate-near-expiry-alert" },
        { "near-expiry-no-topic", "keyvault.tf", "topic_type          = \"Microsoft.KeyVault.vaults\"", "topic_type          = \"Microsoft.Storage.StorageAccounts\"", "responder-certificate-near-expiry-alert" },
        { "redirect-default", "frontdoor.tf", "  https_redirect_enabled = false\n", "", "route-no-https-redirect" },
        { "https-only", "frontdoor.tf", "supported_protocols    = [\"Http\", \"Https\"]", "supported_protocols    = [\"Https\"]", "route-accepts-http" },
        { "no-cache", "frontdoor.tf", "  cache {\n    query_string_caching_behavior = \"IgnoreQueryString\"\n    compression_enabled           = false\n  }\n", "", "route-caching-on" },
        { "compression", "frontdoor.tf", "compression_enabled           = false", "compression_enabled           = true", "route-caching-on" },
        { "probe-path", "frontdoor.tf", "path                = \"/health\"", "path                = \"/\"", "health-probe" },
        { "probe-https", "frontdoor.tf", "protocol            = \"Http\"", "protocol            = \"Https\"", "health-probe" },
        { "origin-host", "frontdoor.tf", "host_name                      = azapi_resource.function_app.output.properties.defaultHostName", "host_name                      = \"example.com\"", "frontdoor-standard-origin-is-function-app" },
        { "software-key", "variables.tf", "default     = \"EC-HSM\"", "default     = \"EC\"", "key-type" },
        { "rsa-default", "variables.tf", "default     = \"EC-HSM\"", "default     = \"RSA-HSM\"", "key-type" },
        { "no-sign", "keyvault.tf", "key_opts     = [\"sign\", \"verify\"]", "key_opts     = [\"verify\"]", "key-type" },
        { "decrypt", "keyvault.tf", "key_opts     = [\"sign\", \"verify\"]", "key_opts     = [\"sign\", \"verify\", \"decrypt\"]", "key-type" },
        { "standard-vault", "keyvault.tf", "sku_name                      = \"premium\"", "sku_name                      = \"standard\"", "key-vault-premium-rbac-purge-protection" },
        { "no-purge-protection", "keyvault.tf", "purge_protection_enabled      = true", "purge_protection_enabled      = false", "key-vault-premium-rbac-purge-protection" },
        { "no-rbac", "keyvault.tf", "rbac_authorization_enabled    = true", "rbac_authorization_enabled    = false", "key-vault-premium-rbac-purge-protection" },
        { "crypto-user-on-vault", "keyvault.tf", "scope                = azurerm_key_vault_key.responder.resource_versionless_id", "scope                = azurerm_key_vault.this.id", "role-crypto-user-on-key" },
        { "crypto-user-role", "keyvault.tf", "role_definition_name = \"Key Vault Crypto User\"", "role_definition_name = \"Key Vault Reader\"", "role-crypto-user-on-key" },
        { "blob-reader", "main.tf", "role_definition_name = \"Storage Blob Data Contributor\"", "role_definition_name = \"Storage Blob Data Reader\"", "role-blob-contributor-on-storage" },
        { "publisher-on-account", "main.tf", "  scope                = azurerm_storage_container.pki.id\n  role_definition_name = \"Storage Blob Data Contributor\"\n  principal_id         = var.publisher_principal_id", "  scope                = azurerm_storage_account.this.id\n  role_definition_name = \"Storage Blob Data Contributor\"\n  principal_id         = var.publisher_principal_id", "role-publisher-on-pki-container" },
        { "publisher-always", "main.tf", "  count                = var.publisher_principal_id == \"\" ? 0 : 1\n", "", "role-publisher-on-pki-container" },
        { "blob-on-rg", "main.tf", "scope                = azurerm_storage_account.this.id", "scope                = azurerm_resource_group.this.id", "role-blob-contributor-on-storage" },
        { "shared-key", "main.tf", "shared_access_key_enabled       = false", "shared_access_key_enabled       = true", "storage-locked-down" },
        { "tls10", "main.tf", "min_tls_version                 = \"TLS1_2\"", "min_tls_version                 = \"TLS1_0\"", "storage-locked-down" },
        { "public-blobs", "main.tf", "allow_nested_items_to_be_public = false", "allow_nested_items_to_be_public = true", "storage-locked-down" },
        { "custom-runtime", "main.tf", "name    = \"dotnet-isolated\"", "name    = \"custom\"", "function-app-flex-dotnet-isolated" },
        { "older-dotnet", "main.tf", "version = \"10.0\"", "version = \"8.0\"", "function-app-flex-dotnet-isolated" },
        { "consumption-plan", "main.tf", "sku_name            = \"FC1\"", "sku_name            = \"Y1\"", "function-app-flex-dotnet-isolated" },
        { "custom-handler-setting", "main.tf", "    OCSP_REFRESH_SCHEDULE                      = var.refresh_schedule\n", "    OCSP_REFRESH_SCHEDULE                      = var.refresh_schedule\n    FUNCTIONS_CUSTOMHANDLER_PORT = \"8080\"\n", "app-settings" },
        { "no-schedule", "main.tf", "    OCSP_REFRESH_SCHEDULE                      = var.refresh_schedule\n", "", "app-settings" },
        { "webjobs-conn", "main.tf", "    AzureWebJobsStorage__credential            = \"managedidentity\"\n", "    AzureWebJobsStorage = \"DefaultEndpointsProtocol=https\"\n", "app-settings" },
        { "secret-output", "outputs.tf", "output \"storage_account_name\" {", "output \"storage_key\" {\n  value = azurerm_storage_account.this.primary_access_key\n}\n\noutput \"storage_account_name\" {", "no-secret-outputs" },
        { "sensitive-output", "outputs.tf", "output \"storage_account_name\" {", "output \"appi\" {\n  value     = azurerm_application_insights.this.connection_string\n  sensitive = true\n}\n\noutput \"storage_account_name\" {", "no-secret-outputs" },
        { "key-in-use", "main.tf", "    Ocsp__Serve__PathPrefix                    = var.serve_path_prefix\n", "    Ocsp__Serve__PathPrefix                    = var.serve_path_prefix\n    Extra = azurerm_storage_account.this.primary_access_key\n", "no-shared-keys-anywhere" },
        { "https-url", "main.tf", "ocsp_url         = \"http://", "ocsp_url         = \"https://", "required-outputs" },
        { "no-query-alert", "monitoring.tf", "resource \"azurerm_monitor_scheduled_query_rules_alert_v2\" \"refresh_failed\"", "resource \"azurerm_monitor_scheduled_query_rules_log\" \"refresh_failed\"", "alerts" },
        { "webtest-root", "monitoring.tf", "url                              = local.health_url", "url                              = \"http://example.com/\"", "alerts" },
    };

    /// <summary>All mutated copies, converted with one node start; a mutation whose text is not found maps to null.</summary>
    private static readonly Lazy<Dictionary<string, TerraformConfig?>> Mutated = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), "ocsp-tf-mutations-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var dirs = new Dictionary<string, string>();
            foreach (var row in Mutations)
            {
                var (mutation, file, find, replace) = ((string)row[0], (string)row[1], (string)row[2], (string)row[3]);
                string dir = Path.Combine(root, mutation);
                Directory.CreateDirectory(dir);
                foreach (var f in Directory.GetFiles(InfraPaths.TerraformDir, "*.tf")) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
                string path = Path.Combine(dir, file);
                string text = File.ReadAllText(path).ReplaceLineEndings("\n");
                int at = text.IndexOf(find, StringComparison.Ordinal);
                if (at < 0) continue;
                File.WriteAllText(path, text[..at] + replace + text[(at + find.Length)..]);
                dirs[mutation] = dir;
            }
            var configs = TerraformConfig.LoadMany([.. dirs.Values]);
            return Mutations.Select(row => (string)row[0]).ToDictionary(m => m, m => dirs.TryGetValue(m, out var d) ? configs[d] : null);
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
        Assert.Empty(TerraformInvariants.Check(TerraformConfig.Repository, invariant));
        var mutated = Mutated.Value[mutation];
        Assert.True(mutated is not null, $"mutation {mutation}: \"{find}\" not found in {file}");
        var violations = TerraformInvariants.Check(mutated, invariant);
        Assert.True(violations.Count > 0, $"mutation {mutation} did not break {invariant}");
    }
}
