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

    // The reader works on spans with the static AsnDecoder (the checks AsnReader makes, without a reader object per
    // nested value): a request costs its CertID's arrays and the objects returned, nothing else.
    private const AsnEncodingRules Der = AsnEncodingRules.DER;

    private static OcspRequest DecodeCore(ReadOnlyMemory<byte> der)
    {
        var ocspRequest = Sequence(der.Span, out int consumed);
        NotEmptyAfter(der.Span, consumed);

        var tbs = Sequence(ocspRequest, out consumed);
        var rest = ocspRequest[consumed..];
        bool isSigned = false;
        if (!rest.IsEmpty)
        {
            // optionalSignature [0] EXPLICIT Signature: checked for shape only.
            var sig = Sequence(rest, out consumed, new Asn1Tag(TagClass.ContextSpecific, 0));
            rest = rest[consumed..];
            Sequence(sig, out _);
            isSigned = true;
        }
        NotEmptyAfter(rest, 0);

        var v0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        if (Asn1Tag.Decode(tbs, out _).HasSameClassAndValue(v0))
        {
            var version = Sequence(tbs, out consumed, v0);
            tbs = tbs[consumed..];
            // DER forbids encoding the DEFAULT v1, but deployed clients do; accept only v1 (0).
            if (!AsnDecoder.TryReadInt32(version, Der, out int v, out int read) || v != 0) throw new FormatException("unsupported OCSP request version");
            NotEmptyAfter(version, read);
        }
        bool hasRequestorName = false;
        var requestorTag = new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true);
        if (!tbs.IsEmpty && Asn1Tag.Decode(tbs, out _).HasSameClassAndValue(requestorTag))
        {
            AsnDecoder.ReadEncodedValue(tbs, Der, out _, out _, out consumed);
            tbs = tbs[consumed..];
            hasRequestorName = true;
        }

        var list = Sequence(tbs, out consumed);
        tbs = tbs[consumed..];
        var requests = new List<Request>(1);
        while (!list.IsEmpty)
        {
            var request = Sequence(list, out consumed);
            list = list[consumed..];
            var certId = CertId.Decode(request, out consumed);
            request = request[consumed..];
            bool hasExtensions = false;
            if (!request.IsEmpty)
            {
                var wrapper = Sequence(request, out consumed, new Asn1Tag(TagClass.ContextSpecific, 0));
                request = request[consumed..];
                ReadExtensions(wrapper, nonce: null);
                hasExtensions = true;
            }
            NotEmptyAfter(request, 0);
            requests.Add(new Request(certId, hasExtensions));
        }
        if (requests.Count == 0) throw new FormatException("requestList is empty");

        byte[]? nonce = null;
        if (!tbs.IsEmpty)
        {
            var holder = new NonceHolder();
            var wrapper = Sequence(tbs, out consumed, new Asn1Tag(TagClass.ContextSpecific, 2));
            tbs = tbs[consumed..];
            ReadExtensions(wrapper, holder);
            nonce = holder.Value;
        }
        NotEmptyAfter(tbs, 0);
        return new OcspRequest(requests, nonce, isSigned, hasRequestorName);
    }

    /// <summary>The contents of the SEQUENCE (or <paramref name="tag"/>) at the start of <paramref name="source"/>.</summary>
    internal static ReadOnlySpan<byte> Sequence(ReadOnlySpan<byte> source, out int consumed, Asn1Tag? tag = null)
    {
        AsnDecoder.ReadSequence(source, Der, out int offset, out int length, out consumed, tag);
        return source.Slice(offset, length);
    }

    /// <summary>AsnReader.ThrowIfNotEmpty: nothing may follow the last expected value.</summary>
    internal static void NotEmptyAfter(ReadOnlySpan<byte> source, int consumed)
    {
        if (consumed != source.Length) throw new AsnContentException("the last expected value has been read, but data remains");
    }

    private sealed class NonceHolder { public byte[]? Value; }

    private static void ReadExtensions(ReadOnlySpan<byte> explicitWrapper, NonceHolder? nonce)
    {
        var extensions = Sequence(explicitWrapper, out int consumed);
        NotEmptyAfter(explicitWrapper, consumed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (extensions.IsEmpty) throw new FormatException("empty Extensions");
        while (!extensions.IsEmpty)
        {
            var ext = Sequence(extensions, out consumed);
            extensions = extensions[consumed..];
            string oid = AsnDecoder.ReadObjectIdentifier(ext, Der, out consumed);
            ext = ext[consumed..];
            if (!seen.Add(oid)) throw new FormatException($"duplicate extension {oid}"); // RFC 5280 §4.2
            if (Asn1Tag.Decode(ext, out _).HasSameClassAndValue(Asn1Tag.Boolean))
            {
                AsnDecoder.ReadBoolean(ext, Der, out consumed);
                ext = ext[consumed..];
            }
            byte[] value = AsnDecoder.ReadOctetString(ext, Der, out consumed);
            NotEmptyAfter(ext, consumed);
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
