using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>Sets <c>x-ms-version</c> and a fresh <c>x-ms-date</c> on every try (a retry is signed again with a new date).</summary>
internal sealed class StorageHeadersPolicy : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        message.Request.Headers.SetValue("x-ms-version", BlobClientOptions.ServiceVersion);
        message.Request.Headers.SetValue("x-ms-date", DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// Shared Key authorization (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key):
/// <c>Authorization: SharedKey {account}:{base64 HMAC-SHA256(key, StringToSign)}</c>. Runs after
/// <see cref="StorageHeadersPolicy"/> so x-ms-date is part of what is signed.
/// </summary>
internal sealed class SharedKeyPolicy(string account, byte[] key) : HttpPipelineSynchronousPolicy
{
    private static readonly string[] StandardHeaders =
        ["Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
         "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range"];

    public override void OnSendingRequest(HttpMessage message)
    {
        string signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(StringToSign(message.Request, account))));
        message.Request.Headers.SetValue("Authorization", $"SharedKey {account}:{signature}");
    }

    internal static string StringToSign(Request request, string account)
    {
        var text = new StringBuilder(request.Method.Method).Append('\n');
        foreach (var name in StandardHeaders)
        {
            string value;
            if (name == "Content-Length")
            {
                // Empty when there is no body or it is empty (versions since 2015-02-21).
                long length = 0;
                if (request.Content is { } content && !content.TryComputeLength(out length)) length = -1;
                value = length > 0 ? length.ToString(CultureInfo.InvariantCulture) : "";
            }
            else
            {
                value = request.Headers.TryGetValue(name, out var v) ? v : "";
            }
            text.Append(value).Append('\n');
        }

        // Canonicalized headers: every x-ms-* header, lower-cased and sorted, "name:value\n".
        foreach (var header in request.Headers
                     .Where(h => h.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
                     .Select(h => (Name: h.Name.ToLowerInvariant(), Value: h.Value.Trim()))
                     .OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            text.Append(header.Name).Append(':').Append(header.Value).Append('\n');
        }

        // Canonicalized resource: "/{account}{escaped path}" (path-style URLs repeat the account), then each query
        // parameter, lower-cased name and decoded values, sorted: "\nname:v1,v2".
        var uri = request.Uri.ToUri();
        text.Append('/').Append(account).Append(uri.AbsolutePath.Length > 0 ? uri.AbsolutePath : "/");
        var query = uri.Query.TrimStart('?');
        if (query.Length > 0)
        {
            var parameters = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('=', 2))
                .GroupBy(p => Uri.UnescapeDataString(p[0]).ToLowerInvariant(), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "")
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var parameter in parameters)
                text.Append('\n').Append(parameter.Key).Append(':').Append(string.Join(',', parameter.Order(StringComparer.Ordinal)));
        }
        return text.ToString();
    }
}
