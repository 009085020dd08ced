using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Protocol;

/// <summary>An OCSPResponse read with strict DER (RFC 6960 §4.2.1). Failures are <see cref="MalformedResponseException"/>.</summary>
public sealed class OcspResponse
{
    private OcspResponse(OcspResponseStatus status, BasicOcspResponse? basic)
    {
        Status = status;
        Basic = basic;
    }

    public OcspResponseStatus Status { get; }

    /// <summary>The signed body; present exactly when <see cref="Status"/> is successful.</summary>
    public BasicOcspResponse? Basic { get; }

    public static OcspResponse Decode(ReadOnlyMemory<byte> der)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var seq = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            var status = seq.ReadEnumeratedValue<OcspResponseStatus>();
            if (!Enum.IsDefined(status)) throw new FormatException($"unknown response status {(int)status}");
            if (!seq.HasData)
            {
                if (status == OcspResponseStatus.Successful) throw new FormatException("successful response without responseBytes");
                return new OcspResponse(status, null);
            }
            if (status != OcspResponseStatus.Successful) throw new FormatException("error response with responseBytes");
            var bytes = seq.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence();
            seq.ThrowIfNotEmpty();
            string type = bytes.ReadObjectIdentifier();
            if (type != Oids.OcspBasic) throw new FormatException($"unsupported response type {type}");
            var basic = BasicOcspResponse.Decode(bytes.ReadOctetString());
            bytes.ThrowIfNotEmpty();
            return new OcspResponse(status, basic);
        }
        catch (Exception e) when (e is not MalformedResponseException && DecodeErrors.IsDecodeFailure(e))
        {
            throw new MalformedResponseException($"malformed OCSP response: {e.Message}", e);
        }
    }
}

/// <summary>BasicOCSPResponse with its ResponseData fields.</summary>
public sealed class BasicOcspResponse
{
    private static readonly Asn1Tag Ctx0 = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag Ctx1 = new(TagClass.ContextSpecific, 1, isConstructed: true);
    private static readonly Asn1Tag Ctx2 = new(TagClass.ContextSpecific, 2, isConstructed: true);

    private BasicOcspResponse() { }

    /// <summary>The DER of ResponseData — what the signature covers.</summary>
    public byte[] ResponseData { get; private init; } = [];

    /// <summary>byKey: SHA-1 of the responder's subjectPublicKey; null when the responder is named byName.</summary>
    public byte[]? ResponderKeyHash { get; private init; }

    /// <summary>byName: the responder's Name; null when byKey.</summary>
    public X500DistinguishedName? ResponderName { get; private init; }

    public DateTimeOffset ProducedAt { get; private init; }

    public IReadOnlyList<SingleResponse> Responses { get; private init; } = [];

    public byte[]? Nonce { get; private init; }

    public bool HasExtendedRevoke { get; private init; }

    public byte[] SignatureAlgorithm { get; private init; } = [];

    public byte[] Signature { get; private init; } = [];

    /// <summary>
    /// The certs field, loaded on first use: an X509Certificate2 holds native memory until finalized, and a server that
    /// decodes a response to check its CertID (every store read) never needs it. A certificate that cannot be loaded is
    /// a <see cref="MalformedResponseException"/> here.
    /// </summary>
    public IReadOnlyList<X509Certificate2> Certificates
    {
        get
        {
            if (_certificates is { } loaded) return loaded;
            try
            {
                var certificates = _encodedCertificates.Select(c => X509CertificateLoader.LoadCertificate(c.Span)).ToArray();
                return Interlocked.CompareExchange(ref _certificates, certificates, null) ?? certificates;
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new MalformedResponseException($"malformed OCSP response: a certificate cannot be read: {e.Message}", e);
            }
        }
    }

    private ReadOnlyMemory<byte>[] _encodedCertificates = [];
    private X509Certificate2[]? _certificates;

    /// <summary>True when the signature verifies with <paramref name="signer"/>'s key.</summary>
    public bool VerifySignature(X509Certificate2 signer) =>
        SignatureVerifier.Verify(SignatureAlgorithm, ResponseData, Signature, signer.PublicKey);

    /// <summary>Whether <paramref name="certificate"/> is the one the ResponderID names.</summary>
    public bool IsResponder(X509Certificate2 certificate) => ResponderKeyHash is { } hash
        ? hash.AsSpan().SequenceEqual(System.Security.Cryptography.SHA1.HashData(certificate.PublicKey.EncodedKeyValue.RawData))
        : ResponderName!.RawData.AsSpan().SequenceEqual(certificate.SubjectName.RawData);

    internal static BasicOcspResponse Decode(byte[] der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var basic = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        var tbsBytes = basic.ReadEncodedValue().ToArray();
        var algorithm = basic.ReadEncodedValue().ToArray();
        var signature = basic.ReadBitString(out int unused);
        if (unused != 0) throw new FormatException("signature BIT STRING has unused bits");
        var certs = new List<ReadOnlyMemory<byte>>();
        if (basic.HasData)
        {
            var list = basic.ReadSequence(Ctx0).ReadSequence();
            while (list.HasData)
            {
                var cert = list.ReadEncodedValue();
                if (!new AsnReader(cert, AsnEncodingRules.DER).PeekTag().HasSameClassAndValue(Asn1Tag.Sequence)) throw new FormatException("a certificate is not a SEQUENCE");
                certs.Add(cert);
            }
        }
        basic.ThrowIfNotEmpty();

        var tbsReader = new AsnReader(tbsBytes, AsnEncodingRules.DER);
        var tbs = tbsReader.ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Ctx0))
        {
            var version = tbs.ReadSequence(Ctx0);
            if (!version.TryReadInt32(out int v) || v != 0) throw new FormatException("unsupported ResponseData version");
        }
        byte[]? keyHash = null;
        X500DistinguishedName? name = null;
        var responderTag = tbs.PeekTag();
        if (responderTag.HasSameClassAndValue(Ctx2))
        {
            keyHash = tbs.ReadSequence(Ctx2).ReadOctetString();
            if (keyHash.Length != 20) throw new FormatException("byKey ResponderID is not 20 octets");
        }
        else if (responderTag.HasSameClassAndValue(Ctx1))
        {
            name = new X500DistinguishedName(tbs.ReadSequence(Ctx1).ReadEncodedValue().Span);
        }
        else
        {
            throw new FormatException("bad ResponderID");
        }
        var producedAt = tbs.ReadGeneralizedTime();
        var responses = new List<SingleResponse>();
        var list2 = tbs.ReadSequence();
        while (list2.HasData) responses.Add(ReadSingleResponse(list2.ReadSequence()));
        byte[]? nonce = null;
        bool extendedRevoke = false;
        if (tbs.HasData)
        {
            var extensions = tbs.ReadSequence(Ctx1).ReadSequence();
            while (extensions.HasData)
            {
                var ext = extensions.ReadSequence();
                string oid = ext.ReadObjectIdentifier();
                if (ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean)) ext.ReadBoolean();
                byte[] value = ext.ReadOctetString();
                if (oid == Oids.OcspNonce) nonce = value;
                if (oid == Oids.OcspExtendedRevoke) extendedRevoke = true;
            }
        }
        tbs.ThrowIfNotEmpty();
        tbsReader.ThrowIfNotEmpty();

        return new BasicOcspResponse
        {
            ResponseData = tbsBytes,
            ResponderKeyHash = keyHash,
            ResponderName = name,
            ProducedAt = producedAt,
            Responses = responses,
            Nonce = nonce,
            HasExtendedRevoke = extendedRevoke,
            SignatureAlgorithm = algorithm,
            Signature = signature,
            _encodedCertificates = [.. certs],
        };
    }

    private static SingleResponse ReadSingleResponse(AsnReader single)
    {
        var certId = CertId.Decode(single);
        var tag = single.PeekTag();
        CertStatus status;
        if (tag.TagClass != TagClass.ContextSpecific) throw new FormatException("bad certStatus");
        switch (tag.TagValue)
        {
            case 0:
                single.ReadNull(new Asn1Tag(TagClass.ContextSpecific, 0));
                status = CertStatus.Good;
                break;
            case 1:
                var revoked = single.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1));
                var time = revoked.ReadGeneralizedTime();
                RevocationReason? reason = null;
                if (revoked.HasData) reason = revoked.ReadSequence(Ctx0).ReadEnumeratedValue<RevocationReason>();
                revoked.ThrowIfNotEmpty();
                status = CertStatus.Revoked(time, reason);
                break;
            case 2:
                single.ReadNull(new Asn1Tag(TagClass.ContextSpecific, 2));
                status = CertStatus.Unknown;
                break;
            default:
                throw new FormatException("bad certStatus");
        }
        var thisUpdate = single.ReadGeneralizedTime();
        DateTimeOffset? nextUpdate = null;
        if (single.HasData && single.PeekTag().HasSameClassAndValue(Ctx0)) nextUpdate = single.ReadSequence(Ctx0).ReadGeneralizedTime();
        if (single.HasData) single.ReadSequence(Ctx1);
        single.ThrowIfNotEmpty();
        return new SingleResponse(certId, status, thisUpdate, nextUpdate);
    }
}
