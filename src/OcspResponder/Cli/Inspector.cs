using System.Security.Cryptography.X509Certificates;
using System.Text;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Crl;
using OcspFunctions.Protocol.Signing;

namespace OcspResponder.Cli;

/// <summary>Human-readable dumps of OCSP requests, OCSP responses and CRLs (DER or PEM).</summary>
public static class Inspector
{
    /// <summary>The readable dump; names and other text the file carries are escaped for the terminal (<see cref="Printable"/>).</summary>
    public static string Describe(byte[] file, int maxEntries = 20)
    {
        try
        {
            return Printable.EscapeLines(DescribeUnescaped(file, maxEntries));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(Printable.Escape(e.Message), e);
        }
    }

    private static string DescribeUnescaped(byte[] file, int maxEntries)
    {
        if (file.AsSpan().IndexOf("-----BEGIN X509 CRL-----"u8) >= 0) return DescribeCrl(CertificateRevocationList.Decode(file), maxEntries);
        byte[] der = Unpem(file) ?? file;
        var errors = new List<string>();
        try { return DescribeResponse(OcspResponse.Decode(der)); }
        catch (MalformedResponseException e) { errors.Add("response: " + e.Message); }
        try { return DescribeRequest(OcspRequest.Decode(der.AsMemory(), int.MaxValue)); }
        catch (MalformedRequestException e) { errors.Add("request: " + e.Message); }
        try { return DescribeCrl(CertificateRevocationList.Decode(der), maxEntries); }
        catch (CrlException e) { errors.Add("CRL: " + e.Message); }
        try { return DescribePack(der, maxEntries); }
        catch (MalformedResponseException e) { errors.Add("response pack: " + e.Message); }
        throw new InvalidDataException("not an OCSP request, OCSP response, CRL or response pack (" + string.Join("; ", errors) + ")");
    }

    private static byte[]? Unpem(byte[] file)
    {
        string text = Encoding.ASCII.GetString(file);
        if (!text.Contains("-----BEGIN", StringComparison.Ordinal)) return null;
        var pem = System.Security.Cryptography.PemEncoding.Find(text);
        return Convert.FromBase64String(text[pem.Base64Data]);
    }

    public static string DescribeRequest(OcspRequest request)
    {
        var sb = new StringBuilder("OCSP request\n");
        sb.AppendLine($"  signed: {(request.IsSigned ? "yes" : "no")}");
        sb.AppendLine($"  nonce: {(request.Nonce is { } n ? Convert.ToHexString(n) : "none")}");
        foreach (var r in request.Requests) AppendCertId(sb, r.CertId, "  ");
        return sb.ToString();
    }

    public static string DescribeResponse(OcspResponse response)
    {
        var sb = new StringBuilder("OCSP response\n");
        sb.AppendLine($"  status: {response.Status}");
        if (response.Basic is not { } basic) return sb.ToString();
        sb.AppendLine(basic.ResponderKeyHash is { } key ? $"  responder id (byKey): {Convert.ToHexString(key)}" : $"  responder id (byName): {basic.ResponderName!.Name}");
        sb.AppendLine($"  produced at: {Time(basic.ProducedAt)}");
        foreach (var single in basic.Responses)
        {
            AppendCertId(sb, single.CertId, "  ");
            sb.AppendLine($"    status: {single.Status}");
            sb.AppendLine($"    this update: {Time(single.ThisUpdate)}");
            sb.AppendLine($"    next update: {(single.NextUpdate is { } nu ? Time(nu) : "none")}");
        }
        if (basic.HasExtendedRevoke) sb.AppendLine("  extended-revoke: present");
        if (basic.Nonce is { } nonce) sb.AppendLine($"  nonce: {Convert.ToHexString(nonce)}");
        sb.AppendLine($"  signature algorithm: {SignatureVerifier.AlgorithmName(basic.SignatureAlgorithm)}");
        foreach (var cert in basic.Certificates)
        {
            bool signer = basic.IsResponder(cert);
            sb.AppendLine($"  certificate: {cert.Subject} (issuer {cert.Issuer}, until {Time(cert.NotAfter.ToUniversalTime())})" +
                          (signer ? $", signature {(basic.VerifySignature(cert) ? "verifies" : "DOES NOT verify")}" : ""));
        }
        return sb.ToString();
    }

    /// <summary>A store pack (issuers/{id}/packs/…): each response as served, the first <paramref name="maxEntries"/> in full.</summary>
    public static string DescribePack(byte[] pack, int maxEntries)
    {
        var sb = new StringBuilder();
        int count = 0;
        foreach (var (offset, der) in OcspFunctions.Engine.Store.ResponsePacks.Enumerate(pack))
        {
            if (count++ >= maxEntries) continue;
            sb.Append($"at offset {offset}: ").Append(DescribeResponse(OcspResponse.Decode(der)));
        }
        if (count > maxEntries) sb.AppendLine($"… and {count - maxEntries} more");
        return $"response pack: {count} responses\n" + sb;
    }

    public static string DescribeCrl(CertificateRevocationList crl, int maxEntries)
    {
        var sb = new StringBuilder(crl.IsDelta ? "delta CRL\n" : "CRL\n");
        sb.AppendLine($"  issuer: {crl.Issuer.Name}");
        sb.AppendLine($"  version: v{crl.Version}");
        sb.AppendLine($"  CRL number: {(crl.CrlNumber?.ToString() ?? "none")}");
        if (crl.DeltaCrlIndicator is { } baseNumber) sb.AppendLine($"  base CRL number: {baseNumber}");
        sb.AppendLine($"  this update: {Time(crl.ThisUpdate)}");
        sb.AppendLine($"  next update: {(crl.NextUpdate is { } nu ? Time(nu) : "none")}");
        if (crl.AuthorityKeyIdentifier is { } aki) sb.AppendLine($"  authority key id: {Convert.ToHexString(aki)}");
        sb.AppendLine($"  signature algorithm: {SignatureVerifier.AlgorithmName(crl.SignatureAlgorithm)}");
        int count = 0;
        foreach (var entry in crl.RevokedCertificates)
        {
            if (count++ < maxEntries)
            {
                sb.Append($"  revoked {Convert.ToHexString(entry.SerialNumberBytes)} at {Time(entry.RevocationDate)}");
                if (entry.Reason is { } reason) sb.Append($" ({reason})");
                if (entry.InvalidityDate is { } inv) sb.Append($" invalid since {Time(inv)}");
                sb.AppendLine();
            }
        }
        if (count > maxEntries) sb.AppendLine($"  … {count - maxEntries} more");
        sb.AppendLine($"  entries: {count}");
        return sb.ToString();
    }

    private static void AppendCertId(StringBuilder sb, CertId id, string indent)
    {
        sb.AppendLine($"{indent}certificate id ({(id.HashAlgorithm == CertIdHashAlgorithm.Unsupported ? id.HashAlgorithmOid : id.HashAlgorithm.Name())}):");
        sb.AppendLine($"{indent}  serial: {id.SerialNumber}");
        sb.AppendLine($"{indent}  issuer name hash: {Convert.ToHexString(id.IssuerNameHash)}");
        sb.AppendLine($"{indent}  issuer key hash: {Convert.ToHexString(id.IssuerKeyHash)}");
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Time(DateTime t) => Time(new DateTimeOffset(t, TimeSpan.Zero));
}
