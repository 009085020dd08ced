using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Core;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// The managed-identity path (BearerTokenAuthenticationPolicy) against Azurite over HTTPS with <c>--oauth basic</c>,
/// which checks the token's issuer, audience and lifetime. No identity endpoint exists here, so a stand-in
/// <see cref="TokenCredential"/> mints unsigned tokens shaped like Entra ID's and records the scopes asked for.
/// </summary>
public sealed class BlobBearerTokenTests(AzuriteOAuthFixture azurite) : IClassFixture<AzuriteOAuthFixture>
{
    private sealed class FakeCredential(string audience) : TokenCredential
    {
        public ConcurrentQueue<string> Scopes { get; } = new();

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var scope in requestContext.Scopes) Scopes.Enqueue(scope);
            var now = DateTimeOffset.UtcNow;
            string Part(object o) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(o)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            string token = Part(new { alg = "none", typ = "JWT" }) + "." + Part(new
            {
                aud = audience,
                iss = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
                iat = now.AddMinutes(-1).ToUnixTimeSeconds(),
                nbf = now.AddMinutes(-1).ToUnixTimeSeconds(),
                exp = now.AddHours(1).ToUnixTimeSeconds(),
                oid = "00000000-0000-0000-0000-000000000002",
            }) + ".c2ln";
            return new AccessToken(token, now.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    [Fact]
    public async Task A_token_for_the_storage_scope_is_sent_as_a_bearer_and_accepted()
    {
        var credential = new FakeCredential("https://storage.azure.com");
        var handler = new RecordingHandler();
        var connection = BlobConnection.FromTokenCredential(azurite.Endpoint, credential, azurite.Options(handler));
        var store = new BlobObjectStore(connection, azurite.NewContainer("bearer"));

        await store.PutAsync("responses/sha1/AA/01", "r"u8.ToArray(), CancellationToken.None);
        Assert.Equal("r"u8.ToArray(), (await store.GetAsync("responses/sha1/AA/01", CancellationToken.None))!.Content);
        Assert.NotNull(await store.PutAsync("m", "1"u8.ToArray(), PutCondition.Absent, CancellationToken.None));
        await using (var lease = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(1), CancellationToken.None))
            Assert.NotNull(lease);

        Assert.All(credential.Scopes, s => Assert.Equal("https://storage.azure.com/.default", s));
        Assert.NotEmpty(credential.Scopes);
        Assert.All(handler.Tries, t => Assert.StartsWith("Bearer ey", t.Headers["Authorization"], StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_for_another_audience_is_refused()
    {
        var connection = BlobConnection.FromTokenCredential(azurite.Endpoint, new FakeCredential("https://vault.azure.net"), azurite.Options());
        var e = await Assert.ThrowsAsync<StoreException>(() => new BlobObjectStore(connection, "ocsp").PutAsync("m", "1"u8.ToArray(), CancellationToken.None));
        Assert.Contains("HTTP 403 AuthenticationFailed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_factory_uses_a_token_credential_for_a_service_uri()
    {
        var options = new BlobStoreOptions { BlobServiceUri = "https://acct.blob.core.windows.net", ManagedIdentityClientId = "00000000-0000-0000-0000-000000000003" };
        Assert.Equal("https://acct.blob.core.windows.net/", AzureAdapters.CreateConnection(options).Endpoint.AbsoluteUri);
        Assert.IsType<BlobObjectStore>(AzureAdapters.CreateStore(options));
    }
}
