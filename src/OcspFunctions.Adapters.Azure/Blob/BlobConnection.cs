using System.Globalization;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>
/// Pipeline settings for the Blob REST client: exponential retries on 408/429/500/502/503/504, transport errors and
/// per-try network timeouts (Azure.Core's RetryPolicy), and the page size of List Blobs.
/// </summary>
public sealed class BlobClientOptions : ClientOptions
{
    /// <summary>The pinned REST version (accepted by Azure and Azurite 3.37).</summary>
    public const string ServiceVersion = "2025-11-05";

    public BlobClientOptions()
    {
        Retry.Mode = RetryMode.Exponential;
        Retry.MaxRetries = 5;
        Retry.Delay = TimeSpan.FromSeconds(0.5);
        Retry.MaxDelay = TimeSpan.FromSeconds(30);
        Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
    }

    /// <summary>List Blobs page size (maxresults, 1–5000).</summary>
    public int ListPageSize { get; set; } = 5000;
}

/// <summary>
/// One storage account: its blob endpoint and an authenticated Azure.Core pipeline (Shared Key from a connection
/// string, or a bearer token from a <see cref="TokenCredential"/>). The endpoint keeps the account segment for
/// path-style URLs (Azurite: <c>http://127.0.0.1:10000/devstoreaccount1</c>); Azure uses the virtual-host form.
/// </summary>
public sealed class BlobConnection
{
    public const string DevelopmentAccount = "devstoreaccount1";
    public const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    public const string StorageScope = "https://storage.azure.com/.default";

    private BlobConnection(Uri endpoint, HttpPipelinePolicy auth, BlobClientOptions? options)
    {
        options ??= new BlobClientOptions();
        if (options.ListPageSize is < 1 or > 5000) throw new ArgumentOutOfRangeException(nameof(options), "ListPageSize must be 1–5000");
        Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/'));
        ListPageSize = options.ListPageSize;
        Pipeline = HttpPipelineBuilder.Build(options, [], [new StorageHeadersPolicy(), auth], new ResponseClassifier());
    }

    /// <summary>The blob service endpoint, without a trailing slash.</summary>
    public Uri Endpoint { get; }

    internal int ListPageSize { get; }

    internal HttpPipeline Pipeline { get; }

    /// <summary>
    /// Shared Key from a connection string: <c>AccountName</c> + <c>AccountKey</c> with <c>BlobEndpoint</c>, or
    /// <c>DefaultEndpointsProtocol</c> + <c>EndpointSuffix</c>; <c>UseDevelopmentStorage=true</c> is Azurite's default account.
    /// </summary>
    public static BlobConnection FromConnectionString(string connectionString, BlobClientOptions? options = null)
    {
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = segment.IndexOf('=');
            if (eq <= 0) throw new ArgumentException("the Blob connection string is malformed (expected Name=Value pairs separated by ';')");
            parts[segment[..eq].Trim()] = segment[(eq + 1)..].Trim();
        }
        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && bool.TryParse(dev, out bool isDev) && isDev)
        {
            parts.TryAdd("AccountName", DevelopmentAccount);
            parts.TryAdd("AccountKey", DevelopmentKey);
            parts.TryAdd("BlobEndpoint", $"http://127.0.0.1:10000/{DevelopmentAccount}");
        }
        if (parts.ContainsKey("SharedAccessSignature"))
            throw new ArgumentException("SAS connection strings are not supported: use an account key or a managed identity (BlobServiceUri)");
        if (!parts.TryGetValue("AccountName", out var account) || account.Length == 0)
            throw new ArgumentException("the Blob connection string has no AccountName");
        if (!parts.TryGetValue("AccountKey", out var keyText) || keyText.Length == 0)
            throw new ArgumentException("the Blob connection string has no AccountKey");
        byte[] key;
        try
        {
            key = Convert.FromBase64String(keyText);
        }
        catch (FormatException)
        {
            throw new ArgumentException("the Blob connection string's AccountKey is not base64");
        }

        Uri endpoint;
        if (parts.TryGetValue("BlobEndpoint", out var blobEndpoint))
        {
            if (!Uri.TryCreate(blobEndpoint, UriKind.Absolute, out endpoint!) || endpoint.Scheme is not ("http" or "https"))
                throw new ArgumentException("the Blob connection string's BlobEndpoint is not an http(s) URL");
        }
        else
        {
            string protocol = parts.GetValueOrDefault("DefaultEndpointsProtocol", "https");
            string suffix = parts.GetValueOrDefault("EndpointSuffix", "core.windows.net");
            endpoint = new Uri($"{protocol}://{account}.blob.{suffix}");
        }
        return new BlobConnection(endpoint, new SharedKeyPolicy(account, key), options);
    }

    /// <summary>A bearer token (managed identity, workload identity, developer sign-in) for scope https://storage.azure.com/.default.</summary>
    public static BlobConnection FromTokenCredential(Uri endpoint, TokenCredential credential, BlobClientOptions? options = null) =>
        new(endpoint, new BearerTokenAuthenticationPolicy(credential, StorageScope), options);

    internal static void ValidateContainer(string container)
    {
        // 3–63 characters: lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
        bool ok = container.Length is >= 3 and <= 63
                  && container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
                  && container[0] != '-' && container[^1] != '-' && !container.Contains("--", StringComparison.Ordinal);
        if (!ok) throw new ArgumentException($"'{container}' is not a valid Blob container name");
    }

    /// <summary>A request to <c>{endpoint}/{container}[/{blob}][?{query}]</c>; each blob name segment is escaped.</summary>
    internal HttpMessage CreateMessage(RequestMethod method, string container, string? blob, string? query = null)
    {
        var message = Pipeline.CreateMessage();
        message.Request.Method = method;
        string path = blob is null ? container : container + "/" + string.Join('/', blob.Split('/').Select(Uri.EscapeDataString));
        message.Request.Uri.Reset(new Uri($"{Endpoint.AbsoluteUri}/{path}{(query is null ? "" : "?" + query)}"));
        return message;
    }

    /// <summary>Sends through the pipeline (retries included); the message owns the response.</summary>
    internal async Task<Response> SendAsync(HttpMessage message, CancellationToken cancellationToken)
    {
        await Pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        return message.Response;
    }

    /// <summary>Exceptions the pipeline throws when the service could not be reached (after its retries).</summary>
    internal static bool IsTransportFailure(Exception e, CancellationToken cancellationToken) =>
        e is RequestFailedException or AggregateException or IOException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>"HTTP 403 AuthenticationFailed": the status and the service's x-ms-error-code, nothing else from the request.</summary>
    internal static string Describe(Response response) =>
        string.Create(CultureInfo.InvariantCulture, $"HTTP {response.Status}{(ErrorCode(response) is { } code ? " " + code : "")}");

    internal static string? ErrorCode(Response response) =>
        response.Headers.TryGetValue("x-ms-error-code", out var code) && !string.IsNullOrEmpty(code) ? code : null;

    internal static string? Header(Response response, string name) =>
        response.Headers.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    internal static DateTimeOffset? LastModified(Response response) =>
        Header(response, "Last-Modified") is { } text
        && DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : null;
}
