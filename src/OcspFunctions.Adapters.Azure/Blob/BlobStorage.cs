using System.Globalization;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using OcspFunctions.Engine;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>
/// One storage account, as <see cref="BlobStoreOptions"/> name it: a single <see cref="BlobServiceClient"/> (its pipeline,
/// credential and token cache) that the store and the <c>blob:</c> source reader share. The composition root builds
/// one per configuration.
/// </summary>
public sealed class BlobStorage
{
    public const string StorageScope = "https://storage.azure.com/.default";

    private readonly BlobStoreOptions _options;

    /// <summary>
    /// <see cref="BlobStoreOptions.BlobConnectionString"/> (Shared Key; <c>UseDevelopmentStorage=true</c> is Azurite) when
    /// set, else <see cref="BlobStoreOptions.BlobServiceUri"/> (https only) with <paramref name="credential"/>, by default a
    /// managed identity (user-assigned when <see cref="BlobStoreOptions.ManagedIdentityClientId"/> is set) or
    /// DefaultAzureCredential. The SDK's default service version is used (no pin).
    /// </summary>
    public BlobStorage(BlobStoreOptions options, BlobClientOptions? clientOptions = null, TokenCredential? credential = null)
    {
        ValidateContainer(options.BlobContainer);
        _options = options;
        clientOptions ??= DefaultClientOptions();
        if (!string.IsNullOrWhiteSpace(options.BlobConnectionString))
        {
            Service = FromConnectionString(options.BlobConnectionString, clientOptions);
            return;
        }
        if (string.IsNullOrWhiteSpace(options.BlobServiceUri))
            throw new ArgumentException("Blob storage needs Ocsp:Store:BlobConnectionString or Ocsp:Store:BlobServiceUri");
        if (!Uri.TryCreate(options.BlobServiceUri, UriKind.Absolute, out var endpoint) || endpoint.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Ocsp:Store:BlobServiceUri '{options.BlobServiceUri}' is not an https URL");
        Credential = credential ?? CredentialFor(options);
        Service = new BlobServiceClient(endpoint, Credential, clientOptions);
    }

    public BlobServiceClient Service { get; }

    /// <summary>The token credential for a service URI; null with a connection string (Shared Key).</summary>
    public TokenCredential? Credential { get; }

    /// <summary>The store in <see cref="BlobStoreOptions.BlobContainer"/>.</summary>
    public BlobObjectStore CreateStore(TimeProvider? time = null) => new(Service.GetBlobContainerClient(_options.BlobContainer), time: time);

    /// <summary>Reads <c>blob:CONTAINER/NAME</c> sources in the same account with the same credentials.</summary>
    public BlobSourceReader CreateSourceReader() => new(Service);

    /// <summary>Uploads the CA side's inputs (the <c>publish</c> verb) with the same credentials.</summary>
    public BlobPublishTarget CreatePublishTarget() => new(Service);

    /// <summary>Exponential retries on 408/429/500/502/503/504, transport errors and per-try network time-outs.</summary>
    public static BlobClientOptions DefaultClientOptions()
    {
        var options = new BlobClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 5;
        options.Retry.Delay = TimeSpan.FromSeconds(0.5);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(30);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        return options;
    }

    /// <summary>The managed identity the options name (user-assigned by client id), else DefaultAzureCredential.</summary>
    private static TokenCredential CredentialFor(BlobStoreOptions options) =>
        string.IsNullOrWhiteSpace(options.ManagedIdentityClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(options.ManagedIdentityClientId));

    private static BlobServiceClient FromConnectionString(string connectionString, BlobClientOptions clientOptions)
    {
        try
        {
            return new BlobServiceClient(connectionString, clientOptions);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's message can quote the string, key included: name the problem only.
            throw new ArgumentException($"Ocsp:Store:BlobConnectionString is not a valid storage connection string ({e.GetType().Name})");
        }
    }

    internal static void ValidateContainer(string container)
    {
        // 3–63 characters: lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
        bool ok = container.Length is >= 3 and <= 63
                  && container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
                  && container[0] != '-' && container[^1] != '-' && !container.Contains("--", StringComparison.Ordinal);
        if (!ok) throw new ArgumentException($"'{container}' is not a valid Blob container name");
    }

    /// <summary>"HTTP 403 AuthorizationFailure": the status and the service's error code, nothing from the request.</summary>
    internal static string Describe(RequestFailedException e) =>
        e.Status == 0
            ? e.Message
            : string.Create(CultureInfo.InvariantCulture, $"HTTP {e.Status}{(string.IsNullOrEmpty(e.ErrorCode) ? "" : " " + e.ErrorCode)}");

    /// <summary>What the SDK throws when the service failed or could not be reached (after its retries).</summary>
    internal static bool IsServiceFailure(Exception e, CancellationToken cancellationToken) =>
        e is RequestFailedException or AggregateException or IOException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    internal static string DescribeFailure(Exception e) => e is RequestFailedException r ? Describe(r) : e.Message;
}
