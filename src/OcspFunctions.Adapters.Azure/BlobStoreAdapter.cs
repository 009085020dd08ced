using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.Azure;

/// <summary>The Blob store's settings, under <c>Ocsp:Store</c> (the names the app settings have always used).</summary>
public sealed class BlobStoreOptions
{
    /// <summary>A storage connection string (shared key; "UseDevelopmentStorage=true" for Azurite).</summary>
    public string? BlobConnectionString { get; set; }

    /// <summary>The service endpoint (https://ACCOUNT.blob.core.windows.net) used with a managed identity / DefaultAzureCredential.</summary>
    public string? BlobServiceUri { get; set; }

    /// <summary>The container holding responses and state.</summary>
    public string BlobContainer { get; set; } = "ocsp";

    /// <summary>The user-assigned managed identity's client id, when not the system-assigned one (Key Vault uses it too).</summary>
    public string? ManagedIdentityClientId { get; set; }

    public bool IsBlob => !string.IsNullOrWhiteSpace(BlobConnectionString) || !string.IsNullOrWhiteSpace(BlobServiceUri);
}

/// <summary>Registers Blob storage: selected by <c>Store:BlobServiceUri</c> or <c>Store:BlobConnectionString</c>; also reads <c>blob:</c> sources.</summary>
public sealed class BlobStoreAdapter : StoreAdapter<BlobStoreOptions>
{
    public override string SelectedBy => "BlobServiceUri or BlobConnectionString (Azure Blob storage)";

    protected override bool Selects(BlobStoreOptions options) => options.IsBlob;

    protected override IObjectStore CreateStore(BlobStoreOptions options) => AzureAdapters.CreateStore(options);

    protected override string Describe(BlobStoreOptions options) => $"Blob container '{options.BlobContainer}'";

    protected override ISourceReader? CreateSourceReader(BlobStoreOptions options) => AzureAdapters.CreateSourceReader(options);
}
