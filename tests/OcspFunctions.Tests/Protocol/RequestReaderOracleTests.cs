using System.Formats.Asn1;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Protocol;

/// <summary>
/// The span reader of <see cref="OcspRequest"/> against the AsnReader reader it replaced (kept here as the oracle): on the
/// seeds, every truncation and bit flip, and mutated DER, both accept with the same request or both refuse.
/// </summary>
[Collection("pki")]
public sealed class RequestReaderOracleTests(TestPki pki)
{
    private List<byte[]> Seeds()
    {
        var rsa = pki.RsaCa;
        var ec = pki.EcCa;
        return
        [
            pki.MakeRequest("-issuer", rsa.CertPath, "-cert", rsa.Leaves[0].CertPath, "-no_nonce"),
            pki.MakeRequest("-issuer", ec.CertPath, "-cert", ec.Leaves[0].CertPath),
            pki.MakeRequest("-issuer", rsa.CertPath, "-sha256", "-cert", rsa.Leaves[1].CertPath, "-cert", rsa.Leaves[2].CertPath),
            pki.MakeRequest("-issuer", ec.CertPath, "-cert", ec.Leaves[1].CertPath, "-signer", ec.ResponderCertPath, "-signkey", ec.ResponderKeyPath),
            OcspRequest.Encode([new OcspIssuer(ec.Certificate).CertIdFor(SerialNumber.ParseHex("01"), CertIdHashAlgorithm.Sha512)], [0x04, 0x01]),
            OcspRequest.Encode([new CertId(CertIdHashAlgorithm.Unsupported, new byte[20], new byte[20], SerialNumber.ParseHex("7F"), "1.2.3.4")]),
        ];
    }

    [Fact]
    public void Span_reader_agrees_with_the_asn_reader()
    {
        var seeds = Seeds();
        var random = new Random(20261202);
        var headers = seeds.Select(DerMutator.Headers).ToList();
        int accepted = 0, compared = 0;
        void Compare(byte[] input)
        {
            string expected = Oracle(input);
            string actual;
            try { actual = Describe(OcspRequest.Decode(input.AsMemory())); }
            catch (MalformedRequestException) { actual = "malformed"; }
            Assert.True(expected == actual, $"{Convert.ToHexString(input)}: AsnReader says {expected}, span reader {actual}");
            compared++;
            if (actual != "malformed") accepted++;
        }
        foreach (var seed in seeds)
        {
            for (int n = 0; n <= seed.Length; n++) Compare(seed[..n]);
            for (int bit = 0; bit < seed.Length * 8; bit++)
            {
                byte[] input = (byte[])seed.Clone();
                input[bit / 8] ^= (byte)(0x80 >> (bit % 8));
                Compare(input);
            }
        }
        for (int i = 0; i < 5_000; i++)
        {
            int s = random.Next(seeds.Count);
            Compare(DerMutator.Mutate(seeds[s], random, headers[s]));
        }
        Assert.InRange(accepted, compared / 100, compared - compared / 10);
    }

    private static string Describe(OcspRequest r) =>
        $"signed={r.IsSigned} requestor={r.HasRequestorName} nonce={(r.Nonce is null ? "-" : Convert.ToHexString(r.Nonce))} " +
        string.Join(" ", r.Requests.Select(q => $"[{q.CertId.HashAlgorithm} {q.CertId.HashAlgorithmOid} {Convert.ToHexString(q.CertId.IssuerNameHash)} " +
                                                $"{Convert.ToHexString(q.CertId.IssuerKeyHash)} {q.CertId.SerialNumber} ext={q.HasSingleRequestExtensions}]"));

    /// <summary>The former reader (AsnReader throughout), described as <see cref="Describe"/> does, or "malformed".</summary>
    private static string Oracle(byte[] der)
    {
        if (der.Length == 0) return "malformed";
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var ocspRequest = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            var tbs = ocspRequest.ReadSequence();
            bool isSigned = false;
            if (ocspRequest.HasData)
            {
                var sig = ocspRequest.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
                sig.ReadSequence();
                isSigned = true;
            }
            ocspRequest.ThrowIfNotEmpty();
            var v0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            if (tbs.PeekTag().HasSameClassAndValue(v0))
            {
                var version = tbs.ReadSequence(v0);
                if (!version.TryReadInt32(out int v) || v != 0) throw new FormatException("version");
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
            var requests = new List<string>();
            while (list.HasData)
            {
                var request = list.ReadSequence();
                var certId = CertId.Decode(request);
                bool hasExtensions = false;
                if (request.HasData)
                {
                    ReadExtensions(request.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)), false, out _);
                    hasExtensions = true;
                }
                request.ThrowIfNotEmpty();
                requests.Add($"[{certId.HashAlgorithm} {certId.HashAlgorithmOid} {Convert.ToHexString(certId.IssuerNameHash)} " +
                             $"{Convert.ToHexString(certId.IssuerKeyHash)} {certId.SerialNumber} ext={hasExtensions}]");
            }
            if (requests.Count == 0) throw new FormatException("empty list");
            byte[]? nonce = null;
            if (tbs.HasData) ReadExtensions(tbs.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 2)), true, out nonce);
            tbs.ThrowIfNotEmpty();
            return $"signed={isSigned} requestor={hasRequestorName} nonce={(nonce is null ? "-" : Convert.ToHexString(nonce))} " + string.Join(" ", requests);
        }
        catch (Exception e) when (e is AsnContentException or FormatException or ArgumentException or OverflowException or InvalidOperationException
                                       or System.Security.Cryptography.CryptographicException or IndexOutOfRangeException)
        {
            return "malformed";
        }
    }

    private static void ReadExtensions(AsnReader explicitWrapper, bool wantNonce, out byte[]? nonce)
    {
        nonce = null;
        var extensions = explicitWrapper.ReadSequence();
        explicitWrapper.ThrowIfNotEmpty();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (!extensions.HasData) throw new FormatException("empty Extensions");
        while (extensions.HasData)
        {
            var ext = extensions.ReadSequence();
            string oid = ext.ReadObjectIdentifier();
            if (!seen.Add(oid)) throw new FormatException("duplicate");
            if (ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean)) ext.ReadBoolean();
            byte[] value = ext.ReadOctetString();
            ext.ThrowIfNotEmpty();
            if (wantNonce && oid == Oids.OcspNonce)
            {
                byte[] v = value;
                try
                {
                    var r = new AsnReader(value, AsnEncodingRules.DER);
                    var inner = r.ReadOctetString();
                    if (!r.HasData) v = inner;
                }
                catch (AsnContentException)
                {
                }
                if (v.Length is 0 or > OcspRequest.MaxNonceLength) throw new FormatException("nonce size");
                nonce = v;
            }
        }
    }
}
