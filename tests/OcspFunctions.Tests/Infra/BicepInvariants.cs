using System.Text.Json;
using System.Text.RegularExpressions;

namespace OcspFunctions.Tests.Infra;

/// <summary>
/// What infra/bicep must keep true — the same list as <see cref="TerraformInvariants"/> — checked on the ARM template
/// the real Bicep compiler writes (<see cref="ArmTemplate"/>, modules flattened). The compiler already checks syntax,
/// types and resource schemas, and its linter the secrets in parameters and outputs (infra/bicep/bicepconfig.json);
/// these are the OCSP-specific choices it cannot know: HTTP without redirect, caching, least-privilege scopes, the
/// locked-down storage, the runtime, the app settings.
/// </summary>
public static class BicepInvariants
{
    public static readonly IReadOnlyList<InfraInvariant<ArmTemplate>> All =
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

    public static IReadOnlyList<string> Check(ArmTemplate t, string invariant) =>
        All.Single(i => i.Name == invariant).Check(t).ToList();

    private const string Owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    private const string Contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c";

    // ----- Front Door -------------------------------------------------------------------------------------------

    private static IEnumerable<ArmResource> Routes(ArmTemplate t) => t.OfType("Microsoft.Cdn/profiles/afdEndpoints/routes");

    private static IEnumerable<string> RouteAcceptsHttp(ArmTemplate t)
    {
        if (!Routes(t).Any()) yield return "no Microsoft.Cdn/profiles/afdEndpoints/routes resource";
        foreach (var r in Routes(t))
        {
            var protocols = r.Strings("properties.supportedProtocols");
            if (!protocols.Contains("Http")) yield return $"{r}: supportedProtocols [{string.Join(", ", protocols)}] lacks 'Http' (OCSP is plain HTTP)";
            if (!protocols.Contains("Https")) yield return $"{r}: supportedProtocols lacks 'Https'";
        }
    }

    private static IEnumerable<string> RouteNoHttpsRedirect(ArmTemplate t)
    {
        if (!Routes(t).Any()) yield return "no route resource";
        foreach (var r in Routes(t))
            if (r.Literal("properties.httpsRedirect") != "Disabled")
                yield return $"{r}: httpsRedirect must be 'Disabled' (is {r.Expand("properties.httpsRedirect") ?? "unset"})";
    }

    private static IEnumerable<string> RouteCaching(ArmTemplate t)
    {
        if (!Routes(t).Any()) yield return "no route resource";
        foreach (var r in Routes(t))
        {
            if (r.At("properties.cacheConfiguration") is not { ValueKind: JsonValueKind.Object })
            {
                yield return $"{r}: no cacheConfiguration (caching is off without it)";
                continue;
            }
            if (r.Literal("properties.cacheConfiguration.queryStringCachingBehavior") != "IgnoreQueryString")
                yield return $"{r}: cacheConfiguration.queryStringCachingBehavior must be 'IgnoreQueryString'";
            if (r.At("properties.cacheConfiguration.compressionSettings.isCompressionEnabled") is not null
                && r.Literal("properties.cacheConfiguration.compressionSettings.isCompressionEnabled") != "false")
                yield return $"{r}: compression must be off (DER responses, no-transform)";
        }
    }

    private static IEnumerable<string> RouteMatchesAll(ArmTemplate t)
    {
        foreach (var r in Routes(t))
            if (!r.Strings("properties.patternsToMatch").Contains("/*"))
                yield return $"{r}: patternsToMatch must contain '/*'";
    }

    private static IEnumerable<string> FrontDoorOrigin(ArmTemplate t)
    {
        var profiles = t.OfType("Microsoft.Cdn/profiles").ToList();
        if (profiles.Count == 0) yield return "no Microsoft.Cdn/profiles";
        foreach (var p in profiles)
            if (p.Literal("sku.name") is not ("Standard_AzureFrontDoor" or "Premium_AzureFrontDoor"))
                yield return $"{p}: sku must be Standard_AzureFrontDoor";
        var app = FunctionAppResource(t);
        var origins = t.OfType("Microsoft.Cdn/profiles/originGroups/origins").ToList();
        if (origins.Count == 0) yield return "no origin";
        foreach (var o in origins)
            foreach (var property in new[] { "hostName", "originHostHeader" })
            {
                string value = o.Expand($"properties.{property}") ?? "";
                var m = Regex.Match(value, @"^reference\(resourceId\('Microsoft\.Web/sites', (.+)\), '[\w-]+'\)\.defaultHostName$");
                if (app is null || !m.Success || m.Groups[1].Value != app.Name)
                    yield return $"{o}: {property} must be the function app's defaultHostName (is {value})";
            }
    }

    private static IEnumerable<string> HealthProbe(ArmTemplate t)
    {
        var groups = t.OfType("Microsoft.Cdn/profiles/originGroups").ToList();
        if (groups.Count == 0) yield return "no origin group";
        foreach (var g in groups)
        {
            if (g.Literal("properties.healthProbeSettings.probePath") != "/health") yield return $"{g}: healthProbeSettings.probePath must be '/health'";
            if (g.Literal("properties.healthProbeSettings.probeProtocol") != "Http") yield return $"{g}: healthProbeSettings.probeProtocol must be 'Http'";
            if (g.Literal("properties.healthProbeSettings.probeRequestType") is { } rt && rt != "GET") yield return $"{g}: probeRequestType must be 'GET'";
        }
    }

    // ----- Key Vault ----------------------------------------------------------------------------------------------

    private static IEnumerable<string> KeyType(ArmTemplate t)
    {
        var param = t.Parameter("responderKeyType");
        if (param is null) yield return "no param responderKeyType";
        else
        {
            if (Arm.Str(param, "defaultValue") != "EC-HSM") yield return $"param responderKeyType: default is {Arm.Prop(param, "defaultValue")}, expected 'EC-HSM'";
            var allowed = Arm.Prop(param, "allowedValues") is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray().Select(v => v.ToString()).Order().ToList() : [];
            if (!allowed.SequenceEqual(["EC-HSM", "RSA-HSM"])) yield return $"param responderKeyType: allowed values must be exactly EC-HSM and RSA-HSM (are {string.Join(", ", allowed)})";
        }
        var keys = t.OfType("Microsoft.KeyVault/vaults/keys").ToList();
        if (keys.Count == 0) yield return "no Microsoft.KeyVault/vaults/keys resource";
        foreach (var k in keys)
        {
            string kty = k.Expand("properties.kty") ?? "";
            if (kty != "parameters('responderKeyType')" && kty != "'EC-HSM'" && kty != "'RSA-HSM'") yield return $"{k}: kty must be the responderKeyType parameter (EC-HSM/RSA-HSM), is {kty}";
            if (!(k.Expand("properties.curveName") ?? "").Contains("'P-256'", StringComparison.Ordinal)) yield return $"{k}: curveName must be 'P-256' for EC-HSM";
            if (!(k.Expand("properties.keySize") ?? "").Contains("2048", StringComparison.Ordinal)) yield return $"{k}: keySize must be 2048 for RSA-HSM";
            var ops = k.Strings("properties.keyOps");
            if (!ops.Contains("sign")) yield return $"{k}: keyOps [{string.Join(", ", ops)}] lacks 'sign'";
            foreach (var op in ops.Except(["sign", "verify"])) yield return $"{k}: keyOps contains {op}; a signing key needs only sign/verify";
            if (k.Literal("properties.attributes.exportable") != "false") yield return $"{k}: attributes.exportable must be false";
        }
    }

    private static IEnumerable<string> KeyVault(ArmTemplate t)
    {
        var vaults = t.OfType("Microsoft.KeyVault/vaults").ToList();
        if (vaults.Count == 0) yield return "no Microsoft.KeyVault/vaults";
        foreach (var v in vaults)
        {
            if (v.Literal("properties.sku.name") != "premium") yield return $"{v}: sku.name must be 'premium' (HSM-backed keys)";
            if (v.Literal("properties.enableRbacAuthorization") != "true") yield return $"{v}: enableRbacAuthorization must be true";
            if (v.Literal("properties.enablePurgeProtection") != "true") yield return $"{v}: enablePurgeProtection must be true";
            if (v.Literal("properties.enableSoftDelete") != "true") yield return $"{v}: enableSoftDelete must be true";
            if (v.At("properties.accessPolicies") is not null) yield return $"{v}: access policies are not used with RBAC";
        }
    }

    // ----- Role assignments ---------------------------------------------------------------------------------------

    private static ArmResource? FunctionAppResource(ArmTemplate t) =>
        t.OfType("Microsoft.Web/sites").FirstOrDefault(s => (s.Literal("kind") ?? "").Contains("functionapp", StringComparison.Ordinal));

    /// <summary>The resource id expression of the user-assigned identity the function app runs as (declared in the template).</summary>
    private static string? AppIdentityId(ArmTemplate t)
    {
        if (FunctionAppResource(t) is not { } app || app.At("identity.userAssignedIdentities") is not { ValueKind: JsonValueKind.Object } ids) return null;
        var keys = ids.EnumerateObject().Select(p => t.Expand(p.Name, app.Scope)).ToList();
        foreach (var identity in t.OfType("Microsoft.ManagedIdentity/userAssignedIdentities"))
        {
            string id = $"resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', {identity.Name})";
            if (keys.Count == 1 && keys[0].Contains(id, StringComparison.Ordinal)) return id;
        }
        return null;
    }

    /// <summary>Unconditional role assignments with the role GUID whose principal is the app's identity, with their scope.</summary>
    private static List<(ArmResource Assignment, string Scope)> AppAssignments(ArmTemplate t, string roleGuid)
    {
        string? identity = AppIdentityId(t);
        var result = new List<(ArmResource, string)>();
        foreach (var a in t.OfType("Microsoft.Authorization/roleAssignments"))
        {
            if (a.Conditional || identity is null) continue;
            string principal = a.Expand("properties.principalId") ?? "";
            if (!Regex.IsMatch(principal, $@"^reference\({Regex.Escape(identity)}, '[\w-]+'\)\.principalId$")) continue;
            if (!(a.Expand("properties.roleDefinitionId") ?? "").Contains(roleGuid, StringComparison.OrdinalIgnoreCase)) continue;
            result.Add((a, a.Expand("scope") ?? "<none: the resource group>"));
        }
        return result;
    }

    private static bool ScopedTo(string scope, params string[] types) =>
        types.Any(type => scope.StartsWith($"resourceId('{type}', ", StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<string> RoleCryptoUserOnKey(ArmTemplate t)
    {
        if (AppIdentityId(t) is null) yield return "the function app must run as a user-assigned identity declared in the template";
        var assignments = AppAssignments(t, TerraformInvariants.KeyVaultCryptoUser);
        if (assignments.Count == 0) yield return "no unconditional Key Vault Crypto User assignment for the app's identity";
        else if (!assignments.Any(a => ScopedTo(a.Scope, "Microsoft.KeyVault/vaults/keys")))
            yield return "Key Vault Crypto User must be scoped to the key (a Microsoft.KeyVault/vaults/keys resource), is scoped to "
                         + string.Join(", ", assignments.Select(a => a.Scope));
    }

    private static IEnumerable<string> RoleBlobContributorOnStorage(ArmTemplate t)
    {
        var assignments = AppAssignments(t, TerraformInvariants.StorageBlobDataContributor);
        if (assignments.Count == 0) yield return "no unconditional Storage Blob Data Contributor assignment for the app's identity";
        else if (!assignments.Any(a => ScopedTo(a.Scope, "Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/blobServices/containers")))
            yield return "Storage Blob Data Contributor must be scoped to the storage account or a container, is scoped to "
                         + string.Join(", ", assignments.Select(a => a.Scope));
        foreach (var a in t.OfType("Microsoft.Authorization/roleAssignments"))
        {
            if (a.At("scope") is null) yield return $"{a}: no role assignments at resource-group scope (no 'scope')";
            string role = a.Expand("properties.roleDefinitionId") ?? "";
            if (role.Contains(Owner, StringComparison.OrdinalIgnoreCase) || role.Contains(Contributor, StringComparison.OrdinalIgnoreCase))
                yield return $"{a}: no Owner/Contributor role assignments";
        }
    }

    /// <summary>The CA-side publisher's optional assignment: Blob Data Contributor, scoped to a container (never the account).</summary>
    private static IEnumerable<string> RolePublisherOnPkiContainer(ArmTemplate t)
    {
        var assignments = t.OfType("Microsoft.Authorization/roleAssignments")
            .Where(a => (a.Expand("properties.principalId") ?? "").Contains("publisherPrincipalId", StringComparison.Ordinal)).ToList();
        if (assignments.Count == 0) yield return "no role assignment for publisherPrincipalId";
        foreach (var a in assignments)
        {
            if (!a.Conditional) yield return $"{a}: must be conditional on a publisherPrincipalId being given";
            if (!(a.Expand("properties.roleDefinitionId") ?? "").Contains(TerraformInvariants.StorageBlobDataContributor, StringComparison.OrdinalIgnoreCase))
                yield return $"{a}: the publisher's role must be Storage Blob Data Contributor";
            string scope = a.Expand("scope") ?? "<none: the resource group>";
            if (!ScopedTo(scope, "Microsoft.Storage/storageAccounts/blobServices/containers"))
                yield return $"{a}: the publisher's role must be scoped to the CA-inputs container, is scoped to {scope}";
        }
    }

    // ----- Storage ------------------------------------------------------------------------------------------------

    private static IEnumerable<string> StorageLockedDown(ArmTemplate t)
    {
        var accounts = t.OfType("Microsoft.Storage/storageAccounts").ToList();
        if (accounts.Count == 0) yield return "no storage account";
        foreach (var a in accounts)
        {
            if (a.Literal("properties.allowSharedKeyAccess") != "false") yield return $"{a}: allowSharedKeyAccess must be false";
            if (a.Literal("properties.minimumTlsVersion") != "TLS1_2") yield return $"{a}: minimumTlsVersion must be 'TLS1_2'";
            if (a.Literal("properties.allowBlobPublicAccess") != "false") yield return $"{a}: allowBlobPublicAccess must be false";
            if (a.Literal("properties.supportsHttpsTrafficOnly") != "true") yield return $"{a}: supportsHttpsTrafficOnly must be true";
        }
        var containers = t.OfType("Microsoft.Storage/storageAccounts/blobServices/containers").ToList();
        // The name is format('{0}/{1}/{2}', account, 'default', container): its last argument.
        var names = containers.Select(c => ArmTemplate.Unquote(ArmTemplate.CallArguments(c.Name).LastOrDefault()) ?? c.Name).ToList();
        foreach (var required in new[] { "ocsp", "pki" })
            if (!names.Contains(required)) yield return $"no '{required}' container (have {string.Join(", ", names)})";
        if (containers.Count < 3) yield return "expected the ocsp, pki and Flex deployment containers";
        foreach (var c in containers)
            if (c.Literal("properties.publicAccess") != "None") yield return $"{c}: publicAccess must be 'None'";
    }

    // ----- Function app -------------------------------------------------------------------------------------------

    private static IEnumerable<string> FunctionApp(ArmTemplate t)
    {
        var plans = t.OfType("Microsoft.Web/serverfarms").ToList();
        if (plans.Count == 0 || plans.Any(p => p.Literal("sku.name") != "FC1" || p.Literal("sku.tier") != "FlexConsumption"))
            yield return "the plan must be sku FC1 / FlexConsumption";
        var app = FunctionAppResource(t);
        if (app is null)
        {
            yield return "no Microsoft.Web/sites function app";
            yield break;
        }
        string? identity = AppIdentityId(t);
        if (app.Literal("kind") != "functionapp,linux") yield return $"{app}: kind must be 'functionapp,linux'";
        if (identity is null) yield return $"{app}: identity must be the template's user-assigned identity";
        if (app.Literal("properties.functionAppConfig.runtime.name") != "dotnet-isolated")
            yield return $"{app}: functionAppConfig.runtime.name must be 'dotnet-isolated' (is {app.Expand("properties.functionAppConfig.runtime.name")})";
        if (app.Literal("properties.functionAppConfig.runtime.version") != TerraformInvariants.DotnetVersion)
            yield return $"{app}: functionAppConfig.runtime.version must be '{TerraformInvariants.DotnetVersion}', the .NET the app targets "
                         + $"(is {app.Expand("properties.functionAppConfig.runtime.version")})";
        const string storage = "properties.functionAppConfig.deployment.storage";
        if (app.Literal($"{storage}.type") != "blobContainer") yield return $"{app}: deployment storage type must be 'blobContainer'";
        if (app.Literal($"{storage}.authentication.type") != "UserAssignedIdentity" || app.Expand($"{storage}.authentication.userAssignedIdentityResourceId") != identity)
            yield return $"{app}: deployment storage must authenticate with the app's user-assigned identity";
        if (app.At("properties.functionAppConfig.scaleAndConcurrency") is null) yield return $"{app}: functionAppConfig.scaleAndConcurrency missing";
    }

    /// <summary>App setting names: the keys of the sites/config 'appsettings' object (union(createObject(k, v, …), extra)).</summary>
    public static IReadOnlyList<string> AppSettingNames(ArmTemplate t)
    {
        var config = t.OfType("Microsoft.Web/sites/config").FirstOrDefault(c => c.Name.EndsWith("'appsettings')", StringComparison.Ordinal));
        if (config?.At("properties") is not { } props) return [];
        if (props.ValueKind == JsonValueKind.Object) return props.EnumerateObject().Select(p => p.Name).ToList();
        string expression = props.GetString() ?? "";
        int create = expression.IndexOf("createObject(", StringComparison.Ordinal);
        if (create < 0) return [];
        var args = ArmTemplate.CallArguments(expression[create..]);
        return args.Where((_, i) => i % 2 == 0).Select(a => ArmTemplate.Unquote(a) ?? a).ToList();
    }

    private static IEnumerable<string> AppSettings(ArmTemplate t)
    {
        var names = AppSettingNames(t);
        if (names.Count == 0) yield return "no Microsoft.Web/sites/config 'appsettings' resource with settings";
        foreach (var required in TerraformInvariants.RequiredAppSettings.Except(names)) yield return $"app setting {required} is missing";
        foreach (var forbidden in TerraformInvariants.Forbidden(names)) yield return $"app setting {forbidden} must not be set";
        if (Arm.Str(t.Parameter("refreshSchedule"), "defaultValue") != "0 */5 * * * *") yield return "param refreshSchedule must default to '0 */5 * * * *'";
    }

    // ----- Outputs and secrets ------------------------------------------------------------------------------------

    private static readonly Regex SecretExpression = new(
        @"\blist\w*\s*\(|ConnectionString|InstrumentationKey|primaryKey|secondaryKey|accessKey|\.keys\b|secret",
        RegexOptions.IgnoreCase);

    /// <summary>Beyond the linter's outputs-should-not-contain-secrets: connection strings and keys read as properties.</summary>
    private static IEnumerable<string> NoSecretOutputs(ArmTemplate t)
    {
        foreach (var (name, output, scope) in t.AllOutputs())
        {
            if (Arm.Str(output, "type") is { } type && type.StartsWith("secure", StringComparison.OrdinalIgnoreCase))
                yield return $"output {name} ({scope}): secure outputs are not allowed";
            string value = Arm.Prop(output, "value") is { } v ? t.Expand(v, scope) : "";
            if (SecretExpression.Match(value) is { Success: true } m) yield return $"output {name} ({scope}): the value uses {m.Value} (no secrets in outputs)";
            if (Regex.IsMatch(value, @"'Microsoft\.Web/sites/config'|\.siteConfig\b")) yield return $"output {name} ({scope}): exposes the app settings";
        }
    }

    private static IEnumerable<string> NoSharedKeys(ArmTemplate t)
    {
        if (Regex.IsMatch(t.RawText, @"\blistKeys\s*\(|listConnectionStrings|listAccountSas|listServiceSas|AccountKey=", RegexOptions.IgnoreCase))
            yield return "the template reads storage keys or builds a shared-key connection string; storage access is by managed identity only";
    }

    private static IEnumerable<string> RequiredOutputs(ArmTemplate t)
    {
        var outputs = Arm.Prop(t.Root.Template, "outputs");
        string Value(string name) => Arm.Prop(Arm.Prop(outputs, name), "value") is { } v ? t.Expand(v, t.Root) : "";
        string url = Value("ocspUrl");
        if (url == "") yield return "no output ocspUrl";
        else if (!url.StartsWith("format('http://", StringComparison.Ordinal) && !url.StartsWith("'http://", StringComparison.Ordinal))
            yield return $"output ocspUrl must be an http:// URL (is {url})";
        if (!Regex.IsMatch(Value("keyVaultKeyId"), @"^reference\(resourceId\('Microsoft\.KeyVault/vaults/keys', .+\), '[\w-]+'\)\.keyUri(WithVersion)?$"))
            yield return $"output keyVaultKeyId must be the responder key's keyUri (is {Value("keyVaultKeyId")})";
    }

    private static IEnumerable<string> Alerts(ArmTemplate t)
    {
        var tests = t.OfType("Microsoft.Insights/webtests").ToList();
        if (tests.Count == 0) yield return "no Microsoft.Insights/webtests";
        foreach (var w in tests)
        {
            if (w.Literal("kind") != "standard") yield return $"{w}: kind must be 'standard'";
            string url = w.Expand("properties.Request.RequestUrl") ?? "";
            if (!Regex.IsMatch(url, @"^format\('http://\{0\}/health'|^'http://[^']+/health'$")) yield return $"{w}: the request must be http://…/health (is {url})";
        }
        var testIds = tests.Select(w => $"resourceId('Microsoft.Insights/webtests', {w.Name})").ToHashSet();
        if (!t.OfType("Microsoft.Insights/metricAlerts").Any(a => Arm.Str(a.At("properties.criteria"), "odata.type") == "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria"
                                                                  && testIds.Contains(a.Expand("properties.criteria.webTestId") ?? "")))
            yield return "no metric alert on the /health web test";
        if (!t.OfType("Microsoft.Insights/scheduledQueryRules").Any(a => (a.At("properties.criteria")?.GetRawText() ?? "").Contains("RefreshTimer", StringComparison.Ordinal)))
            yield return "no scheduled query alert on RefreshTimer failures";
    }

    /// <summary>
    /// The vault's Event Grid system topic with a subscription that turns Key Vault's CertificateNearExpiry (and
    /// CertificateExpired) events into Azure Monitor alerts: the responder certificate never expires unnoticed.
    /// </summary>
    private static IEnumerable<string> CertificateNearExpiryAlert(ArmTemplate t)
    {
        var topics = t.OfType("Microsoft.EventGrid/systemTopics").Where(s => s.Literal("properties.topicType") == "Microsoft.KeyVault.vaults").ToList();
        if (topics.Count == 0) yield return "no Event Grid system topic on the Key Vault (topicType Microsoft.KeyVault.vaults)";
        var subscriptions = t.OfType("Microsoft.EventGrid/systemTopics/eventSubscriptions").ToList();
        if (!subscriptions.Any(s => s.Strings("properties.filter.includedEventTypes").Contains("Microsoft.KeyVault.CertificateNearExpiry")
                                    && s.Literal("properties.destination.endpointType") == "MonitorAlert"
                                    && !string.IsNullOrEmpty(s.Literal("properties.destination.properties.severity"))))
            yield return "no event subscription sending Microsoft.KeyVault.CertificateNearExpiry to an Azure Monitor alert (endpointType MonitorAlert, a severity)";
    }
}
