using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol;

namespace OcspResponder.Cli;

/// <summary>
/// An OCSP client in the spirit of <c>openssl ocsp</c>: sends one request (GET by default, as RFC 5019 clients do;
/// POST on request), then checks the answer the way a relying party must (RFC 6960 §3.2, §4.2.2.2).
/// </summary>
public static class QueryCommand
{
    public sealed record Options(string Url, string IssuerPath, string? CertPath, string? SerialHex, bool Post, CertIdHashAlgorithm Hash, bool Nonce);

    /// <summary>Exit codes: 0 only for a verified, current good; 1 any other answer; 2 usage or transport errors.</summary>
    public static async Task<int> RunAsync(Options o, HttpClient http, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(o.IssuerPath);
        var issuer = new OcspIssuer(ca);
        SerialNumber serial;
        if (o.CertPath is not null)
        {
            var cert = X509CertificateLoader.LoadCertificateFromFile(o.CertPath);
            serial = SerialNumber.FromIntegerContents(cert.SerialNumberBytes.Span);
        }
        else if (o.SerialHex is not null) serial = SerialNumber.ParseHex(o.SerialHex);
        else
        {
            error.WriteLine("query: give --cert CERT.pem or --serial HEX");
            return 2;
        }
        var certId = issuer.CertIdFor(serial, o.Hash);
        byte[]? nonce = o.Nonce ? RandomNumberGenerator.GetBytes(32) : null;
        byte[] request = OcspRequest.Encode([certId], nonce);

        HttpResponseMessage httpResponse;
        try
        {
            if (o.Post)
            {
                var content = new ByteArrayContent(request);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
                httpResponse = await http.PostAsync(o.Url, content, cancellationToken);
            }
            else
            {
                httpResponse = await http.GetAsync(o.Url.TrimEnd('/') + "/" + OcspGetPath.Encode(request), cancellationToken);
            }
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"query: {o.Url}: {e.Message}");
            return 2;
        }
        using var _ = httpResponse;
        var body = await httpResponse.Content.ReadAsByteArrayAsync(cancellationToken);
        output.WriteLine($"{(o.Post ? "POST" : "GET")} {o.Url}: HTTP {(int)httpResponse.StatusCode}, {body.Length} bytes, " +
                         $"Cache-Control: {httpResponse.Headers.CacheControl?.ToString() ?? "-"}");
        if (!httpResponse.IsSuccessStatusCode) return 1;

        OcspResponse response;
        try
        {
            response = OcspResponse.Decode(body);
        }
        catch (MalformedResponseException e)
        {
            output.WriteLine($"response: unreadable ({e.Message})");
            return 1;
        }
        output.WriteLine($"response status: {response.Status}");
        if (response.Basic is not { } basic) return 1;

        var single = basic.Responses.FirstOrDefault(r => r.CertId.Equals(certId));
        if (single is null)
        {
            output.WriteLine("no SingleResponse for the requested CertID");
            return 1;
        }
        var now = DateTimeOffset.UtcNow;
        output.WriteLine($"serial {serial}: {single.Status}");
        output.WriteLine($"  this update: {single.ThisUpdate:u}");
        output.WriteLine($"  next update: {(single.NextUpdate is { } n ? n.ToString("u") : "none")}");
        output.WriteLine($"  produced at: {basic.ProducedAt:u}");

        // Who signed, and may they? The CA itself, or a certificate issued by the CA's key with OCSPSigning.
        X509Certificate2? signer = basic.IsResponder(ca) ? ca : basic.Certificates.FirstOrDefault(basic.IsResponder);
        bool signatureOk = signer is not null && basic.VerifySignature(signer);
        bool authorized = signer is not null && (ReferenceEquals(signer, ca)
            || ResponderCertificateCheck.Check(signer, ca, now).All(f => f.Severity != FindingSeverity.Error));
        output.WriteLine($"  responder: {(signer is null ? "not found among the certificates" : signer.Subject)}" +
                         (ReferenceEquals(signer, ca) ? " (the CA itself)" : signer is null ? "" : " (delegated)"));
        output.WriteLine($"  signature: {(signatureOk ? "verifies" : "DOES NOT verify")}");
        output.WriteLine($"  responder authorised: {(authorized ? "yes" : "NO")}");
        bool current = single.ThisUpdate <= now.AddMinutes(5) && single.NextUpdate is { } next && next > now;
        if (!current) output.WriteLine("  NOT current: thisUpdate in the future or nextUpdate passed");
        if (nonce is not null)
            output.WriteLine(basic.Nonce is null ? "  nonce: not echoed (a pre-produced response; RFC 5019 §2.2.1)"
                : $"  nonce: {(basic.Nonce.AsSpan().SequenceEqual(nonce) || basic.Nonce.AsSpan().EndsWith(nonce) ? "matches" : "DOES NOT match")}");
        return signatureOk && authorized && current && single.Status.Kind == CertStatusKind.Good ? 0 : 1;
    }
}
