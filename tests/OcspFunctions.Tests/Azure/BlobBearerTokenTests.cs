using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Core;
using Azure.Identity;
using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Tests.Azure;

/// <summary>
/// The service-URI path (the SDK's bearer-token policy) as <see cref="BlobStorage"/> builds it, against Azurite over
/// HTTPS with <c>--oauth basic</c>, which checks the token's issuer, audience and lifetime. No identity endpoint
/// exists here (no managed identity, no Entra ID), so a stand-in <see cref="TokenCredential"/> mints unsigned tokens
/// shaped like Entra ID's and records the scopes asked for; which credential production uses is checked by type.
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

    private BlobStorage Storage(TokenCredential credential, string container, RecordingHandler? handler = null) =>
        new(new BlobStoreOptions { BlobServiceUri = azurite.Endpoint.AbsoluteUri, BlobContainer = container }, azurite.Options(handler), credential);

    [Fact]
    public async Task A_token_for_the_storage_scope_is_sent_as_a_bearer_and_accepted()
    {
        var credential = new FakeCredential("https://storage.azure.com");
        var handler = new RecordingHandler();
        var storage = Storage(credential, azurite.NewContainer("bearer"), handler);
        Assert.Same(credential, storage.Credential);
        var store = storage.CreateStore();

        await store.PutAsync("responses/sha1/AA/01", "r"u8.ToArray(), CancellationToken.None);
        Assert.Equal("r"u8.ToArray(), (await store.GetAsync("responses/sha1/AA/01", CancellationToken.None))!.Content);
        Assert.NotNull(await store.PutAsync("m", "1"u8.ToArray(), PutCondition.Absent, CancellationToken.None));
        await using (var lease = await store.TryAcquireLeaseAsync(StoreLayout.RefreshLock, TimeSpan.FromMinutes(1), CancellationToken.None))
            Assert.NotNull(lease);
        var fetch = await storage.CreateSourceReader().FetchAsync($"blob:{store.Container}/m", null, 100, CancellationToken.None);
        Assert.Equal("1"u8.ToArray(), fetch.Content);

        Assert.NotEmpty(credential.Scopes);
        Assert.All(credential.Scopes, s => Assert.Equal(BlobStorage.StorageScope, s));
        Assert.NotEmpty(handler.Tries);
        Assert.All(handler.Tries, t => Assert.StartsWith("Bearer ey", t.Headers["Authorization"], StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_for_another_audience_is_refused()
    {
        var store = Storage(new FakeCredential("https://vault.azure.net"), "ocsp").CreateStore();
        var e = await Assert.ThrowsAsync<StoreException>(() => store.PutAsync("m", "1"u8.ToArray(), CancellationToken.None));
        Assert.Contains("HTTP 403 AuthenticationFailed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_service_uri_gets_the_managed_identity_it_names_or_the_default_credential_and_must_be_https()
    {
        var userAssigned = new BlobStorage(new BlobStoreOptions
        {
            BlobServiceUri = "https://acct.blob.core.windows.net",
            ManagedIdentityClientId = "00000000-0000-0000-0000-000000000003",
        });
        Assert.Equal("https://acct.blob.core.windows.net/", userAssigned.Service.Uri.AbsoluteUri);
        Assert.Equal("acct", userAssigned.Service.AccountName);
        Assert.IsType<ManagedIdentityCredential>(userAssigned.Credential);
        Assert.IsType<DefaultAzureCredential>(new BlobStorage(new BlobStoreOptions { BlobServiceUri = "https://acct.blob.core.windows.net" }).Credential);
        Assert.IsType<BlobObjectStore>(AzureAdapters.CreateStore(new BlobStoreOptions { BlobServiceUri = "https://acct.blob.core.windows.net" }));

        // A bearer token never travels in clear text.
        var http = Assert.Throws<ArgumentException>(() => new BlobStorage(new BlobStoreOptions { BlobServiceUri = "http://acct.blob.core.windows.net" }));
        Assert.Contains("https", http.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => AzureAdapters.CreateSourceReader(new BlobStoreOptions { BlobServiceUri = "http://127.0.0.1:10000/devstoreaccount1" }));
        Assert.Throws<ArgumentException>(() => new BlobStorage(new BlobStoreOptions { BlobServiceUri = "not a uri" }));
        Assert.Throws<ArgumentException>(() => new BlobStorage(new BlobStoreOptions()));
    }
}
