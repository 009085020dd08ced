using System.Globalization;
using System.Text.RegularExpressions;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Clients;

/// <summary>curl GET (RFC 5019 §5 / RFC 9919 §6) in the path forms clients really send, and POST; bodies verified by openssl.</summary>
[Collection("pki")]
public sealed partial class CurlTests(TestPki pki)
{
    [GeneratedRegex(@"max-age=(\d+)")]
    private static partial Regex MaxAge();

    [Fact]
    public async Task Curl_get_in_raw_percent_encoded_and_double_slash_forms_for_sha1_and_sha256_certids()
    {
        string curl = ExternalTool.Curl;
        await using var aia = await AiaPki.StartAsync(pki, "curl-get");
        string dir = aia.Directory;
        int n = 0;
        foreach (var (hash, leaf, status) in new[] { ("-sha1", aia.Good, "good"), ("-sha256", aia.Good, "good"), ("-sha256", aia.Revoked, "revoked") })
        {
            string request = Path.Combine(dir, $"req{++n}.der");
            OpenSsl.Run(dir, "ocsp", hash, "-issuer", aia.CaCertPath, "-cert", leaf.PemPath, "-no_nonce", "-reqout", request);
            string b64 = Convert.ToBase64String(File.ReadAllBytes(request));
            string encoded = b64.Replace("+", "%2B", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal)
                .Replace("=", "%3D", StringComparison.Ordinal);
            foreach (var (form, path) in new[] { ("raw", "/" + b64), ("percent-encoded", "/" + encoded), ("windows //", "//" + b64) })
            {
                string headers = Path.Combine(dir, $"h{++n}.txt"), body = Path.Combine(dir, $"r{n}.der");
                var get = ExternalTool.Run(curl, dir, "-sS", "--fail", "--path-as-is", "-D", headers, "-o", body, $"http://127.0.0.1:{aia.Port}{path}");
                Assert.True(get.ExitCode == 0, $"{hash} {form}: {get}");
                AssertVerifies(aia, body, hash, leaf, status, $"{hash} {form}");
                AssertCacheableHeaders(File.ReadAllText(headers), $"{hash} {form}");
            }

            // POST with curl too.
            string posted = Path.Combine(dir, $"post{n}.der");
            var post = ExternalTool.Run(curl, dir, "-sS", "--fail", "-H", "Content-Type: application/ocsp-request", "--data-binary", "@" + request,
                "-o", posted, aia.Url);
            Assert.True(post.ExitCode == 0, post.ToString());
            AssertVerifies(aia, posted, hash, leaf, status, $"{hash} POST");
        }
    }

    private static void AssertVerifies(AiaPki aia, string body, string hash, AiaLeaf leaf, string status, string what)
    {
        // The digest option before -cert makes openssl look the answer up by a CertID of that hash.
        var verify = OpenSsl.Run(aia.Directory, ["ocsp", "-respin", body, "-CAfile", aia.CaCertPath, "-issuer", aia.CaCertPath, hash, "-cert", leaf.PemPath,
            "-no_nonce"], check: false);
        Assert.True(verify.Output.Contains("Response verify OK", StringComparison.Ordinal), $"{what}: {verify}");
        Assert.True(verify.StdOut.Contains($"{leaf.PemPath}: {status}", StringComparison.Ordinal), $"{what}: {verify}");
    }

    private static void AssertCacheableHeaders(string raw, string what)
    {
        var lines = raw.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines[0].StartsWith("HTTP/1.1 200", StringComparison.Ordinal), $"{what}: {raw}");
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("application/ocsp-response", headers["Content-Type"]);
        string cacheControl = headers["Cache-Control"];
        var directives = cacheControl.Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains("public", directives);
        Assert.Contains("no-transform", directives);
        Assert.Contains("must-revalidate", directives);
        long maxAge = long.Parse(MaxAge().Match(cacheControl).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(maxAge, 60, 3600);
        Assert.Matches("^\"[0-9a-f]{64}\"$", headers["ETag"]);
        foreach (var name in new[] { "Last-Modified", "Expires", "Date" })
        {
            string value = headers[name];
            Assert.EndsWith(" GMT", value, StringComparison.Ordinal);
            Assert.True(DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _), $"{name}: {value}");
        }
        var lastModified = DateTimeOffset.ParseExact(headers["Last-Modified"], "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var expires = DateTimeOffset.ParseExact(headers["Expires"], "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.True(expires > DateTimeOffset.UtcNow && lastModified <= DateTimeOffset.UtcNow.AddMinutes(1), $"{what}: {raw}");
        Assert.True(long.Parse(headers["Content-Length"], CultureInfo.InvariantCulture) > 0, raw);
    }
}
