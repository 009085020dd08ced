using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Protocol;

/// <summary>Requests written by <c>openssl ocsp -reqout</c>, read by <see cref="OcspRequest"/>; and the reader's rejections.</summary>
[Collection("pki")]
public sealed partial class RequestTests(TestPki pki)
{
    public static TheoryData<string> CaNames => new() { "rsa", "ec" };

    private const string Sha1Oid = "1.3.14.3.2.26";
    private const string Sha256Oid = "2.16.840.1.101.3.4.2.1";

    /// <summary>What <c>openssl ocsp -reqin … -req_text</c> prints about a request.</summary>
    private sealed record OpenSslRequestText(List<(string Hash, string NameHash, string KeyHash, string Serial)> CertIds, string? NonceExtnValue);

    [GeneratedRegex(@"Hash Algorithm: (?<h>\S+)\s+Issuer Name Hash: (?<n>[0-9A-F]+)\s+Issuer Key Hash: (?<k>[0-9A-F]+)\s+Serial Number: (?<s>[0-9A-F]+)")]
    private static partial Regex CertIdText();

    [GeneratedRegex(@"OCSP Nonce:\s*\n\s*(?<v>[0-9A-F]+)")]
    private static partial Regex NonceText();

    private OpenSslRequestText ReadWithOpenSsl(byte[] der)
    {
        string dir = pki.NewWorkDir("reqtext");
        File.WriteAllBytes(Path.Combine(dir, "req.der"), der);
        string text = OpenSsl.Run(dir, "ocsp", "-reqin", "req.der", "-req_text", "-noverify").StdOut;
        var ids = CertIdText().Matches(text).Select(m => (m.Groups["h"].Value, m.Groups["n"].Value, m.Groups["k"].Value, m.Groups["s"].Value)).ToList();
        var nonce = NonceText().Match(text);
        return new OpenSslRequestText(ids, nonce.Success ? nonce.Groups["v"].Value : null);
    }

    /// <summary>The serial as <c>openssl x509 -serial</c> prints it.</summary>
    private string OpenSslSerial(TestLeaf leaf)
    {
        string output = OpenSsl.Run(pki.NewWorkDir("serial"), "x509", "-in", leaf.CertPath, "-noout", "-serial").StdOut.Trim();
        Assert.StartsWith("serial=", output);
        return output["serial=".Length..];
    }

    private static void AssertSameCertId(CertId expected, CertId actual)
    {
        Assert.Equal(expected.HashAlgorithm, actual.HashAlgorithm);
        Assert.Equal(expected.HashAlgorithmOid, actual.HashAlgorithmOid);
        Assert.Equal(Convert.ToHexString(expected.IssuerNameHash), Convert.ToHexString(actual.IssuerNameHash));
        Assert.Equal(Convert.ToHexString(expected.IssuerKeyHash), Convert.ToHexString(actual.IssuerKeyHash));
        Assert.Equal(expected.SerialNumber, actual.SerialNumber);
        Assert.Equal(expected, actual);
        Assert.Equal(expected.GetHashCode(), actual.GetHashCode());
    }

    [Theory]
    [MemberData(nameof(CaNames))]
    public void Openssl_request_without_nonce(string caName)
    {
        var ca = pki.Ca(caName);
        var issuer = new OcspIssuer(ca.Certificate);
        foreach (var leaf in ca.Leaves)
        {
            byte[] der = pki.MakeRequest("-issuer", ca.CertPath, "-cert", leaf.CertPath, "-no_nonce");
            var request = OcspRequest.Decode(der.AsMemory());

            var single = Assert.Single(request.Requests);
            Assert.False(single.HasSingleRequestExtensions);
            Assert.Null(request.Nonce);
            Assert.False(request.IsSigned);
            Assert.False(request.HasRequestorName);

            string serialHex = OpenSslSerial(leaf);
            Assert.Equal(leaf.SerialHex, serialHex);
            var serial = SerialNumber.ParseHex(serialHex);
            Assert.Equal(SerialNumber.ParseHex(leaf.Certificate.SerialNumber), serial);
            AssertSameCertId(issuer.CertIdFor(serial, CertIdHashAlgorithm.Sha1), request.FirstCertId);
            Assert.Equal(Sha1Oid, request.FirstCertId.HashAlgorithmOid);
            Assert.Equal(16, request.FirstCertId.SerialNumber.Bytes.Length); // the DER 00 pad of high-bit serials is not part of the value
            Assert.Equal(leaf.HighBit ? 17 : 16, request.FirstCertId.SerialNumber.ToIntegerContents().Length);

            var text = ReadWithOpenSsl(der);
            var (hash, nameHash, keyHash, printedSerial) = Assert.Single(text.CertIds);
            Assert.Equal("sha1", hash);
            Assert.Equal(nameHash, Convert.ToHexString(request.FirstCertId.IssuerNameHash));
            Assert.Equal(keyHash, Convert.ToHexString(request.FirstCertId.IssuerKeyHash));
            Assert.Equal(printedSerial, request.FirstCertId.SerialNumber.ToString());
            Assert.Null(text.NonceExtnValue);

            // Re-encoding what was read gives openssl's bytes exactly.
            Assert.Equal(Convert.ToHexString(der), Convert.ToHexString(OcspRequest.Encode(request.Requests.Select(r => r.CertId))));
        }
    }

    [Theory]
    [MemberData(nameof(CaNames))]
    public void Openssl_request_with_default_nonce(string caName)
    {
        var ca = pki.Ca(caName);
        var leaf = ca.Leaves[0];
        byte[] der = pki.MakeRequest("-issuer", ca.CertPath, "-cert", leaf.CertPath);
        var request = OcspRequest.Decode(der.AsMemory());

        Assert.NotNull(request.Nonce);
        Assert.Equal(16, request.Nonce!.Length);
        var text = ReadWithOpenSsl(der);
        // openssl prints the extnValue: the DER OCTET STRING (04 10 …) that wraps the 16 nonce octets (RFC 9654 §2.1).
        Assert.Equal("0410" + Convert.ToHexString(request.Nonce), text.NonceExtnValue);
        Assert.False(request.IsSigned);
        AssertSameCertId(new OcspIssuer(ca.Certificate).CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), CertIdHashAlgorithm.Sha1),
            request.FirstCertId);

        Assert.Equal(Convert.ToHexString(der), Convert.ToHexString(OcspRequest.Encode([request.FirstCertId], request.Nonce)));

        // A second run has another nonce.
        var again = OcspRequest.Decode(pki.MakeRequest("-issuer", ca.CertPath, "-cert", leaf.CertPath).AsMemory());
        Assert.NotEqual(Convert.ToHexString(request.Nonce), Convert.ToHexString(again.Nonce!));
    }

    [Theory]
    [MemberData(nameof(CaNames))]
    public void Openssl_request_with_sha256_and_two_certs(string caName)
    {
        var ca = pki.Ca(caName);
        var issuer = new OcspIssuer(ca.Certificate);
        var a = ca.Leaf("good-hi");
        var b = ca.Revoked.First();
        byte[] der = pki.MakeRequest("-issuer", ca.CertPath, "-sha256", "-cert", a.CertPath, "-cert", b.CertPath, "-no_nonce");
        var request = OcspRequest.Decode(der.AsMemory());

        Assert.Equal(2, request.Requests.Count);
        AssertSameCertId(issuer.CertIdFor(SerialNumber.ParseHex(OpenSslSerial(a)), CertIdHashAlgorithm.Sha256), request.Requests[0].CertId);
        AssertSameCertId(issuer.CertIdFor(SerialNumber.ParseHex(OpenSslSerial(b)), CertIdHashAlgorithm.Sha256), request.Requests[1].CertId);
        Assert.Equal(request.Requests[0].CertId, request.FirstCertId);
        Assert.Equal(Sha256Oid, request.FirstCertId.HashAlgorithmOid);
        Assert.Equal(32, request.FirstCertId.IssuerNameHash.Length);
        Assert.Equal(32, request.FirstCertId.IssuerKeyHash.Length);

        var text = ReadWithOpenSsl(der);
        Assert.Equal(2, text.CertIds.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal("sha256", text.CertIds[i].Hash);
            Assert.Equal(text.CertIds[i].NameHash, Convert.ToHexString(request.Requests[i].CertId.IssuerNameHash));
            Assert.Equal(text.CertIds[i].KeyHash, Convert.ToHexString(request.Requests[i].CertId.IssuerKeyHash));
            Assert.Equal(text.CertIds[i].Serial, request.Requests[i].CertId.SerialNumber.ToString());
        }
        Assert.Equal(Convert.ToHexString(der), Convert.ToHexString(OcspRequest.Encode(request.Requests.Select(r => r.CertId))));

        // Mixed digests in one request: -sha1 before the first -cert, -sha256 before the second.
        byte[] mixed = pki.MakeRequest("-issuer", ca.CertPath, "-sha1", "-cert", a.CertPath, "-sha256", "-cert", b.CertPath, "-no_nonce");
        var m = OcspRequest.Decode(mixed.AsMemory());
        Assert.Equal(CertIdHashAlgorithm.Sha1, m.Requests[0].CertId.HashAlgorithm);
        Assert.Equal(CertIdHashAlgorithm.Sha256, m.Requests[1].CertId.HashAlgorithm);
    }

    [Theory]
    [MemberData(nameof(CaNames))]
    public void Openssl_signed_request(string caName)
    {
        var ca = pki.Ca(caName);
        var leaf = ca.Leaves[1];
        byte[] der = pki.MakeRequest("-issuer", ca.CertPath, "-cert", leaf.CertPath, "-signer", ca.ResponderCertPath,
            "-signkey", ca.ResponderKeyPath);
        var request = OcspRequest.Decode(der.AsMemory());
        Assert.True(request.IsSigned);
        Assert.True(request.HasRequestorName); // openssl sets requestorName to the signer's subject
        Assert.NotNull(request.Nonce);
        AssertSameCertId(new OcspIssuer(ca.Certificate).CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), CertIdHashAlgorithm.Sha1),
            request.FirstCertId);
    }

    [Fact]
    public void Other_certid_digests()
    {
        var ca = pki.RsaCa;
        var leaf = ca.Leaves[0];
        var issuer = new OcspIssuer(ca.Certificate);
        foreach (var (option, algorithm) in new[] { ("-sha384", CertIdHashAlgorithm.Sha384), ("-sha512", CertIdHashAlgorithm.Sha512) })
        {
            var request = OcspRequest.Decode(pki.MakeRequest("-issuer", ca.CertPath, option, "-cert", leaf.CertPath, "-no_nonce").AsMemory());
            AssertSameCertId(issuer.CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), algorithm), request.FirstCertId);
        }

        // A well-formed request with a digest we do not support is read, not rejected; no issuer matches it.
        var md5 = OcspRequest.Decode(pki.MakeRequest("-issuer", ca.CertPath, "-md5", "-cert", leaf.CertPath, "-no_nonce").AsMemory());
        Assert.Equal(CertIdHashAlgorithm.Unsupported, md5.FirstCertId.HashAlgorithm);
        Assert.Equal("1.2.840.113549.2.5", md5.FirstCertId.HashAlgorithmOid);
        Assert.False(issuer.Matches(md5.FirstCertId));
        Assert.Null(new IssuerDirectory([issuer]).Find(md5.FirstCertId));
    }

    // ------------------------------------------------------------------ IssuerDirectory

    [Fact]
    public void Directory_finds_the_issuer_for_sha1_and_sha256_certids()
    {
        var rsa = new OcspIssuer(pki.RsaCa.Certificate);
        var ec = new OcspIssuer(pki.EcCa.Certificate);
        var rekeyed = new OcspIssuer(pki.RsaCaRekeyed);
        var directory = new IssuerDirectory([rsa, ec, rekeyed]);
        Assert.Equal(3, directory.Issuers.Count);

        foreach (var (ca, expected) in new[] { (pki.RsaCa, rsa), (pki.EcCa, ec) })
        {
            foreach (var digest in new[] { "-sha1", "-sha256" })
            {
                var args = new List<string> { "-issuer", ca.CertPath, digest };
                foreach (var leaf in ca.Leaves) args.AddRange(["-cert", leaf.CertPath]);
                args.Add("-no_nonce");
                var request = OcspRequest.Decode(pki.MakeRequest([.. args]).AsMemory());
                Assert.Equal(ca.Leaves.Count, request.Requests.Count);
                foreach (var r in request.Requests)
                {
                    Assert.Same(expected, directory.Find(r.CertId));
                    Assert.True(expected.Matches(r.CertId));
                    Assert.All(directory.Issuers.Where(i => i != expected), i => Assert.False(i.Matches(r.CertId)));
                }
            }
        }
    }

    [Fact]
    public void Directory_returns_null_for_an_unknown_issuer()
    {
        var rsa = new OcspIssuer(pki.RsaCa.Certificate);
        var ec = new OcspIssuer(pki.EcCa.Certificate);
        var leaf = pki.EcCa.Leaves[0];
        var request = OcspRequest.Decode(pki.MakeRequest("-issuer", pki.EcCa.CertPath, "-cert", leaf.CertPath, "-no_nonce").AsMemory());
        Assert.Null(new IssuerDirectory([rsa]).Find(request.FirstCertId));
        Assert.Null(new IssuerDirectory([]).Find(request.FirstCertId));
        Assert.Same(ec, new IssuerDirectory([rsa, ec]).Find(request.FirstCertId));

        // Same subject Name as the RSA CA, another key: the key hash decides (RFC 6960 §4.2.2.2).
        var forRekeyed = OcspRequest.Decode(pki.MakeRequest("-issuer", pki.RsaCaRekeyedCertPath, "-cert", pki.RsaCa.Leaves[0].CertPath,
            "-sha256", "-cert", pki.RsaCa.Leaves[1].CertPath, "-no_nonce").AsMemory());
        Assert.Equal(Convert.ToHexString(rsa.NameHash(CertIdHashAlgorithm.Sha1)), Convert.ToHexString(forRekeyed.Requests[0].CertId.IssuerNameHash));
        foreach (var r in forRekeyed.Requests)
        {
            Assert.Null(new IssuerDirectory([rsa, ec]).Find(r.CertId));
            Assert.False(rsa.Matches(r.CertId));
            var rekeyed = new OcspIssuer(pki.RsaCaRekeyed);
            Assert.Same(rekeyed, new IssuerDirectory([rsa, ec, rekeyed]).Find(r.CertId));
        }

        // A key hash that matches but a name hash that does not.
        var good = OcspRequest.Decode(pki.MakeRequest("-issuer", pki.RsaCa.CertPath, "-cert", pki.RsaCa.Leaves[0].CertPath, "-no_nonce").AsMemory()).FirstCertId;
        var wrongName = new CertId(good.HashAlgorithm, SHA1.HashData("not the name"u8), good.IssuerKeyHash, good.SerialNumber);
        Assert.Null(new IssuerDirectory([rsa, ec]).Find(wrongName));
    }

    [Fact]
    public void Directory_uses_the_name_hash_when_the_key_hash_is_empty()
    {
        var rsa = new OcspIssuer(pki.RsaCa.Certificate);
        var ec = new OcspIssuer(pki.EcCa.Certificate);
        var rekeyed = new OcspIssuer(pki.RsaCaRekeyed);
        foreach (var digest in new[] { "-sha1", "-sha256" })
        {
            foreach (var (ca, issuer) in new[] { (pki.RsaCa, rsa), (pki.EcCa, ec) })
            {
                var id = OcspRequest.Decode(pki.MakeRequest("-issuer", ca.CertPath, digest, "-cert", ca.Leaves[0].CertPath, "-no_nonce").AsMemory()).FirstCertId;
                var noKey = new CertId(id.HashAlgorithm, id.IssuerNameHash, [], id.SerialNumber);

                // Through the wire: an empty OCTET STRING issuerKeyHash decodes as empty.
                var decoded = OcspRequest.Decode(OcspRequest.Encode([noKey]).AsMemory()).FirstCertId;
                Assert.Empty(decoded.IssuerKeyHash);

                Assert.Same(issuer, new IssuerDirectory([rsa, ec]).Find(decoded));
                Assert.True(issuer.Matches(decoded));
            }

            // Two issuers share the RSA CA's name: an empty key hash is then ambiguous, no answer.
            var rsaId = OcspRequest.Decode(pki.MakeRequest("-issuer", pki.RsaCa.CertPath, digest, "-cert", pki.RsaCa.Leaves[0].CertPath, "-no_nonce").AsMemory()).FirstCertId;
            var ambiguous = new CertId(rsaId.HashAlgorithm, rsaId.IssuerNameHash, [], rsaId.SerialNumber);
            Assert.Null(new IssuerDirectory([rsa, ec, rekeyed]).Find(ambiguous));
            Assert.Same(ec, new IssuerDirectory([rsa, ec, rekeyed]).Find(new CertId(ambiguous.HashAlgorithm,
                ec.NameHash(ambiguous.HashAlgorithm), [], ambiguous.SerialNumber)));

            // Empty key hash and a name nobody has.
            Assert.Null(new IssuerDirectory([rsa, ec]).Find(new CertId(rsaId.HashAlgorithm, new byte[rsaId.IssuerNameHash.Length], [], rsaId.SerialNumber)));
        }
    }

    // ------------------------------------------------------------------ Encode / Decode rules

    private byte[] OpensslRequest(bool nonce = false) =>
        nonce
            ? pki.MakeRequest("-issuer", pki.EcCa.CertPath, "-cert", pki.EcCa.Leaves[0].CertPath)
            : pki.MakeRequest("-issuer", pki.EcCa.CertPath, "-cert", pki.EcCa.Leaves[0].CertPath, "-no_nonce");

    private CertId SomeCertId(CertIdHashAlgorithm hash = CertIdHashAlgorithm.Sha256) =>
        new OcspIssuer(pki.RsaCa.Certificate).CertIdFor(SerialNumber.ParseHex(pki.RsaCa.Leaves[0].SerialHex), hash);

    [Fact]
    public void Encode_round_trips_and_openssl_reads_it()
    {
        var ids = new[] { SomeCertId(), SomeCertId(CertIdHashAlgorithm.Sha1),
            new OcspIssuer(pki.EcCa.Certificate).CertIdFor(SerialNumber.ParseHex("00FF"), CertIdHashAlgorithm.Sha1) };
        byte[] nonce = RandomNumberGenerator.GetBytes(32);
        byte[] der = OcspRequest.Encode(ids, nonce);

        var request = OcspRequest.Decode(der.AsMemory());
        Assert.Equal(ids.Length, request.Requests.Count);
        for (int i = 0; i < ids.Length; i++) AssertSameCertId(ids[i], request.Requests[i].CertId);
        Assert.Equal(nonce, request.Nonce);
        Assert.Equal(SerialNumber.ParseHex("FF"), request.Requests[2].CertId.SerialNumber);

        var text = ReadWithOpenSsl(der);
        Assert.Equal(ids.Length, text.CertIds.Count);
        Assert.Equal(["sha256", "sha1", "sha1"], text.CertIds.Select(c => c.Hash));
        for (int i = 0; i < ids.Length; i++)
        {
            Assert.Equal(text.CertIds[i].NameHash, Convert.ToHexString(ids[i].IssuerNameHash));
            Assert.Equal(text.CertIds[i].KeyHash, Convert.ToHexString(ids[i].IssuerKeyHash));
            Assert.Equal(text.CertIds[i].Serial, ids[i].SerialNumber.ToString());
        }
        Assert.Equal("0420" + Convert.ToHexString(nonce), text.NonceExtnValue);

        // The span overload reads the same.
        Assert.Equal(request.Requests.Count, OcspRequest.Decode(der.AsSpan()).Requests.Count);
    }

    [Fact]
    public void Decode_takes_a_byte_array_span_and_memory()
    {
        // Regression: with C# 14 first-class spans, Decode(byte[]) binds to the ReadOnlySpan overload, which used to call
        // itself until the stack overflowed (crashing the whole process, not just the request).
        byte[] der = OpensslRequest(nonce: true);
        Assert.Single(OcspRequest.Decode(der).Requests);
        Assert.Single(OcspRequest.Decode(der, der.Length).Requests);
        Assert.Single(OcspRequest.Decode(der.AsSpan()).Requests);
        Assert.Single(OcspRequest.Decode((ReadOnlySpan<byte>)der).Requests);
        Assert.Single(OcspRequest.Decode(der.AsMemory()).Requests);
        Assert.Single(OcspRequest.Decode((ReadOnlyMemory<byte>)der).Requests);
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(der, der.Length - 1));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(Array.Empty<byte>()));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(new byte[] { 0x30, 0x00 }));
    }

    [Fact]
    public void Trailing_bytes_are_rejected()
    {
        foreach (bool nonce in new[] { false, true })
        {
            byte[] der = OpensslRequest(nonce);
            OcspRequest.Decode(der.AsMemory());
            Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(((byte[])[.. der, 0x00]).AsMemory()));
            Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(((byte[])[.. der, .. der]).AsMemory()));
            Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(((byte[])[.. der, 0x05, 0x00]).AsMemory()));
            Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(der.AsMemory(0, der.Length - 1)));
        }
    }

    [Fact]
    public void Over_size_and_empty_are_rejected()
    {
        byte[] der = OpensslRequest(true);
        Assert.Single(OcspRequest.Decode(der.AsMemory(), maxLength: der.Length).Requests);
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(der.AsMemory(), maxLength: der.Length - 1));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(new byte[OcspRequest.DefaultMaxLength + 1].AsMemory()));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(ReadOnlyMemory<byte>.Empty));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(ReadOnlySpan<byte>.Empty));

        // A well-formed request just over the default cap: many CertIDs.
        var many = Enumerable.Range(1, 200).Select(i => SomeCertId() is var c ? new CertId(c.HashAlgorithm, c.IssuerNameHash, c.IssuerKeyHash,
            SerialNumber.FromMagnitude(BitConverter.GetBytes(i))) : null!).ToList();
        byte[] big = OcspRequest.Encode(many);
        Assert.True(big.Length > OcspRequest.DefaultMaxLength);
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(big.AsMemory()));
        Assert.Equal(200, OcspRequest.Decode(big.AsMemory(), maxLength: big.Length).Requests.Count);
    }

    [Fact]
    public void Empty_request_list_is_rejected()
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.PushSequence();
        w.PushSequence();
        w.PopSequence();
        w.PopSequence();
        w.PopSequence();
        var e = Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(w.Encode().AsMemory()));
        Assert.Contains("empty", e.Message, StringComparison.OrdinalIgnoreCase);
        byte[] encodedEmpty = OcspRequest.Encode([]);
        Assert.Equal(w.Encode(), encodedEmpty);
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(encodedEmpty.AsMemory()));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(16, true)]
    [InlineData(32, true)]
    [InlineData(127, true)]
    [InlineData(128, true)]
    [InlineData(129, false)]
    [InlineData(1000, false)]
    public void Nonce_length_rules(int length, bool accepted)
    {
        byte[] nonce = new byte[length];
        new Random(length).NextBytes(nonce);
        byte[] der = OcspRequest.Encode([SomeCertId()], nonce);
        if (accepted) Assert.Equal(nonce, OcspRequest.Decode(der.AsMemory()).Nonce);
        else Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(der.AsMemory()));

        // The same through the raw (unwrapped) form some old clients send.
        if (length > 0 && nonce[0] != 0x04)
        {
            byte[] raw = BuildRequest(SomeCertId(), extensions: [(Oids.OcspNonce, false, nonce)]);
            if (accepted) Assert.Equal(nonce, OcspRequest.Decode(raw.AsMemory()).Nonce);
            else Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(raw.AsMemory()));
        }
    }

    /// <summary>A request built by hand, for shapes <see cref="OcspRequest.Encode"/> does not write.</summary>
    private static byte[] BuildRequest(CertId id, (string Oid, bool Critical, byte[] Value)[]? extensions = null, int? version = null,
        bool requestorName = false, bool signature = false, byte[]? serialContents = null, bool emptyExtensions = false,
        (string Oid, bool Critical, byte[] Value)[]? singleExtensions = null)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.PushSequence(); // TBSRequest
        if (version is { } v)
        {
            w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
            w.WriteInteger(v);
            w.PopSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
        }
        if (requestorName)
        {
            w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1));
            w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 4)); // directoryName
            w.PushSequence();
            w.PopSequence();
            w.PopSequence(new Asn1Tag(TagClass.ContextSpecific, 4));
            w.PopSequence(new Asn1Tag(TagClass.ContextSpecific, 1));
        }
        w.PushSequence();
        w.PushSequence(); // Request
        if (serialContents is null)
        {
            id.Encode(w);
        }
        else
        {
            w.PushSequence();
            w.PushSequence();
            w.WriteObjectIdentifier(id.HashAlgorithmOid);
            w.PopSequence();
            w.WriteOctetString(id.IssuerNameHash);
            w.WriteOctetString(id.IssuerKeyHash);
            w.WriteEncodedValue([0x02, (byte)serialContents.Length, .. serialContents]);
            w.PopSequence();
        }
        if (singleExtensions is not null) WriteExtensions(w, singleExtensions, 0);
        w.PopSequence();
        w.PopSequence();
        if (emptyExtensions)
        {
            w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 2));
            w.PushSequence();
            w.PopSequence();
            w.PopSequence(new Asn1Tag(TagClass.ContextSpecific, 2));
        }
        else if (extensions is not null)
        {
            WriteExtensions(w, extensions, 2);
        }
        w.PopSequence();
        if (signature)
        {
            w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
            w.PushSequence();
            w.PushSequence();
            w.WriteObjectIdentifier(Oids.EcdsaWithSha256);
            w.PopSequence();
            w.WriteBitString(new byte[8]);
            w.PopSequence();
            w.PopSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
        }
        w.PopSequence();
        return w.Encode();

        static void WriteExtensions(AsnWriter w, (string Oid, bool Critical, byte[] Value)[] extensions, int tag)
        {
            w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, tag));
            w.PushSequence();
            foreach (var (oid, critical, value) in extensions)
            {
                w.PushSequence();
                w.WriteObjectIdentifier(oid);
                if (critical) w.WriteBoolean(true);
                w.WriteOctetString(value);
                w.PopSequence();
            }
            w.PopSequence();
            w.PopSequence(new Asn1Tag(TagClass.ContextSpecific, tag));
        }
    }

    [Fact]
    public void Optional_fields_and_their_rules()
    {
        var id = SomeCertId();
        // The hand-built encoder agrees with Encode for the plain shape.
        Assert.Equal(OcspRequest.Encode([id]), BuildRequest(id));

        // Explicit v1 (DER forbids it, clients send it): accepted. v2: rejected.
        Assert.Equal(id, OcspRequest.Decode(BuildRequest(id, version: 0).AsMemory()).FirstCertId);
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(BuildRequest(id, version: 1).AsMemory()));

        var named = OcspRequest.Decode(BuildRequest(id, requestorName: true, signature: true).AsMemory());
        Assert.True(named.HasRequestorName);
        Assert.True(named.IsSigned);

        // CertID hash algorithm with absent parameters (RFC 5754) is read the same.
        Assert.Equal(id, OcspRequest.Decode(BuildRequest(id, serialContents: id.SerialNumber.ToIntegerContents()).AsMemory()).FirstCertId);

        // Negative and non-minimal serials are refused.
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(BuildRequest(id, serialContents: [0x80, 0x01]).AsMemory()));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(BuildRequest(id, serialContents: [0x00, 0x01]).AsMemory()));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(BuildRequest(id, serialContents: []).AsMemory()));

        // Extensions: an unknown one is fine (critical or not), duplicates and an empty list are not.
        var other = ("1.2.3.4", true, new byte[] { 0x05, 0x00 });
        Assert.Null(OcspRequest.Decode(BuildRequest(id, extensions: [other]).AsMemory()).Nonce);
        var withNonce = OcspRequest.Decode(BuildRequest(id, extensions: [other, (Oids.OcspNonce, false, [0x04, 0x02, 0xAB, 0xCD])]).AsMemory());
        Assert.Equal([0xAB, 0xCD], withNonce.Nonce);
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(BuildRequest(id, extensions: [other, other]).AsMemory()));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(BuildRequest(id, emptyExtensions: true).AsMemory()));

        var single = OcspRequest.Decode(BuildRequest(id, singleExtensions: [("1.3.6.1.5.5.7.48.1.7", false, [0x30, 0x00])]).AsMemory());
        Assert.True(single.Requests[0].HasSingleRequestExtensions);

        // BER that is not DER: indefinite length.
        byte[] der = OcspRequest.Encode([id]);
        AsnDecoder.ReadEncodedValue(der, AsnEncodingRules.DER, out int contentOffset, out int contentLength, out _);
        byte[] indefinite = [0x30, 0x80, .. der.AsSpan(contentOffset, contentLength), 0x00, 0x00];
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(indefinite.AsMemory()));
        // Long-form length where the short form fits.
        byte[] longForm = [0x30, 0x82, (byte)(contentLength >> 8), (byte)contentLength, .. der.AsSpan(contentOffset, contentLength)];
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(longForm.AsMemory()));
        Assert.Throws<MalformedRequestException>(() => OcspRequest.Decode(indefinite.AsMemory()));
    }
}
