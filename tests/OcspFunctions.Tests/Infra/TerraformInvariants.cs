using System.Text.Json;
using System.Text.RegularExpressions;

namespace OcspFunctions.Tests.Infra;

/// <summary>One named invariant of an infrastructure stack: returns what is wrong (empty when it holds).</summary>
public sealed record InfraInvariant<T>(string Name, Func<T, IEnumerable<string>> Check)
{
    public override string ToString() => Name;
}

/// <summary>
/// What the Terraform stack (infra/terraform) must keep true — the same list as <see cref="BicepInvariants"/>, so the two
/// stacks stay equivalent on everything that matters for an OCSP responder.
/// </summary>
public static class TerraformInvariants
{
    public const string KeyVaultCryptoUser = "12338af0-0e69-4776-bea7-57ae8d297424";
    public const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

    /// <summary>Attributes that carry secrets: never in an output, never used anywhere (shared keys are disabled).</summary>
    public static readonly string[] SecretAttributes =
    [
        "primary_access_key", "secondary_access_key", "primary_connection_string", "secondary_connection_string",
        "primary_blob_connection_string", "secondary_blob_connection_string", "connection_string", "instrumentation_key",
        "access_key", "client_secret", "primary_key", "secondary_key", "sas", "listKeys", "custom_domain_verification_id",
        "site_credential",
    ];

    /// <summary>App settings the responder and the Flex host need.</summary>
    public static readonly string[] RequiredAppSettings =
    [
        "OCSP_REFRESH_SCHEDULE", "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
        "Ocsp__Store__BlobServiceUri", "Ocsp__Store__BlobContainer", "Ocsp__Store__ManagedIdentityClientId",
        "Ocsp__Serve__PathPrefix", "Ocsp__Timing__Validity",
        "Ocsp__Issuers__0__Name", "Ocsp__Issuers__0__Certificate", "Ocsp__Issuers__0__Crls__0", "Ocsp__Issuers__0__IssuedSerials",
        "Ocsp__Issuers__0__Responder__Certificate", "Ocsp__Issuers__0__Responder__KeyVaultKeyId",
    ];

    /// <summary>Settings that must not be there: a shared-key host storage string, and what Flex Consumption rejects.</summary>
    public static readonly string[] ForbiddenAppSettings =
    [
        "AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "APPINSIGHTS_INSTRUMENTATIONKEY",
        "DEPLOYMENT_STORAGE_CONNECTION_STRING", "Ocsp__Serve__MinimumTimerInterval",
    ];

    /// <summary>Custom-handler settings: the app is a .NET isolated worker, none of these may come back.</summary>
    public static readonly string[] ForbiddenAppSettingPrefixes = ["FUNCTIONS_CUSTOMHANDLER", "AzureFunctionsJobHost__customHandler"];

    /// <summary>
    /// The Flex Consumption runtime version: the .NET the function app targets ("net10.0" → "10.0"), from
    /// src/OcspFunctions.App's project file when it sets one, else src/Directory.Build.props.
    /// </summary>
    public static string DotnetVersion { get; } = ReadTargetFrameworkVersion();

    private static string ReadTargetFrameworkVersion()
    {
        foreach (var file in new[] { Path.Combine("src", "OcspFunctions.App", "OcspFunctions.App.csproj"), Path.Combine("src", "Directory.Build.props") })
        {
            string path = Path.Combine(InfraPaths.RepoRoot, file);
            if (File.Exists(path) && Regex.Match(File.ReadAllText(path), @"<TargetFramework>net(\d+\.\d+)</TargetFramework>") is { Success: true } m)
                return m.Groups[1].Value;
        }
        throw new InvalidOperationException("no <TargetFramework>netX.Y</TargetFramework> in src/OcspFunctions.App or src/Directory.Build.props");
    }

    /// <summary>Settings that are forbidden by name or by prefix.</summary>
    public static IEnumerable<string> Forbidden(IEnumerable<string> names) =>
        names.Where(n => ForbiddenAppSettings.Contains(n) || ForbiddenAppSettingPrefixes.Any(p => n.StartsWith(p, StringComparison.OrdinalIgnoreCase)));

    public static readonly IReadOnlyList<InfraInvariant<TerraformConfig>> All =
    [
        new("route-accepts-http", RouteAcceptsHttp),
        new("route-no-https-redirect", RouteNoHttpsRedirect),
        new("route-caching-on", RouteCaching),
        new("route-matches-all-paths", RouteMatchesAll),
        new("frontdoor-standard-origin-is-function-app", FrontDoorOrigin),
        new("health-probe", HealthProbe),
        new("key-type", KeyType),
        new("key-vault-premium-rbac-purge-protection", KeyVault),
        new("role-crypto-user-on-key", RoleCryptoUserOnKey),
        new("role-blob-contributor-on-storage", RoleBlobContributorOnStorage),
        new("role-publisher-on-pki-container", RolePublisherOnPkiContainer),
        new("storage-locked-down", StorageLockedDown),
        new("function-app-flex-dotnet-isolated", FunctionApp),
        new("app-settings", AppSettings),
        new("no-secret-outputs", NoSecretOutputs),
        new("no-shared-keys-anywhere", NoSharedKeys),
        new("required-outputs", RequiredOutputs),
        new("alerts", Alerts),
        new("responder-certificate-near-expiry-alert", CertificateNearExpiryAlert),
    ];

    public static IReadOnlyList<string> Check(TerraformConfig config, string invariant) =>
        All.Single(i => i.Name == invariant).Check(config).ToList();

    // ----- Front Door -------------------------------------------------------------------------------------------

    private static IEnumerable<TerraformResource> Routes(TerraformConfig c) => c.OfType("azurerm_cdn_frontdoor_route");

    private static IEnumerable<string> RouteAcceptsHttp(TerraformConfig c)
    {
        if (!Routes(c).Any()) yield return "no azurerm_cdn_frontdoor_route";
        foreach (var r in Routes(c))
        {
            var protocols = Tf.Strings(r.Body, "supported_protocols");
            if (!protocols.Contains("Http")) yield return $"{r.Address}: supported_protocols [{string.Join(", ", protocols)}] lacks \"Http\" (OCSP is plain HTTP)";
            if (!protocols.Contains("Https")) yield return $"{r.Address}: supported_protocols lacks \"Https\"";
        }
    }

    private static IEnumerable<string> RouteNoHttpsRedirect(TerraformConfig c)
    {
        if (!Routes(c).Any()) yield return "no azurerm_cdn_frontdoor_route";
        foreach (var r in Routes(c))
            // The provider's default is true: the attribute must be there, literally false.
            if (!Tf.IsLiteral(r.Body, "https_redirect_enabled", false))
                yield return $"{r.Address}: https_redirect_enabled must be literally false (default true redirects OCSP clients to HTTPS), is {r.Str("https_redirect_enabled") ?? "unset"}";
    }

    private static IEnumerable<string> RouteCaching(TerraformConfig c)
    {
        if (!Routes(c).Any()) yield return "no azurerm_cdn_frontdoor_route";
        foreach (var r in Routes(c))
        {
            var cache = r.Block("cache");
            if (cache is null)
            {
                yield return $"{r.Address}: no cache block (caching is off without it)";
                continue;
            }
            if (Tf.Str(cache, "query_string_caching_behavior") is { } q && q != "IgnoreQueryString")
                yield return $"{r.Address}: cache.query_string_caching_behavior is {q}, expected IgnoreQueryString";
            if (Tf.Prop(cache, "compression_enabled") is { } comp && comp.ValueKind != JsonValueKind.False)
                yield return $"{r.Address}: cache.compression_enabled must be false (DER responses, no-transform)";
        }
    }

    private static IEnumerable<string> RouteMatchesAll(TerraformConfig c)
    {
        foreach (var r in Routes(c))
            if (!Tf.Strings(r.Body, "patterns_to_match").Contains("/*"))
                yield return $"{r.Address}: patterns_to_match must contain \"/*\"";
    }

    private static IEnumerable<string> FrontDoorOrigin(TerraformConfig c)
    {
        var profiles = c.OfType("azurerm_cdn_frontdoor_profile").ToList();
        if (profiles.Count == 0) yield return "no azurerm_cdn_frontdoor_profile";
        foreach (var p in profiles)
            if (p.Str("sku_name") != "Standard_AzureFrontDoor" && p.Str("sku_name") != "Premium_AzureFrontDoor")
                yield return $"{p.Address}: sku_name {p.Str("sku_name")} is not a Front Door Standard/Premium SKU";
        var origins = c.OfType("azurerm_cdn_frontdoor_origin").ToList();
        if (origins.Count == 0) yield return "no azurerm_cdn_frontdoor_origin";
        string? hostRef = FunctionAppHostNameReference(c);
        foreach (var o in origins)
        {
            if (hostRef is null || o.Str("host_name") != hostRef)
                yield return $"{o.Address}: host_name {o.Str("host_name")} is not the function app's default host name ({hostRef ?? "no function app"})";
            if (hostRef is null || o.Str("origin_host_header") != hostRef)
                yield return $"{o.Address}: origin_host_header {o.Str("origin_host_header")} must be the function app's default host name";
        }
    }

    private static IEnumerable<string> HealthProbe(TerraformConfig c)
    {
        var groups = c.OfType("azurerm_cdn_frontdoor_origin_group").ToList();
        if (groups.Count == 0) yield return "no azurerm_cdn_frontdoor_origin_group";
        foreach (var g in groups)
        {
            var probe = g.Block("health_probe");
            if (probe is null)
            {
                yield return $"{g.Address}: no health_probe block";
                continue;
            }
            if (Tf.Str(probe, "path") != "/health") yield return $"{g.Address}: health_probe.path is {Tf.Str(probe, "path")}, expected /health";
            if (Tf.Str(probe, "protocol") != "Http") yield return $"{g.Address}: health_probe.protocol is {Tf.Str(probe, "protocol")}, expected Http";
            if (Tf.Str(probe, "request_type") is { } t && t != "GET") yield return $"{g.Address}: health_probe.request_type must be GET";
        }
    }

    // ----- Key Vault ----------------------------------------------------------------------------------------------

    private static IEnumerable<string> KeyType(TerraformConfig c)
    {
        var keys = c.OfType("azurerm_key_vault_key").ToList();
        if (keys.Count == 0) yield return "no azurerm_key_vault_key";
        if (!c.Variables.TryGetValue("responder_key_type", out var variable))
            yield return "no variable responder_key_type";
        else
        {
            if (Tf.Str(variable, "default") != "EC-HSM") yield return $"variable responder_key_type: default is {Tf.Str(variable, "default")}, expected EC-HSM";
            string validation = Tf.Block(variable, "validation")?.GetRawText() ?? "";
            if (!validation.Contains("EC-HSM") || !validation.Contains("RSA-HSM"))
                yield return "variable responder_key_type: the validation must allow exactly EC-HSM and RSA-HSM";
            if (Regex.IsMatch(validation, "\\\\\"(EC|RSA)\\\\\""))
                yield return "variable responder_key_type: software keys (EC/RSA) must not be allowed";
        }
        foreach (var k in keys)
        {
            string type = k.Str("key_type") ?? "";
            bool fromVariable = type == "${var.responder_key_type}";
            if (!fromVariable && type != "EC-HSM" && type != "RSA-HSM")
                yield return $"{k.Address}: key_type {type} is not an HSM key type (EC-HSM / RSA-HSM)";
            if ((fromVariable || type == "EC-HSM") && !(k.Str("curve") ?? "").Contains("P-256")) yield return $"{k.Address}: curve must be P-256 for EC-HSM";
            if ((fromVariable || type == "RSA-HSM") && !(k.Str("key_size") ?? "").Contains("2048")) yield return $"{k.Address}: key_size must be 2048 for RSA-HSM";
            var ops = Tf.Strings(k.Body, "key_opts");
            if (!ops.Contains("sign")) yield return $"{k.Address}: key_opts [{string.Join(", ", ops)}] lacks sign";
            foreach (var op in ops.Except(["sign", "verify"]))
                yield return $"{k.Address}: key_opts contains {op}; a signing key needs only sign/verify";
        }
    }

    private static IEnumerable<string> KeyVault(TerraformConfig c)
    {
        var vaults = c.OfType("azurerm_key_vault").ToList();
        if (vaults.Count == 0) yield return "no azurerm_key_vault";
        foreach (var v in vaults)
        {
            if (v.Str("sku_name") != "premium") yield return $"{v.Address}: sku_name {v.Str("sku_name")}, expected premium (HSM-backed keys)";
            if (!Tf.IsLiteral(v.Body, "rbac_authorization_enabled", true) && !Tf.IsLiteral(v.Body, "enable_rbac_authorization", true))
                yield return $"{v.Address}: RBAC authorization must be enabled";
            if (!Tf.IsLiteral(v.Body, "purge_protection_enabled", true)) yield return $"{v.Address}: purge_protection_enabled must be true";
            if (!int.TryParse(v.Str("soft_delete_retention_days"), out int days) || days < 7)
                yield return $"{v.Address}: soft_delete_retention_days must be set (7-90)";
            if (v.Body.TryGetProperty("access_policy", out _)) yield return $"{v.Address}: access policies are not used with RBAC";
        }
    }

    // ----- Role assignments ---------------------------------------------------------------------------------------

    /// <summary>The user-assigned identity the function app runs as ("azurerm_user_assigned_identity.NAME").</summary>
    public static string? AppIdentity(TerraformConfig c)
    {
        string? ids = null;
        if (FunctionAppResource(c) is { } app)
            ids = Tf.Block(app.Body, "identity")?.GetRawText();
        return ids is not null && Regex.Match(ids, @"azurerm_user_assigned_identity\.(\w+)\.id") is { Success: true } m
            ? "azurerm_user_assigned_identity." + m.Groups[1].Value
            : null;
    }

    private static bool IsRole(TerraformResource r, string name, string guid) =>
        r.Str("role_definition_name") == name || (r.Str("role_definition_id") ?? "").Contains(guid, StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<TerraformResource> AppAssignments(TerraformConfig c, string role, string guid)
    {
        string? identity = AppIdentity(c);
        return c.OfType("azurerm_role_assignment")
            .Where(r => r.Unconditional && identity is not null && r.Str("principal_id") == $"${{{identity}.principal_id}}" && IsRole(r, role, guid));
    }

    private static IEnumerable<string> RoleCryptoUserOnKey(TerraformConfig c)
    {
        if (AppIdentity(c) is null) yield return "the function app has no user-assigned identity";
        var assignments = AppAssignments(c, "Key Vault Crypto User", KeyVaultCryptoUser).ToList();
        if (assignments.Count == 0)
            yield return "no unconditional Key Vault Crypto User assignment for the function app's identity";
        else if (!assignments.Any(a => Regex.IsMatch(a.Str("scope") ?? "", @"^\$\{azurerm_key_vault_key\.\w+\.resource_versionless_id\}$")))
            yield return "Key Vault Crypto User must be scoped to the key (azurerm_key_vault_key.*.resource_versionless_id), is scoped to "
                         + string.Join(", ", assignments.Select(a => a.Str("scope")));
    }

    private static IEnumerable<string> RoleBlobContributorOnStorage(TerraformConfig c)
    {
        var assignments = AppAssignments(c, "Storage Blob Data Contributor", StorageBlobDataContributor).ToList();
        if (assignments.Count == 0)
            yield return "no unconditional Storage Blob Data Contributor assignment for the function app's identity";
        else if (!assignments.Any(a => Regex.IsMatch(a.Str("scope") ?? "", @"^\$\{azurerm_storage_(account|container)\.\w+\.id\}$")))
            yield return "Storage Blob Data Contributor must be scoped to the storage account or a container, is scoped to "
                         + string.Join(", ", assignments.Select(a => a.Str("scope")));
        foreach (var r in c.OfType("azurerm_role_assignment"))
            if (Regex.IsMatch(r.Str("scope") ?? "", @"resource_group|subscription") || r.Str("role_definition_name") is "Owner" or "Contributor")
                yield return $"{r.Address}: no role assignments at resource-group/subscription scope or with Owner/Contributor";
    }

    /// <summary>The CA-side publisher's optional assignment: Blob Data Contributor, scoped to a container (never the account).</summary>
    private static IEnumerable<string> RolePublisherOnPkiContainer(TerraformConfig c)
    {
        var assignments = c.OfType("azurerm_role_assignment").Where(r => r.Str("principal_id") == "${var.publisher_principal_id}").ToList();
        if (assignments.Count == 0) yield return "no azurerm_role_assignment for var.publisher_principal_id";
        foreach (var r in assignments)
        {
            if (r.Unconditional) yield return $"{r.Address}: must be conditional on publisher_principal_id (count)";
            if (!IsRole(r, "Storage Blob Data Contributor", StorageBlobDataContributor)) yield return $"{r.Address}: the publisher's role must be Storage Blob Data Contributor";
            if (!Regex.IsMatch(r.Str("scope") ?? "", @"^\$\{azurerm_storage_container\.\w+\.id\}$"))
                yield return $"{r.Address}: the publisher's role must be scoped to the CA-inputs container, is scoped to {r.Str("scope")}";
        }
    }

    // ----- Storage ------------------------------------------------------------------------------------------------

    private static IEnumerable<string> StorageLockedDown(TerraformConfig c)
    {
        var accounts = c.OfType("azurerm_storage_account").ToList();
        if (accounts.Count == 0) yield return "no azurerm_storage_account";
        foreach (var a in accounts)
        {
            if (!Tf.IsLiteral(a.Body, "shared_access_key_enabled", false)) yield return $"{a.Address}: shared_access_key_enabled must be false";
            if (a.Str("min_tls_version") != "TLS1_2") yield return $"{a.Address}: min_tls_version must be TLS1_2";
            if (!Tf.IsLiteral(a.Body, "allow_nested_items_to_be_public", false)) yield return $"{a.Address}: allow_nested_items_to_be_public must be false";
        }
        var containers = c.OfType("azurerm_storage_container").ToList();
        var names = containers.Select(r => Resolve(c, r.Str("name"))).ToList();
        foreach (var required in new[] { "ocsp", "pki" })
            if (!names.Contains(required)) yield return $"no \"{required}\" storage container (have {string.Join(", ", names)})";
        if (containers.Count < 3) yield return "expected the ocsp, pki and Flex deployment containers";
        foreach (var container in containers)
            if (container.Str("container_access_type") is { } access && access != "private")
                yield return $"{container.Address}: container_access_type must be private";
    }

    // ----- Function app -------------------------------------------------------------------------------------------

    /// <summary>The function app: an azapi Microsoft.Web/sites resource or azurerm_function_app_flex_consumption.</summary>
    public static TerraformResource? FunctionAppResource(TerraformConfig c) =>
        c.OfType("azapi_resource").FirstOrDefault(r => (r.Str("type") ?? "").StartsWith("Microsoft.Web/sites@", StringComparison.Ordinal))
        ?? c.OfType("azurerm_function_app_flex_consumption").FirstOrDefault();

    private static string? FunctionAppHostNameReference(TerraformConfig c) => FunctionAppResource(c) switch
    {
        { Type: "azapi_resource" } r => $"${{{r.Address}.output.properties.defaultHostName}}",
        { } r => $"${{{r.Address}.default_hostname}}",
        null => null,
    };

    private static IEnumerable<string> FunctionApp(TerraformConfig c)
    {
        var plans = c.OfType("azurerm_service_plan").ToList();
        if (plans.Count == 0 || plans.Any(p => p.Str("sku_name") != "FC1" || p.Str("os_type") != "Linux"))
            yield return "the service plan must be sku_name FC1 (Flex Consumption), os_type Linux";
        var app = FunctionAppResource(c);
        if (app is null)
        {
            yield return "no function app (azapi_resource Microsoft.Web/sites or azurerm_function_app_flex_consumption)";
            yield break;
        }
        string? identity = AppIdentity(c);
        if (identity is null) yield return $"{app.Address}: identity must be the user-assigned identity";
        if (app.Type == "azapi_resource")
        {
            var body = app.Block("body");
            var props = Tf.Block(body, "properties");
            var config = Tf.Block(props, "functionAppConfig");
            if (Tf.Str(body, "kind") != "functionapp,linux") yield return $"{app.Address}: kind must be functionapp,linux";
            var runtime = Tf.Block(config, "runtime");
            if (Tf.Str(runtime, "name") != "dotnet-isolated") yield return $"{app.Address}: functionAppConfig.runtime.name must be dotnet-isolated (is {Tf.Str(runtime, "name")})";
            if (Tf.Str(runtime, "version") != DotnetVersion)
                yield return $"{app.Address}: functionAppConfig.runtime.version must be {DotnetVersion}, the .NET the app targets (is {Tf.Str(runtime, "version")})";
            var storage = Tf.Block(Tf.Block(config, "deployment"), "storage");
            if (Tf.Str(storage, "type") != "blobContainer") yield return $"{app.Address}: deployment storage type must be blobContainer";
            var auth = Tf.Block(storage, "authentication");
            if (Tf.Str(auth, "type") != "UserAssignedIdentity" || Tf.Str(auth, "userAssignedIdentityResourceId") != $"${{{identity}.id}}")
                yield return $"{app.Address}: deployment storage must authenticate with the app's user-assigned identity";
            if (Tf.Block(config, "scaleAndConcurrency") is null) yield return $"{app.Address}: functionAppConfig.scaleAndConcurrency missing";
        }
        else
        {
            if (app.Str("runtime_name") != "dotnet-isolated") yield return $"{app.Address}: runtime_name must be dotnet-isolated";
            if (app.Str("runtime_version") != DotnetVersion) yield return $"{app.Address}: runtime_version must be {DotnetVersion}";
            if (app.Str("storage_container_type") != "blobContainer") yield return $"{app.Address}: storage_container_type must be blobContainer";
            if (app.Str("storage_authentication_type") != "UserAssignedIdentity") yield return $"{app.Address}: storage_authentication_type must be UserAssignedIdentity";
        }
    }

    /// <summary>App setting names as written in the configuration (the locals map, or the resource's app_settings).</summary>
    public static IReadOnlyList<string> AppSettingNames(TerraformConfig c)
    {
        string text = "";
        if (c.Locals.TryGetValue("app_settings", out var local)) text = local.ValueKind == JsonValueKind.String ? local.GetString()! : local.GetRawText();
        else if (FunctionAppResource(c) is { } app && app.Body.TryGetProperty("app_settings", out var settings)) text = settings.GetRawText();
        return Regex.Matches(text, @"^\s*""?(\w+)""?\s*[=:]", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
    }

    private static IEnumerable<string> AppSettings(TerraformConfig c)
    {
        var names = AppSettingNames(c);
        if (names.Count == 0) yield return "no app settings found (locals.app_settings)";
        foreach (var required in RequiredAppSettings.Except(names)) yield return $"app setting {required} is missing";
        foreach (var forbidden in Forbidden(names)) yield return $"app setting {forbidden} must not be set";
        if (FunctionAppResource(c) is { Type: "azapi_resource" } app
            && !(Tf.Block(Tf.Block(Tf.Block(app.Body, "body"), "properties"), "siteConfig")?.GetRawText() ?? "").Contains("local.app_settings"))
            yield return $"{app.Address}: siteConfig.appSettings must be built from local.app_settings";
        if (!c.Variables.TryGetValue("refresh_schedule", out var schedule) || Tf.Str(schedule, "default") != "0 */5 * * * *")
            yield return "variable refresh_schedule must default to \"0 */5 * * * *\"";
    }

    /// <summary>A value, or the string a "${local.NAME}" reference stands for.</summary>
    private static string Resolve(TerraformConfig c, string? value) =>
        value is not null && Regex.Match(value, @"^\$\{local\.(\w+)\}$") is { Success: true } m
        && c.Locals.TryGetValue(m.Groups[1].Value, out var local) && local.ValueKind == JsonValueKind.String
            ? local.GetString()!
            : value ?? "";

    // ----- Outputs and secrets ------------------------------------------------------------------------------------

    private static IEnumerable<string> NoSecretOutputs(TerraformConfig c)
    {
        foreach (var (name, output) in c.Outputs)
        {
            if (output.TryGetProperty("sensitive", out _)) yield return $"output {name}: sensitive outputs are not allowed (no secrets in outputs)";
            string value = Tf.Prop(output, "value")?.GetRawText() ?? "";
            foreach (var secret in SecretAttributes)
                if (Regex.IsMatch(value, $@"(?<![A-Za-z0-9])\.?{Regex.Escape(secret)}(?![A-Za-z0-9_])", RegexOptions.IgnoreCase))
                    yield return $"output {name}: references {secret}";
            // An output must not expose a secret-bearing local or the app settings either.
            if (value.Contains("local.app_settings", StringComparison.Ordinal)) yield return $"output {name}: exposes the app settings";
        }
    }

    private static IEnumerable<string> NoSharedKeys(TerraformConfig c)
    {
        foreach (var attribute in new[] { "primary_access_key", "secondary_access_key", "primary_connection_string", "secondary_connection_string", "primary_blob_connection_string", "storage_access_key", "storage_account_access_key" })
            if (c.RawText.Contains(attribute, StringComparison.Ordinal))
                yield return $"the configuration uses {attribute}; storage access is by managed identity only";
    }

    private static IEnumerable<string> RequiredOutputs(TerraformConfig c)
    {
        if (!c.Outputs.TryGetValue("ocsp_url", out var url)) yield return "no output ocsp_url";
        else
        {
            string resolved = Resolve(c, Tf.Str(url, "value"));
            if (!resolved.StartsWith("http://", StringComparison.Ordinal)) yield return $"output ocsp_url must be an http:// URL (is {resolved})";
        }
        if (!c.Outputs.TryGetValue("key_vault_key_id", out var key) || !(Tf.Str(key, "value") ?? "").Contains("azurerm_key_vault_key."))
            yield return "output key_vault_key_id must be the responder key's id";
    }

    private static IEnumerable<string> Alerts(TerraformConfig c)
    {
        var tests = c.OfType("azurerm_application_insights_standard_web_test").ToList();
        if (tests.Count == 0) yield return "no azurerm_application_insights_standard_web_test";
        foreach (var t in tests)
        {
            string url = Resolve(c, Tf.Str(t.Block("request"), "url"));
            if (!url.EndsWith("/health", StringComparison.Ordinal)) yield return $"{t.Address}: the web test must request /health (is {url})";
        }
        var metricAlerts = c.OfType("azurerm_monitor_metric_alert").ToList();
        if (!metricAlerts.Any(a => (a.Block("application_insights_web_test_location_availability_criteria")?.GetRawText() ?? "").Contains("azurerm_application_insights_standard_web_test.")))
            yield return "no metric alert on the /health web test";
        if (!c.OfType("azurerm_monitor_scheduled_query_rules_alert_v2").Any(a => (a.Block("criteria")?.GetRawText() ?? "").Contains("RefreshTimer")))
            yield return "no scheduled query alert on RefreshTimer failures";
    }

    /// <summary>The same alert as the Bicep stack: the vault's system topic, and (azapi, same body) the Monitor Alert subscription.</summary>
    private static IEnumerable<string> CertificateNearExpiryAlert(TerraformConfig c)
    {
        var topics = c.OfType("azurerm_eventgrid_system_topic").Where(t => t.Str("topic_type") == "Microsoft.KeyVault.vaults").ToList();
        if (topics.Count == 0) yield return "no azurerm_eventgrid_system_topic with topic_type Microsoft.KeyVault.vaults";
        if (topics.Any(t => !(t.Str("source_resource_id") ?? "").Contains("azurerm_key_vault.this.id", StringComparison.Ordinal)))
            yield return "the system topic's source must be the Key Vault";
        var subscriptions = c.OfType("azapi_resource").Where(r => (r.Str("type") ?? "").StartsWith("Microsoft.EventGrid/systemTopics/eventSubscriptions@", StringComparison.Ordinal)).ToList();
        if (!subscriptions.Any(s =>
            {
                string body = s.Block("body")?.GetRawText() ?? "";
                return body.Contains("Microsoft.KeyVault.CertificateNearExpiry", StringComparison.Ordinal)
                       && body.Contains("\"MonitorAlert\"", StringComparison.Ordinal) && body.Contains("\"severity\"", StringComparison.Ordinal);
            }))
            yield return "no event subscription sending Microsoft.KeyVault.CertificateNearExpiry to an Azure Monitor alert (endpointType MonitorAlert, a severity)";
    }
}
