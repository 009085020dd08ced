using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// A PKCS#10 CertificationRequest (RFC 2986) for the delegated responder key, signed by the key itself through any
/// <see cref="IOcspSigner"/>: a Key Vault key (the private key never leaves the vault) or a local key file. The
/// CertificationRequestInfo is written here: subject, the signer's SubjectPublicKeyInfo, and an extensionRequest
/// (PKCS#9, 1.2.840.113549.1.9.14) for the responder profile: EKU id-kp-OCSPSigning, KeyUsage digitalSignature
/// (critical), id-pkix-ocsp-nocheck (NULL, non-critical). The CA decides what it really puts in the certificate.
/// </summary>
public static class ResponderCsr
{
    private const string ExtensionRequestOid = "1.2.840.113549.1.9.14";
    private const string OcspSigningOid = "1.3.6.1.5.5.7.3.9";
    private const string OcspNoCheckOid = "1.3.6.1.5.5.7.48.1.5";

    /// <summary>The extensions requested for a delegated OCSP responder certificate.</summary>
    public static IReadOnlyList<X509Extension> ResponderExtensions() =>
    [
        new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true),
        new X509EnhancedKeyUsageExtension([new Oid(OcspSigningOid)], critical: false),
        new X509Extension(OcspNoCheckOid, [0x05, 0x00], critical: false),
    ];

    /// <summary>Builds and signs the request; returns its DER.</summary>
    public static async Task<byte[]> CreateAsync(IOcspSigner signer, X500DistinguishedName subject, CancellationToken cancellationToken = default)
    {
        var spki = await signer.GetSubjectPublicKeyInfoAsync(cancellationToken).ConfigureAwait(false);
        var info = EncodeRequestInfo(subject, spki, ResponderExtensions());
        var signature = await signer.SignAsync(info, cancellationToken).ConfigureAwait(false);

        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.WriteEncodedValue(info);
        w.WriteEncodedValue(signer.Algorithm.AlgorithmIdentifier);
        w.WriteBitString(signature);
        w.PopSequence();
        return w.Encode();
    }

    /// <summary>The request for a local responder key file (PEM or DER PKCS#8; RSA PKCS#1 or PSS, EC P-256/P-384).</summary>
    public static async Task<byte[]> CreateForKeyFileAsync(string keyPath, X500DistinguishedName subject, bool usePss = false, string? password = null,
        CancellationToken cancellationToken = default)
    {
        using var signer = LocalKeySigner.FromFile(keyPath, usePss, password);
        return await CreateAsync(signer, subject, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PEM "CERTIFICATE REQUEST".</summary>
    public static string ToPem(byte[] der) => new string(PemEncoding.Write("CERTIFICATE REQUEST", der)) + "\n";

    /// <summary>CertificationRequestInfo ::= SEQUENCE { version 0, subject, subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute }.</summary>
    public static byte[] EncodeRequestInfo(X500DistinguishedName subject, byte[] subjectPublicKeyInfo, IReadOnlyList<X509Extension> extensions)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.WriteInteger(0);
        w.WriteEncodedValue(subject.RawData);
        w.WriteEncodedValue(subjectPublicKeyInfo);
        var attributes = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        w.PushSetOf(attributes);
        if (extensions.Count > 0)
        {
            w.PushSequence();
            w.WriteObjectIdentifier(ExtensionRequestOid);
            w.PushSetOf();
            w.PushSequence(); // Extensions ::= SEQUENCE OF Extension
            foreach (var extension in extensions)
            {
                w.PushSequence();
                w.WriteObjectIdentifier(extension.Oid!.Value!);
                if (extension.Critical) w.WriteBoolean(true);
                w.WriteOctetString(extension.RawData);
                w.PopSequence();
            }
            w.PopSequence();
            w.PopSetOf();
            w.PopSequence();
        }
        w.PopSetOf(attributes);
        w.PopSequence();
        return w.Encode();
    }
}
