using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Protocol;

/// <summary>
/// Writes signed OCSP responses (RFC 6960 §4.2.1, profile of RFC 9919 §3.2): ResponderID byKey, times as
/// YYYYMMDDHHMMSSZ, nextUpdate always present, the delegated responder certificate in <c>certs</c>.
/// The parts that never change per responder are encoded once.
/// </summary>
public sealed class OcspResponseWriter
{
    private static readonly Asn1Tag Ctx0 = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag Ctx1 = new(TagClass.ContextSpecific, 1, isConstructed: true);
    private static readonly Asn1Tag Ctx2 = new(TagClass.ContextSpecific, 2, isConstructed: true);

    private readonly byte[] _responderId;
    private readonly byte[]? _certs;
    private readonly byte[] _extendedRevokeExtensions;

    /// <param name="responderCertificate">The certificate of the key that signs (delegated responder or the CA itself).</param>
    /// <param name="includeCertificate">RFC 9919 §3.2.2: a delegated responder's certificate MUST be in certs; the CA's may be left out.</param>
    public OcspResponseWriter(X509Certificate2 responderCertificate, IOcspSigner signer, bool includeCertificate = true)
    {
        Signer = signer;
        ResponderKeyHash = SHA1.HashData(responderCertificate.PublicKey.EncodedKeyValue.RawData);

        // ResponderID byKey [2] EXPLICIT KeyHash (SHA-1 of the subjectPublicKey value, RFC 6960 §4.2.1).
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence(Ctx2);
        w.WriteOctetString(ResponderKeyHash);
        w.PopSequence(Ctx2);
        _responderId = w.Encode();

        if (includeCertificate)
        {
            w = new AsnWriter(AsnEncodingRules.DER);
            w.PushSequence(Ctx0);
            w.PushSequence();
            w.WriteEncodedValue(responderCertificate.RawData);
            w.PopSequence();
            w.PopSequence(Ctx0);
            _certs = w.Encode();
        }

        // responseExtensions [1] EXPLICIT { extended-revoke, non-critical, NULL } (RFC 6960 §4.4.8).
        w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence(Ctx1);
        w.PushSequence();
        w.PushSequence();
        w.WriteObjectIdentifier(Oids.OcspExtendedRevoke);
        w.WriteOctetString([0x05, 0x00]);
        w.PopSequence();
        w.PopSequence();
        w.PopSequence(Ctx1);
        _extendedRevokeExtensions = w.Encode();
    }

    public IOcspSigner Signer { get; }

    /// <summary>SHA-1 of the responder's subjectPublicKey: the byKey ResponderID.</summary>
    public byte[] ResponderKeyHash { get; }

    /// <summary>Builds, signs and wraps a complete successful OCSPResponse.</summary>
    public async ValueTask<byte[]> WriteAsync(IReadOnlyList<SingleResponse> responses, DateTimeOffset producedAt,
        bool extendedRevoke = false, CancellationToken cancellationToken = default)
    {
        byte[] tbs = EncodeResponseData(responses, producedAt, extendedRevoke);
        byte[] signature = await Signer.SignAsync(tbs, cancellationToken).ConfigureAwait(false);
        return Assemble(tbs, signature);
    }

    /// <summary>
    /// The certs field every BasicOCSPResponse of this writer carries (<c>[0] EXPLICIT SEQUENCE OF Certificate</c>), empty when
    /// the responder certificate is left out. The stored form keeps it once per pack instead of in every response.
    /// </summary>
    public ReadOnlyMemory<byte> CertificatesField => _certs ?? [];

    /// <summary>
    /// Builds and signs the stored form of a response: the BasicOCSPResponse without its certs field. <see cref="Wrap"/>
    /// puts the certificates and the OCSPResponse envelope around it when it is served; the signature covers only
    /// ResponseData, so both forms carry the same signed bytes (RFC 6960 §4.2.1).
    /// </summary>
    public async ValueTask<byte[]> WriteStoredFormAsync(IReadOnlyList<SingleResponse> responses, DateTimeOffset producedAt,
        bool extendedRevoke = false, CancellationToken cancellationToken = default)
    {
        byte[] tbs = EncodeResponseData(responses, producedAt, extendedRevoke);
        byte[] signature = await Signer.SignAsync(tbs, cancellationToken).ConfigureAwait(false);
        return StoredForm(tbs, signature);
    }

    /// <summary>
    /// BasicOCSPResponse without certs: tbsResponseData, signatureAlgorithm, signature — the DER written straight into the
    /// result (one per response in a refresh: no writer, no second copy).
    /// </summary>
    private byte[] StoredForm(byte[] responseData, byte[] signature)
    {
        var algorithm = Signer.Algorithm.AlgorithmIdentifier;
        int bitString = signature.Length + 1; // the unused-bits octet, then the signature
        int content = responseData.Length + algorithm.Length + 1 + DerLength.Size(bitString) + bitString;
        var der = new byte[1 + DerLength.Size(content) + content];
        int pos = 0;
        der[pos++] = 0x30;
        DerLength.Write(der, ref pos, content);
        responseData.CopyTo(der, pos);
        pos += responseData.Length;
        algorithm.CopyTo(der, pos);
        pos += algorithm.Length;
        der[pos++] = 0x03;
        DerLength.Write(der, ref pos, bitString);
        der[pos++] = 0x00;
        signature.CopyTo(der, pos);
        return der;
    }

    /// <summary>
    /// The complete OCSPResponse for a stored form (a BasicOCSPResponse without certs) and the certs field to put back
    /// (empty for none). A stored form that is not tbsResponseData, signatureAlgorithm, signature is a
    /// <see cref="MalformedResponseException"/>.
    /// </summary>
    public static byte[] Wrap(ReadOnlySpan<byte> storedForm, ReadOnlySpan<byte> certificatesField)
    {
        try
        {
            AsnDecoder.ReadSequence(storedForm, AsnEncodingRules.DER, out int offset, out int length, out int consumed);
            if (consumed != storedForm.Length) throw new MalformedResponseException("stored response has trailing data");
            var content = storedForm.Slice(offset, length);
            var w = new AsnWriter(AsnEncodingRules.DER, initialCapacity: storedForm.Length + certificatesField.Length + 48);
            w.PushSequence();                                  // OCSPResponse
            w.WriteEnumeratedValue(OcspResponseStatus.Successful);
            w.PushSequence(Ctx0);                              // responseBytes [0] EXPLICIT
            w.PushSequence();                                  // ResponseBytes
            w.WriteObjectIdentifier(Oids.OcspBasic);
            w.PushOctetString();
            w.PushSequence();                                  // BasicOCSPResponse
            for (int fields = 0; !content.IsEmpty; fields++)
            {
                if (fields == 3) throw new MalformedResponseException("stored response has more than tbsResponseData, signatureAlgorithm, signature");
                AsnDecoder.ReadEncodedValue(content, AsnEncodingRules.DER, out _, out _, out int fieldLength);
                w.WriteEncodedValue(content[..fieldLength]);
                content = content[fieldLength..];
            }
            if (!certificatesField.IsEmpty) w.WriteEncodedValue(certificatesField);
            w.PopSequence();
            w.PopOctetString();
            w.PopSequence();
            w.PopSequence(Ctx0);
            w.PopSequence();
            return w.Encode();
        }
        catch (Exception e) when (e is AsnContentException or ArgumentException)
        {
            throw new MalformedResponseException($"stored response is not DER: {e.Message}", e);
        }
    }

    /// <summary>The DER of ResponseData — what the signature covers. Version v1 is the DEFAULT and omitted.</summary>
    public byte[] EncodeResponseData(IReadOnlyList<SingleResponse> responses, DateTimeOffset producedAt, bool extendedRevoke = false)
    {
        if (responses.Count == 0) throw new ArgumentException("a response needs at least one SingleResponse");
        foreach (var single in responses)
        {
            if (single.NextUpdate is not { } nextUpdate) throw new ArgumentException("nextUpdate is mandatory (RFC 5019 §2.2.4)");
            if (nextUpdate <= single.ThisUpdate) throw new ArgumentException("nextUpdate must be after thisUpdate");
        }
        return ResponseDataEncoder.Encode(_responderId, responses, producedAt, extendedRevoke ? _extendedRevokeExtensions : []);
    }

    /// <summary>Wraps ResponseData and its signature into BasicOCSPResponse, ResponseBytes and OCSPResponse.</summary>
    public byte[] Assemble(byte[] responseData, byte[] signature) => Wrap(StoredForm(responseData, signature), CertificatesField.Span);
}
