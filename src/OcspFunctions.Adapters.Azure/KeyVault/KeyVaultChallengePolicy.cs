using global::Azure.Core;
using global::Azure.Core.Pipeline;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// Key Vault's challenge-based bearer authentication on Azure.Core's <see cref="BearerTokenAuthenticationPolicy"/>
/// (the behaviour of the Key Vault SDK's ChallengeBasedAuthenticationPolicy, written anew):
/// <list type="number">
/// <item>Until a challenge is known, the request goes out without a token and without its body (a vault may ask for
/// a scheme that protects the body too; nothing is sent unprotected).</item>
/// <item>Key Vault answers 401 with <c>WWW-Authenticate: Bearer authorization="https://login…/TENANT",
/// resource="https://vault.azure.net"</c> (a Managed HSM names <c>https://managedhsm.azure.net</c>; or
/// <c>scope="…/.default"</c>). The scope is resource + "/.default" or
/// scope; the tenant is the first path segment of authorization (authorization_uri).</item>
/// <item>The scope's host must be a parent domain of the vault's host (unless verification is turned off), so a
/// lookalike endpoint cannot obtain a token for another resource.</item>
/// <item>The body is restored, a token is fetched for that scope and tenant (Azure.Core caches and refreshes it), and
/// the base policy sends the request again. Later requests are authorized up front.</item>
/// </list>
/// </summary>
public sealed class KeyVaultChallengePolicy : BearerTokenAuthenticationPolicy
{
    private const string StashedContent = "OcspFunctions.KeyVault.StashedContent";
    private readonly bool _verifyResource;
    private volatile Challenge? _challenge;

    public KeyVaultChallengePolicy(TokenCredential credential, bool verifyChallengeResource = true)
        : base(credential, Array.Empty<string>())
    {
        _verifyResource = verifyChallengeResource;
    }

    /// <summary>The scope and tenant the last challenge named, or null before the first one.</summary>
    public (string Scope, string? TenantId)? CurrentChallenge => _challenge is { } c ? (c.Scope, c.TenantId) : null;

    private sealed record Challenge(string Scope, string? TenantId);

    protected override ValueTask AuthorizeRequestAsync(HttpMessage message) => AuthorizeAsync(message, async: true);

    protected override void AuthorizeRequest(HttpMessage message) => AuthorizeAsync(message, async: false).AsTask().GetAwaiter().GetResult();

    protected override ValueTask<bool> AuthorizeRequestOnChallengeAsync(HttpMessage message) => OnChallengeAsync(message, async: true);

    protected override bool AuthorizeRequestOnChallenge(HttpMessage message) => OnChallengeAsync(message, async: false).AsTask().GetAwaiter().GetResult();

    private async ValueTask AuthorizeAsync(HttpMessage message, bool async)
    {
        if (message.Request.Uri.Scheme != Uri.UriSchemeHttps)
            throw new InvalidOperationException("Key Vault bearer tokens are only sent over https");
        if (_challenge is { } challenge)
        {
            await AuthenticateAsync(message, challenge, async).ConfigureAwait(false);
            return;
        }
        if (!message.TryGetProperty(StashedContent, out _))
        {
            message.SetProperty(StashedContent, message.Request.Content ?? (object)DBNull.Value);
            message.Request.Content = null;
        }
    }

    private async ValueTask<bool> OnChallengeAsync(HttpMessage message, bool async)
    {
        if (message.TryGetProperty(StashedContent, out var stashed))
        {
            message.Request.Content = stashed as RequestContent;
        }
        message.Response.Headers.TryGetValue("WWW-Authenticate", out string? header);
        var parameters = AuthenticationChallenge.Parse(header, "Bearer");
        string? scope = null;
        if (parameters is not null)
        {
            if (parameters.TryGetValue("resource", out var resource) && resource.Length > 0) scope = resource.TrimEnd('/') + "/.default";
            else if (parameters.TryGetValue("scope", out var s) && s.Length > 0) scope = s;
        }
        if (scope is null)
        {
            // Not a Key Vault challenge (e.g. a CAE claims challenge without a scope): let the 401 stand.
            return false;
        }
        if (_verifyResource)
        {
            string host = message.Request.Uri.Host ?? "";
            if (!Uri.TryCreate(scope, UriKind.Absolute, out var scopeUri))
                throw new InvalidOperationException($"the Key Vault challenge names an invalid scope '{scope}'");
            if (!host.EndsWith("." + scopeUri.Host, StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException(
                    $"the Key Vault challenge resource '{scopeUri.Host}' is not a parent domain of the vault host '{host}'; " +
                    "refusing to obtain a token for it (check the vault URL)");
        }
        string? tenant = null;
        if (parameters!.TryGetValue("authorization", out var authorization) || parameters.TryGetValue("authorization_uri", out authorization))
        {
            if (!Uri.TryCreate(authorization, UriKind.Absolute, out var authorizationUri))
                throw new InvalidOperationException($"the Key Vault challenge authorization URI '{authorization}' is invalid");
            string first = authorizationUri.AbsolutePath.Trim('/').Split('/')[0];
            tenant = first.Length > 0 ? first : null;
        }
        var challenge = new Challenge(scope, tenant);
        _challenge = challenge;
        await AuthenticateAsync(message, challenge, async).ConfigureAwait(false);
        return true;
    }

    private async ValueTask AuthenticateAsync(HttpMessage message, Challenge challenge, bool async)
    {
        var context = new TokenRequestContext([challenge.Scope], parentRequestId: message.Request.ClientRequestId, tenantId: challenge.TenantId);
        if (async) await AuthenticateAndAuthorizeRequestAsync(message, context).ConfigureAwait(false);
        else AuthenticateAndAuthorizeRequest(message, context);
    }
}
