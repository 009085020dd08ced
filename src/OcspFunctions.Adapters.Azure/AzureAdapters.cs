using System.Runtime.CompilerServices;
using Azure.Core;
using Azure.Identity;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.Azure;

/// <summary>What the host calls when <see cref="BlobStoreOptions.IsBlob"/>: the Blob store and the <c>blob:</c> source reader.</summary>
public static class AzureAdapters
{
    /// <summary>
    /// The account connection: <see cref="BlobStoreOptions.BlobConnectionString"/> (Shared Key) when set, else
    /// <see cref="BlobStoreOptions.BlobServiceUri"/> with a managed identity (user-assigned when
    /// <see cref="BlobStoreOptions.ManagedIdentityClientId"/> is set) or DefaultAzureCredential.
    /// </summary>
    public static BlobConnection CreateConnection(BlobStoreOptions options, BlobClientOptions? clientOptions = null, TokenCredential? credential = null)
    {
        if (!string.IsNullOrWhiteSpace(options.BlobConnectionString))
            return BlobConnection.FromConnectionString(options.BlobConnectionString, clientOptions);
        if (string.IsNullOrWhiteSpace(options.BlobServiceUri))
            throw new ArgumentException("Blob storage needs Ocsp:Store:BlobConnectionString or Ocsp:Store:BlobServiceUri");
        if (!Uri.TryCreate(options.BlobServiceUri, UriKind.Absolute, out var endpoint) || endpoint.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Ocsp:Store:BlobServiceUri '{options.BlobServiceUri}' is not an https URL");
        credential ??= string.IsNullOrWhiteSpace(options.ManagedIdentityClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(options.ManagedIdentityClientId));
        return BlobConnection.FromTokenCredential(endpoint, credential, clientOptions);
    }

    /// <summary>One connection (pipeline, credential and its token cache) per options object, shared by the store and the reader.</summary>
    private static readonly ConditionalWeakTable<BlobStoreOptions, BlobConnection> Connections = new();

    public static IObjectStore CreateStore(BlobStoreOptions options) =>
        new BlobObjectStore(Connections.GetValue(options, o => CreateConnection(o)), options.BlobContainer);

    /// <summary>Reads <c>blob:CONTAINER/NAME</c> sources with the store's account and credentials.</summary>
    public static ISourceReader CreateSourceReader(BlobStoreOptions options) =>
        new BlobSourceReader(Connections.GetValue(options, o => CreateConnection(o)));
}
