using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OcspFunctions.Benchmarks;

/// <summary>Throw-away CA and responder certificates made with <see cref="CertificateRequest"/>.</summary>
internal static class TestPki
{
    public static AsymmetricAlgorithm CreateKey(string kind) => kind switch
    {
        "P-256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        "P-384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        "RSA-2048" => RSA.Create(2048),
        _ => throw new ArgumentException($"unknown key kind {kind}"),
    };

    public static CertificateRequest Request(string subject, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
        _ => throw new ArgumentException("unsupported key"),
    };

    /// <summary>A self-signed CA certificate (with its private key) able to sign certificates and CRLs.</summary>
    public static X509Certificate2 CreateCa(AsymmetricAlgorithm key, string subject = "CN=OcspFunctions Bench CA, O=Bench")
    {
        var req = Request(subject, key);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return req.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
    }

    /// <summary>A delegated OCSP responder certificate for <paramref name="responderKey"/>, issued by <paramref name="ca"/>.</summary>
    public static X509Certificate2 CreateResponder(X509Certificate2 ca, AsymmetricAlgorithm responderKey)
    {
        var req = Request("CN=OcspFunctions Bench Responder", responderKey);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.9")], false));
        req.CertificateExtensions.Add(new X509Extension("1.3.6.1.5.5.7.48.1.5", [0x05, 0x00], false)); // id-pkix-ocsp-nocheck
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        return req.Create(ca, now.AddDays(-1), now.AddDays(90), serial);
    }

    /// <summary>A positive, minimally encoded 16-byte serial (top bit clear, first octet non-zero).</summary>
    public static void FillSerial(Span<byte> serial, Random random)
    {
        random.NextBytes(serial);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
    }
}
