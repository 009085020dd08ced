using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OcspFunctions.Tests.Pki;

/// <summary>An extension as written into a hand-made CRL; BOOLEAN critical is omitted when false (DER DEFAULT).</summary>
public sealed record CrlExtension(string Oid, bool Critical, byte[] Value);

public sealed record CrlEntry(byte[] Serial, IReadOnlyList<CrlExtension> Extensions);

/// <summary>
/// v2 CRLs written field by field and signed with a CA key (ECDSA or RSA, SHA-256), for shapes openssl will not make:
/// unknown critical extensions, delta CRLs with removeFromCRL.
/// </summary>
public static class HandWrittenCrl
{
    public static byte[] Sign(X509Certificate2 ca, AsymmetricAlgorithm key, IEnumerable<CrlEntry> entries, IEnumerable<CrlExtension> crlExtensions)
    {
        byte[] algorithm = Convert.FromHexString(key is RSA ? "300d06092a864886f70d01010b0500" : "300a06082a8648ce3d040302");
        var now = DateTimeOffset.UtcNow;
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.WriteInteger(1);
        w.WriteEncodedValue(algorithm);
        w.WriteEncodedValue(ca.SubjectName.RawData);
        w.WriteUtcTime(now.AddMinutes(-5));
        w.WriteUtcTime(now.AddDays(1));
        w.PushSequence();
        foreach (var entry in entries)
        {
            w.PushSequence();
            w.WriteIntegerUnsigned(entry.Serial);
            w.WriteUtcTime(now.AddHours(-1));
            if (entry.Extensions.Count > 0) WriteExtensions(w, entry.Extensions);
            w.PopSequence();
        }
        w.PopSequence();
        var extensions = crlExtensions.ToList();
        if (extensions.Count > 0)
        {
            var ctx0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            w.PushSequence(ctx0);
            WriteExtensions(w, extensions);
            w.PopSequence(ctx0);
        }
        w.PopSequence();
        byte[] tbs = w.Encode();
        byte[] signature = key switch
        {
            RSA rsa => rsa.SignData(tbs, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => ec.SignData(tbs, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
            _ => throw new ArgumentException("RSA or ECDSA key expected"),
        };
        var list = new AsnWriter(AsnEncodingRules.DER);
        list.PushSequence();
        list.WriteEncodedValue(tbs);
        list.WriteEncodedValue(algorithm);
        list.WriteBitString(signature);
        list.PopSequence();
        return list.Encode();
    }

    /// <summary>An extension whose value is a DER INTEGER (cRLNumber, deltaCRLIndicator).</summary>
    public static CrlExtension Integer(string oid, long value, bool critical = false)
    {
        var inner = new AsnWriter(AsnEncodingRules.DER);
        inner.WriteInteger(value);
        return new CrlExtension(oid, critical, inner.Encode());
    }

    private static void WriteExtensions(AsnWriter w, IEnumerable<CrlExtension> extensions)
    {
        w.PushSequence();
        foreach (var extension in extensions)
        {
            w.PushSequence();
            w.WriteObjectIdentifier(extension.Oid);
            if (extension.Critical) w.WriteBoolean(true);
            w.WriteOctetString(extension.Value);
            w.PopSequence();
        }
        w.PopSequence();
    }
}
