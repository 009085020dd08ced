using System.Text.RegularExpressions;

namespace OcspFunctions.Tests.Infra;

/// <summary>
/// What infra/bicep/main.bicep must keep true — the same list as <see cref="TerraformInvariants"/>. Bicep cannot be
/// compiled here, so these are structural checks on <see cref="BicepTemplate"/> (declarations, bodies, properties).
/// </summary>
public static class BicepInvariants
{
    public static readonly IReadOnlyList<InfraInvariant<BicepTemplate>> All =
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
        new("storage-locked-down", StorageLockedDown),
        new("function-app-flex-custom-handler", FunctionApp),
        new("app-settings", AppSettings),
        new("no-secret-outputs", NoSecretOutputs),
        new("no-shared-keys-anywhere", NoSharedKeys),
        new("required-outputs", RequiredOutputs),
        new("alerts", Alerts),
    ];

    public static IReadOnlyList<string> Check(BicepTemplate t, string invariant) =>
        All.Single(i => i.Name == invariant).Check(t).ToList();

    private static string? P(BicepDeclaration d, string property) => BicepTemplate.Property(d.Value, property);

    private static string Unquote(string? s) => s is { Length: >= 2 } && s[0] == '\'' && s[^1] == '\'' ? s[1..^1] : s ?? "";

    // ----- Front Door -------------------------------------------------------------------------------------------

    private static IEnumerable<BicepDeclaration> Routes(BicepTemplate t) => t.OfType("Microsoft.Cdn/profiles/afdEndpoints/routes");

    private static IEnumerable<string> RouteAcceptsHttp(BicepTemplate t)
    {
        if (!Routes(t).Any()) yield return "no Microsoft.Cdn/profiles/afdEndpoints/routes resource";
        foreach (var r in Routes(t))
        {
            var protocols = BicepTemplate.ArrayItems(P(r, "supportedProtocols")).Select(Unquote).ToList();
            if (!protocols.Contains("Http")) yield return $"{r}: supportedProtocols [{string.Join(", ", protocols)}] lacks 'Http' (OCSP is plain HTTP)";
            if (!protocols.Contains("Https")) yield return $"{r}: supportedProtocols lacks 'Https'";
        }
    }

    private static IEnumerable<string> RouteNoHttpsRedirect(BicepTemplate t)
    {
        if (!Routes(t).Any()) yield return "no route resource";
        foreach (var r in Routes(t))
            if (P(r, "httpsRedirect") != "'Disabled'")
                yield return $"{r}: httpsRedirect must be 'Disabled' (is {P(r, "httpsRedirect") ?? "unset"})";
    }

    private static IEnumerable<string> RouteCaching(BicepTemplate t)
    {
        if (!Routes(t).Any()) yield return "no route resource";
        foreach (var r in Routes(t))
        {
            string? cache = P(r, "cacheConfiguration");
            if (cache is null || !cache.StartsWith('{'))
            {
                yield return $"{r}: no cacheConfiguration (caching is off without it)";
                continue;
            }
            if (BicepTemplate.Property(cache, "queryStringCachingBehavior") != "'IgnoreQueryString'")
                yield return $"{r}: cacheConfiguration.queryStringCachingBehavior must be 'IgnoreQueryString'";
            if (BicepTemplate.Property(cache, "isCompressionEnabled") is { } comp && comp != "false")
                yield return $"{r}: compression must be off (DER responses, no-transform)";
        }
    }

    private static IEnumerable<string> RouteMatchesAll(BicepTemplate t)
    {
        foreach (var r in Routes(t))
            if (!BicepTemplate.ArrayItems(P(r, "patternsToMatch")).Contains("'/*'"))
                yield return $"{r}: patternsToMatch must contain '/*'";
    }

    private static IEnumerable<string> FrontDoorOrigin(BicepTemplate t)
    {
        var profiles = t.OfType("Microsoft.Cdn/profiles").ToList();
        if (profiles.Count == 0) yield return "no Microsoft.Cdn/profiles";
        foreach (var p in profiles)
            if (BicepTemplate.Property(P(p, "sku") ?? "", "name") is not ("'Standard_AzureFrontDoor'" or "'Premium_AzureFrontDoor'"))
                yield return $"{p}: sku must be Standard_AzureFrontDoor";
        var app = FunctionApp(t, out _);
        var origins = t.OfType("Microsoft.Cdn/profiles/originGroups/origins").ToList();
        if (origins.Count == 0) yield return "no origin";
        foreach (var o in origins)
        {
            string expected = $"{app?.Name ?? "<function app>"}.properties.defaultHostName";
            if (P(o, "hostName") != expected) yield return $"{o}: hostName must be {expected} (is {P(o, "hostName")})";
            if (P(o, "originHostHeader") != expected) yield return $"{o}: originHostHeader must be {expected}";
        }
    }

    private static IEnumerable<string> HealthProbe(BicepTemplate t)
    {
        var groups = t.OfType("Microsoft.Cdn/profiles/originGroups").ToList();
        if (groups.Count == 0) yield return "no origin group";
        foreach (var g in groups)
        {
            string probe = P(g, "healthProbeSettings") ?? "";
            if (BicepTemplate.Property(probe, "probePath") != "'/health'") yield return $"{g}: healthProbeSettings.probePath must be '/health'";
            if (BicepTemplate.Property(probe, "probeProtocol") != "'Http'") yield return $"{g}: healthProbeSettings.probeProtocol must be 'Http'";
            if (BicepTemplate.Property(probe, "probeRequestType") is { } rt && rt != "'GET'") yield return $"{g}: probeRequestType must be 'GET'";
        }
    }

    // ----- Key Vault ----------------------------------------------------------------------------------------------

    private static IEnumerable<string> KeyType(BicepTemplate t)
    {
        var param = t.Param("responderKeyType");
        if (param is null) yield return "no param responderKeyType";
        else
        {
            if (param.Value != "'EC-HSM'") yield return $"param responderKeyType: default is {param.Value}, expected 'EC-HSM'";
            var allowed = param.Decorators.FirstOrDefault(d => d.StartsWith("@allowed", StringComparison.Ordinal)) ?? "";
            var values = Regex.Matches(allowed, "'([^']*)'").Select(m => m.Groups[1].Value).Order().ToList();
            if (!values.SequenceEqual(["EC-HSM", "RSA-HSM"])) yield return $"param responderKeyType: @allowed must be exactly EC-HSM and RSA-HSM (is {string.Join(", ", values)})";
        }
        var keys = t.OfType("Microsoft.KeyVault/vaults/keys").ToList();
        if (keys.Count == 0) yield return "no Microsoft.KeyVault/vaults/keys resource";
        foreach (var k in keys)
        {
            string kty = P(k, "kty") ?? "";
            if (kty != "responderKeyType" && kty != "'EC-HSM'" && kty != "'RSA-HSM'") yield return $"{k}: kty must be responderKeyType (EC-HSM/RSA-HSM), is {kty}";
            if (!(P(k, "curveName") ?? "").Contains("'P-256'")) yield return $"{k}: curveName must be 'P-256' for EC-HSM";
            if (!(P(k, "keySize") ?? "").Contains("2048")) yield return $"{k}: keySize must be 2048 for RSA-HSM";
            var ops = BicepTemplate.ArrayItems(P(k, "keyOps")).Select(Unquote).ToList();
            if (!ops.Contains("sign")) yield return $"{k}: keyOps [{string.Join(", ", ops)}] lacks 'sign'";
            foreach (var op in ops.Except(["sign", "verify"])) yield return $"{k}: keyOps contains {op}; a signing key needs only sign/verify";
            if (P(k, "exportable") != "false") yield return $"{k}: attributes.exportable must be false";
        }
    }

    private static IEnumerable<string> KeyVault(BicepTemplate t)
    {
        var vaults = t.OfType("Microsoft.KeyVault/vaults").ToList();
        if (vaults.Count == 0) yield return "no Microsoft.KeyVault/vaults";
        foreach (var v in vaults)
        {
            if (BicepTemplate.Property(P(v, "sku") ?? "", "name") != "'premium'") yield return $"{v}: sku.name must be 'premium' (HSM-backed keys)";
            if (P(v, "enableRbacAuthorization") != "true") yield return $"{v}: enableRbacAuthorization must be true";
            if (P(v, "enablePurgeProtection") != "true") yield return $"{v}: enablePurgeProtection must be true";
            if (P(v, "enableSoftDelete") != "true") yield return $"{v}: enableSoftDelete must be true";
            if (P(v, "accessPolicies") is not null) yield return $"{v}: access policies are not used with RBAC";
        }
    }

    // ----- Role assignments ---------------------------------------------------------------------------------------

    /// <summary>The function app resource and the user-assigned identity symbol it runs as.</summary>
    private static BicepDeclaration? FunctionApp(BicepTemplate t, out string? identity)
    {
        identity = null;
        var app = t.OfType("Microsoft.Web/sites").FirstOrDefault(s => (P(s, "kind") ?? "").Contains("functionapp"));
        if (app is not null && Regex.Match(P(app, "identity") ?? "", @"'\$\{(\w+)\.id\}'\s*:") is { Success: true } m
            && t.Resource(m.Groups[1].Value)?.Type.StartsWith("Microsoft.ManagedIdentity/userAssignedIdentities@", StringComparison.OrdinalIgnoreCase) == true)
            identity = m.Groups[1].Value;
        return app;
    }

    /// <summary>Unconditional role assignments for the app's identity with the role GUID (literal, or through a var).</summary>
    private static List<(BicepDeclaration Assignment, BicepDeclaration? Scope)> AppAssignments(BicepTemplate t, string roleGuid)
    {
        FunctionApp(t, out var identity);
        var result = new List<(BicepDeclaration, BicepDeclaration?)>();
        foreach (var a in t.OfType("Microsoft.Authorization/roleAssignments"))
        {
            if (a.Condition is not null || identity is null || P(a, "principalId") != $"{identity}.properties.principalId") continue;
            string roleExpr = P(a, "roleDefinitionId") ?? "";
            string resolved = Regex.Replace(roleExpr, @"\b(\w+)\)\s*$", m => t.Var(m.Groups[1].Value)?.Value + ")");
            if (!resolved.Contains(roleGuid, StringComparison.OrdinalIgnoreCase)) continue;
            result.Add((a, P(a, "scope") is { } scope ? t.Resource(scope) : null));
        }
        return result;
    }

    private static IEnumerable<string> RoleCryptoUserOnKey(BicepTemplate t)
    {
        FunctionApp(t, out var identity);
        if (identity is null) yield return "the function app must run as a user-assigned identity declared in the template";
        if (!t.Text.Contains(TerraformInvariants.KeyVaultCryptoUser, StringComparison.OrdinalIgnoreCase))
            yield return $"the Key Vault Crypto User role GUID {TerraformInvariants.KeyVaultCryptoUser} is not in the template";
        var assignments = AppAssignments(t, TerraformInvariants.KeyVaultCryptoUser);
        if (assignments.Count == 0) yield return "no unconditional Key Vault Crypto User assignment for the app's identity";
        else if (!assignments.Any(a => a.Scope?.Type.StartsWith("Microsoft.KeyVault/vaults/keys@", StringComparison.OrdinalIgnoreCase) == true))
            yield return "Key Vault Crypto User must be scoped to the key (scope: a Microsoft.KeyVault/vaults/keys resource), is scoped to "
                         + string.Join(", ", assignments.Select(a => a.Scope?.Name ?? "<none>"));
    }

    private static IEnumerable<string> RoleBlobContributorOnStorage(BicepTemplate t)
    {
        if (!t.Text.Contains(TerraformInvariants.StorageBlobDataContributor, StringComparison.OrdinalIgnoreCase))
            yield return $"the Storage Blob Data Contributor role GUID {TerraformInvariants.StorageBlobDataContributor} is not in the template";
        var assignments = AppAssignments(t, TerraformInvariants.StorageBlobDataContributor);
        if (assignments.Count == 0) yield return "no unconditional Storage Blob Data Contributor assignment for the app's identity";
        else if (!assignments.Any(a => a.Scope?.Type.Split('@')[0] is "Microsoft.Storage/storageAccounts" or "Microsoft.Storage/storageAccounts/blobServices/containers"))
            yield return "Storage Blob Data Contributor must be scoped to the storage account or a container, is scoped to "
                         + string.Join(", ", assignments.Select(a => a.Scope?.Name ?? "<none: the resource group>"));
    }

    // ----- Storage ------------------------------------------------------------------------------------------------

    private static IEnumerable<string> StorageLockedDown(BicepTemplate t)
    {
        var accounts = t.OfType("Microsoft.Storage/storageAccounts").ToList();
        if (accounts.Count == 0) yield return "no storage account";
        foreach (var a in accounts)
        {
            if (P(a, "allowSharedKeyAccess") != "false") yield return $"{a}: allowSharedKeyAccess must be false";
            if (P(a, "minimumTlsVersion") != "'TLS1_2'") yield return $"{a}: minimumTlsVersion must be 'TLS1_2'";
            if (P(a, "allowBlobPublicAccess") != "false") yield return $"{a}: allowBlobPublicAccess must be false";
        }
        var containers = t.OfType("Microsoft.Storage/storageAccounts/blobServices/containers").ToList();
        string Name(BicepDeclaration c) => P(c, "name") is { } n && t.Var(n) is { } v ? Unquote(v.Value) : Unquote(P(c, "name"));
        var names = containers.Select(Name).ToList();
        foreach (var required in new[] { "ocsp", "pki" })
            if (!names.Contains(required)) yield return $"no '{required}' container (have {string.Join(", ", names)})";
        if (containers.Count < 3) yield return "expected the ocsp, pki and Flex deployment containers";
        foreach (var c in containers)
            if (P(c, "publicAccess") != "'None'") yield return $"{c}: publicAccess must be 'None'";
    }

    // ----- Function app -------------------------------------------------------------------------------------------

    private static IEnumerable<string> FunctionApp(BicepTemplate t)
    {
        var plans = t.OfType("Microsoft.Web/serverfarms").ToList();
        if (plans.Count == 0 || plans.Any(p => BicepTemplate.Property(P(p, "sku") ?? "", "name") != "'FC1'"
                                              || BicepTemplate.Property(P(p, "sku") ?? "", "tier") != "'FlexConsumption'"))
            yield return "the plan must be sku FC1 / FlexConsumption";
        var app = FunctionApp(t, out var identity);
        if (app is null)
        {
            yield return "no Microsoft.Web/sites function app";
            yield break;
        }
        if (P(app, "kind") != "'functionapp,linux'") yield return $"{app}: kind must be 'functionapp,linux'";
        if (identity is null) yield return $"{app}: identity must be the template's user-assigned identity";
        string config = P(app, "functionAppConfig") ?? "";
        if (BicepTemplate.Property(BicepTemplate.Property(config, "runtime") ?? "", "name") != "'custom'")
            yield return $"{app}: functionAppConfig.runtime.name must be 'custom' (custom handler)";
        string storage = BicepTemplate.Property(BicepTemplate.Property(config, "deployment") ?? "", "storage") ?? "";
        if (BicepTemplate.Property(storage, "type") != "'blobContainer'") yield return $"{app}: deployment storage type must be 'blobContainer'";
        string auth = BicepTemplate.Property(storage, "authentication") ?? "";
        if (BicepTemplate.Property(auth, "type") != "'UserAssignedIdentity'" || BicepTemplate.Property(auth, "userAssignedIdentityResourceId") != $"{identity}.id")
            yield return $"{app}: deployment storage must authenticate with the app's user-assigned identity";
        if (BicepTemplate.Property(config, "scaleAndConcurrency") is null) yield return $"{app}: functionAppConfig.scaleAndConcurrency missing";
    }

    /// <summary>App setting names: the keys of the first object of the sites/config 'appsettings' resource.</summary>
    public static IReadOnlyList<string> AppSettingNames(BicepTemplate t)
    {
        var config = t.OfType("Microsoft.Web/sites/config").FirstOrDefault(c => P(c, "name") == "'appsettings'");
        string props = config is null ? "" : P(config, "properties") ?? "";
        int open = props.IndexOf('{');
        if (open < 0) return [];
        string obj = props[open..(BicepTemplate.MatchClose(props, open) + 1)];
        return Regex.Matches(obj, @"^\s*'?(\w+)'?\s*:", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
    }

    private static IEnumerable<string> AppSettings(BicepTemplate t)
    {
        var names = AppSettingNames(t);
        if (names.Count == 0) yield return "no Microsoft.Web/sites/config 'appsettings' resource with settings";
        foreach (var required in TerraformInvariants.RequiredAppSettings.Except(names)) yield return $"app setting {required} is missing";
        foreach (var forbidden in TerraformInvariants.ForbiddenAppSettings.Intersect(names)) yield return $"app setting {forbidden} must not be set";
        if (t.Param("refreshSchedule")?.Value != "'0 */5 * * * *'") yield return "param refreshSchedule must default to '0 */5 * * * *'";
    }

    // ----- Outputs and secrets ------------------------------------------------------------------------------------

    private static readonly Regex SecretExpression = new(
        @"\blist\w*\s*\(|\.list\w*\(|ConnectionString|InstrumentationKey|primaryKey|secondaryKey|accessKey|\bkeys\s*\[|primaryEndpoints\.\w*Key|secret",
        RegexOptions.IgnoreCase);

    private static IEnumerable<string> NoSecretOutputs(BicepTemplate t)
    {
        foreach (var o in t.Outputs)
        {
            if (o.Decorators.Any(d => d.StartsWith("@secure", StringComparison.Ordinal))) yield return $"{o}: @secure() outputs are not allowed";
            if (SecretExpression.Match(o.Value) is { Success: true } m) yield return $"{o}: the value uses {m.Value} (no secrets in outputs)";
            if (Regex.IsMatch(o.Value, @"\bappSettings\b|\.properties\.siteConfig")) yield return $"{o}: exposes the app settings";
        }
    }

    private static IEnumerable<string> NoSharedKeys(BicepTemplate t)
    {
        if (Regex.IsMatch(t.Text, @"\blistKeys\s*\(|\.listKeys\(|listConnectionStrings|AccountKey=", RegexOptions.IgnoreCase))
            yield return "the template reads storage keys or builds a shared-key connection string; storage access is by managed identity only";
    }

    private static IEnumerable<string> RequiredOutputs(BicepTemplate t)
    {
        var url = t.Outputs.FirstOrDefault(o => o.Name == "ocspUrl");
        if (url is null) yield return "no output ocspUrl";
        else
        {
            string value = t.Var(url.Value)?.Value ?? url.Value;
            if (!value.StartsWith("'http://", StringComparison.Ordinal)) yield return $"output ocspUrl must be an http:// URL (is {value})";
        }
        var key = t.Outputs.FirstOrDefault(o => o.Name == "keyVaultKeyId");
        if (key is null || !Regex.IsMatch(key.Value, @"^\w+\.properties\.keyUri(WithVersion)?$")
                        || t.Resource(key.Value.Split('.')[0])?.Type.StartsWith("Microsoft.KeyVault/vaults/keys@", StringComparison.OrdinalIgnoreCase) != true)
            yield return "output keyVaultKeyId must be the responder key's properties.keyUri";
    }

    private static IEnumerable<string> Alerts(BicepTemplate t)
    {
        var tests = t.OfType("Microsoft.Insights/webtests").ToList();
        if (tests.Count == 0) yield return "no Microsoft.Insights/webtests";
        foreach (var w in tests)
        {
            if (P(w, "kind") != "'standard'") yield return $"{w}: kind must be 'standard'";
            string url = BicepTemplate.Property(P(w, "Request") ?? "", "RequestUrl") ?? "";
            string resolved = t.Var(url)?.Value ?? url;
            if (!resolved.Contains("/health'", StringComparison.Ordinal)) yield return $"{w}: the request must be /health (is {resolved})";
        }
        if (!t.OfType("Microsoft.Insights/metricAlerts").Any(a => (P(a, "criteria") ?? "").Contains("WebtestLocationAvailabilityCriteria")
                                                                 && tests.Any(w => (P(a, "webTestId") ?? "") == $"{w.Name}.id")))
            yield return "no metric alert on the /health web test";
        if (!t.OfType("Microsoft.Insights/scheduledQueryRules").Any(a => (P(a, "criteria") ?? "").Contains("RefreshTimer")))
            yield return "no scheduled query alert on RefreshTimer failures";
    }
}
