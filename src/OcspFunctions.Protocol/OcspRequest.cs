using System.Formats.Asn1;

namespace OcspFunctions.Protocol;

/// <summary>One Request of a TBSRequest (RFC 6960 §4.1.1).</summary>
public sealed record Request(CertId CertId, bool HasSingleRequestExtensions);

/// <summary>
/// An OCSPRequest (RFC 6960 §4.1.1) read with strict DER. Every failure is a <see cref="MalformedRequestException"/>.
/// </summary>
public sealed class OcspRequest
{
    /// <summary>Default size cap: requests are ~100 bytes; Boulder caps POST bodies at 10,000.</summary>
    public const int DefaultMaxLength = 10_000;

    /// <summary>RFC 9654 §2.1: a nonce is 1 to 128 octets; anything else is malformedRequest.</summary>
    public const int MaxNonceLength = 128;

    private OcspRequest(IReadOnlyList<Request> requests, byte[]? nonce, bool isSigned, bool hasRequestorName)
    {
        Requests = requests;
        Nonce = nonce;
        IsSigned = isSigned;
        HasRequestorName = hasRequestorName;
    }

    /// <summary>At least one. RFC 5019 §2.1.1 / RFC 9919 §3.1.1: a lightweight responder answers the first.</summary>
    public IReadOnlyList<Request> Requests { get; }

    public CertId FirstCertId => Requests[0].CertId;

    /// <summary>The nonce value (the inner OCTET STRING of the extension, RFC 9654 §2.1), or null.</summary>
    public byte[]? Nonce { get; }

    /// <summary>Whether optionalSignature is present. It is not verified: responses are pre-produced.</summary>
    public bool IsSigned { get; }

    public bool HasRequestorName { get; }

    // The copy must be passed as ReadOnlyMemory explicitly: with C# 14 first-class spans a byte[] argument binds to this
    // ReadOnlySpan overload again, which recursed until the stack overflowed.
    public static OcspRequest Decode(ReadOnlySpan<byte> der, int maxLength = DefaultMaxLength) =>
        Decode(new ReadOnlyMemory<byte>(der.ToArray()), maxLength);

    public static OcspRequest Decode(ReadOnlyMemory<byte> der, int maxLength = DefaultMaxLength)
    {
        if (der.IsEmpty) throw new MalformedRequestException("empty OCSP request");
        if (der.Length > maxLength) throw new MalformedRequestException($"OCSP request of {der.Length} bytes exceeds the {maxLength}-byte cap");
        try
        {
            return DecodeCore(der);
        }
        catch (Exception e) when (DecodeErrors.IsDecodeFailure(e))
        {
            throw new MalformedRequestException($"malformed OCSP request: {e.Message}", e);
        }
    }

    private static OcspRequest DecodeCore(ReadOnlyMemory<byte> der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var ocspRequest = outer.ReadSequence();
        outer.ThrowIfNotEmpty();

        var tbs = ocspRequest.ReadSequence();
        bool isSigned = false;
        if (ocspRequest.HasData)
        {
            // optionalSignature [0] EXPLICIT Signature: checked for shape only.
            var sig = ocspRequest.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
            sig.ReadSequence();
            isSigned = true;
        }
        ocspRequest.ThrowIfNotEmpty();

        var v0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        if (tbs.PeekTag().HasSameClassAndValue(v0))
        {
            var version = tbs.ReadSequence(v0);
            // DER forbids encoding the DEFAULT v1, but deployed clients do; accept only v1 (0).
            if (!version.TryReadInt32(out int v) || v != 0) throw new FormatException("unsupported OCSP request version");
            version.ThrowIfNotEmpty();
        }
        bool hasRequestorName = false;
        var requestorTag = new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true);
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(requestorTag))
        {
            tbs.ReadEncodedValue();
            hasRequestorName = true;
        }

        var list = tbs.ReadSequence();
        var requests = new List<Request>(1);
        while (list.HasData)
        {
            var request = list.ReadSequence();
            var certId = CertId.Decode(request);
            bool hasExtensions = false;
            if (request.HasData)
            {
                ReadExtensions(request.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)), nonce: null);
                hasExtensions = true;
            }
            request.ThrowIfNotEmpty();
            requests.Add(new Request(certId, hasExtensions));
        }
        if (requests.Count == 0) throw new FormatException("requestList is empty");

        byte[]? nonce = null;
        if (tbs.HasData)
        {
            var holder = new NonceHolder();
            ReadExtensions(tbs.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 2)), holder);
            nonce = holder.Value;
        }
        tbs.ThrowIfNotEmpty();
        return new OcspRequest(requests, nonce, isSigned, hasRequestorName);
    }

    private sealed class NonceHolder { public byte[]? Value; }

    private static void ReadExtensions(AsnReader explicitWrapper, NonceHolder? nonce)
    {
        var extensions = explicitWrapper.ReadSequence();
        explicitWrapper.ThrowIfNotEmpty();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (!extensions.HasData) throw new FormatException("empty Extensions");
        while (extensions.HasData)
        {
            var ext = extensions.ReadSequence();
            string oid = ext.ReadObjectIdentifier();
            if (!seen.Add(oid)) throw new FormatException($"duplicate extension {oid}"); // RFC 5280 §4.2
            if (ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean)) ext.ReadBoolean();
            byte[] value = ext.ReadOctetString();
            ext.ThrowIfNotEmpty();
            if (nonce is not null && oid == Oids.OcspNonce) nonce.Value = DecodeNonce(value);
        }
    }

    private static byte[] DecodeNonce(byte[] extnValue)
    {
        // RFC 9654 §2.1: extnValue holds the DER of Nonce ::= OCTET STRING. Some old clients put the raw bytes
        // there; the value is never echoed by a pre-produced responder, so accept both and apply the size rule.
        byte[] value = extnValue;
        try
        {
            var r = new AsnReader(extnValue, AsnEncodingRules.DER);
            var inner = r.ReadOctetString();
            if (!r.HasData) value = inner;
        }
        catch (AsnContentException)
        {
        }
        if (value.Length is 0 or > MaxNonceLength)
            throw new FormatException($"nonce of {value.Length} octets is outside 1..{MaxNonceLength} (RFC 9654)");
        return value;
    }

    /// <summary>Builds a request (for the query client, tests and benchmarks).</summary>
    public static byte[] Encode(IEnumerable<CertId> certIds, byte[]? nonce = null)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.PushSequence();
        w.PushSequence();
        foreach (var id in certIds)
        {
            w.PushSequence();
            id.Encode(w);
            w.PopSequence();
        }
        w.PopSequence();
        if (nonce is not null)
        {
            w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 2));
            w.PushSequence();
            w.PushSequence();
            w.WriteObjectIdentifier(Oids.OcspNonce);
            var inner = new AsnWriter(AsnEncodingRules.DER);
            inner.WriteOctetString(nonce);
            w.WriteOctetString(inner.Encode());
            w.PopSequence();
            w.PopSequence();
            w.PopSequence(new Asn1Tag(TagClass.ContextSpecific, 2));
        }
        w.PopSequence();
        w.PopSequence();
        return w.Encode();
    }
}
