using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Protocol;

public enum FindingSeverity { Warning, Error }

public sealed record Finding(FindingSeverity Severity, string Code, string Message)
{
    public override string ToString() => $"{Severity.ToString().ToLowerInvariant()} {Code}: {Message}";
}

/// <summary>
/// Checks that a certificate may sign OCSP responses for a CA (RFC 6960 §4.2.2.2, CA/B BR §7.1.2.8):
/// either it is the CA itself, or a delegated responder issued by the CA's <i>key</i> with id-kp-OCSPSigning,
/// digitalSignature, id-pkix-ocsp-nocheck, inside its validity window.
/// </summary>
public static class ResponderCertificateCheck
{
    public static readonly TimeSpan DefaultExpiryWarning = TimeSpan.FromDays(30);

    /// <param name="minimumValidity">Error when the certificate expires sooner than this (it could not cover a response).</param>
    public static IReadOnlyList<Finding> Check(X509Certificate2 responder, X509Certificate2 ca, DateTimeOffset now,
        TimeSpan? minimumValidity = null, TimeSpan? expiryWarning = null)
    {
        var findings = new List<Finding>();
        void Error(string code, string message) => findings.Add(new Finding(FindingSeverity.Error, code, message));
        void Warn(string code, string message) => findings.Add(new Finding(FindingSeverity.Warning, code, message));

        var notBefore = new DateTimeOffset(responder.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(responder.NotAfter.ToUniversalTime());
        if (now < notBefore) Error("not-yet-valid", $"responder certificate is valid only from {notBefore:u}");
        if (now >= notAfter) Error("expired", $"responder certificate expired at {notAfter:u}");
        else if (minimumValidity is { } min && notAfter - now < min)
            Error("expires-too-soon", $"responder certificate expires at {notAfter:u}, before a {min.TotalHours:0.#} h response could end");
        else if (notAfter - now < (expiryWarning ?? DefaultExpiryWarning))
            Warn("expires-soon", $"responder certificate expires at {notAfter:u}; issue a new one");

        bool isCa = responder.PublicKey.EncodedKeyValue.RawData.AsSpan().SequenceEqual(ca.PublicKey.EncodedKeyValue.RawData);
        if (isCa)
        {
            // The CA signs its own responses: authorised by definition (RFC 6960 §4.2.2.2, first case).
            Warn("ca-signs", "the CA key signs responses directly; a delegated responder keeps the CA key offline");
            return findings;
        }

        if (!responder.IssuerName.RawData.AsSpan().SequenceEqual(ca.SubjectName.RawData))
            Error("issuer-name", $"responder certificate issuer '{responder.Issuer}' is not the CA '{ca.Subject}'");
        if (!IsSignedBy(responder, ca))
            Error("not-issued-by-ca-key", "responder certificate's signature does not verify with the CA's key (RFC 6960 §4.2.2.2: same key, not just same name)");

        var eku = responder.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        var purposes = eku?.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToList() ?? [];
        if (!purposes.Contains(Oids.KpOcspSigning))
            Error("eku", "responder certificate lacks the id-kp-OCSPSigning extended key usage");
        else if (purposes.Count > 1)
            Warn("eku-extra", "responder certificate has extended key usages besides OCSPSigning (CA/B BR §7.1.2.8.4)");

        var keyUsage = responder.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (keyUsage is not null && !keyUsage.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature))
            Error("key-usage", "responder certificate's key usage lacks digitalSignature");

        var noCheck = responder.Extensions[Oids.OcspNoCheck];
        if (noCheck is null)
            Warn("nocheck", "responder certificate lacks id-pkix-ocsp-nocheck; clients may try to check its own revocation (RFC 6960 §4.2.2.2.1)");
        else if (noCheck.Critical || !noCheck.RawData.AsSpan().SequenceEqual((ReadOnlySpan<byte>)[0x05, 0x00]))
            Warn("nocheck-form", "id-pkix-ocsp-nocheck should be non-critical with value NULL (CA/B BR §7.1.2.8.6)");

        if (responder.Extensions[Oids.CrlDistributionPoints] is not null)
            Warn("crl-dp", "responder certificate carries CRL distribution points (CA/B BR §7.1.2.8 forbids them)");
        return findings;
    }

    /// <summary>Whether <paramref name="certificate"/>'s signature verifies with <paramref name="issuer"/>'s public key.</summary>
    public static bool IsSignedBy(X509Certificate2 certificate, X509Certificate2 issuer)
    {
        try
        {
            var reader = new AsnReader(certificate.RawData, AsnEncodingRules.DER);
            var cert = reader.ReadSequence();
            var tbs = cert.ReadEncodedValue();
            var algorithm = cert.ReadEncodedValue();
            var signature = cert.ReadBitString(out _);
            return SignatureVerifier.Verify(algorithm.Span, tbs.Span, signature, issuer.PublicKey);
        }
        catch (Exception e) when (DecodeErrors.IsDecodeFailure(e))
        {
            return false;
        }
    }
}
