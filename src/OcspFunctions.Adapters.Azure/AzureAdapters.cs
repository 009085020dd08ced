using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.Azure;

/// <summary>What the host calls when <see cref="BlobStoreOptions.IsBlob"/>: the Blob store and the <c>blob:</c> source reader.</summary>
public static class AzureAdapters
{
    /// <summary>
    /// The account's client, built once: take the store and the source reader from it so they share one pipeline and
    /// credential (<see cref="BlobStorage.CreateStore"/>, <see cref="BlobStorage.CreateSourceReader"/>).
    /// </summary>
    public static BlobStorage CreateBlobStorage(BlobStoreOptions options) => new(options);

    /// <summary>A store with a client of its own (prefer <see cref="CreateBlobStorage"/> when the reader is needed too).</summary>
    public static IObjectStore CreateStore(BlobStoreOptions options) => CreateBlobStorage(options).CreateStore();

    /// <summary>Reads <c>blob:CONTAINER/NAME</c> sources with the store's account and credentials, through a client of its own.</summary>
    public static ISourceReader CreateSourceReader(BlobStoreOptions options) => CreateBlobStorage(options).CreateSourceReader();
}
