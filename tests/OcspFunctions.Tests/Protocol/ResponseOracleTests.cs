using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;
using OcspFunctions.Tests.Pki;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using X509Certificate = Org.BouncyCastle.X509.X509Certificate;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;
using BcCertStatus = Org.BouncyCastle.Ocsp.CertificateStatus;

namespace OcspFunctions.Tests.Protocol;

/// <summary>
/// Responses written by <see cref="OcspResponseWriter"/> checked against two independent readers: the
/// <c>openssl ocsp</c> binary (signature, chain, delegated-responder rules, status and times as it prints them)
/// and BouncyCastle (parse, signature, CertID matching, values), plus System.Formats.Asn1 for the DER details.
/// </summary>
[Collection("pki")]
public sealed class ResponseOracleTests(TestPki pki)
{
    // CA/Browser Forum Baseline Requirements §7.1.3.2.1 / §7.1.3.2.2 — copied from the BR text, not from the library.
    private const string Rs256AlgorithmIdentifier = "300d06092a864886f70d01010b0500";
    private const string Ps256AlgorithmIdentifier =
        "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120";
    private const string Es256AlgorithmIdentifier = "300a06082a8648ce3d040302";

    public static TheoryData<string, string> Signers => new()
    {
        { "rsa", "RS256" },
        { "rsa", "PS256" },
        { "ec", "ES256" },
    };

    /// <summary>Whole seconds, a little in the past (openssl refuses thisUpdate more than 5 minutes ahead).</summary>
    private static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-10);
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }

    private static LocalKeySigner Signer(TestCa ca, string algorithm, string? keyPath = null)
    {
        var signer = LocalKeySigner.FromFile(keyPath ?? ca.ResponderKeyPath, usePss: algorithm == "PS256");
        Assert.Equal(algorithm, signer.Algorithm.Name);
        return signer;
    }

    private static CertId CertIdOf(TestCa ca, string serialHex, CertIdHashAlgorithm hash = CertIdHashAlgorithm.Sha1) =>
        new OcspIssuer(ca.Certificate).CertIdFor(SerialNumber.ParseHex(serialHex), hash);

    private static CertStatus ExpectedStatus(TestLeaf leaf) =>
        leaf.IsRevoked ? CertStatus.Revoked(leaf.RevocationTime!.Value, (RevocationReason?)leaf.CrlReasonCode) : CertStatus.Good;

    private static string RandomSerialHex(bool highBit)
    {
        var b = RandomNumberGenerator.GetBytes(16);
        b[0] = highBit ? (byte)(b[0] | 0x80) : (byte)((b[0] & 0x7F) | 0x10);
        return Convert.ToHexString(b);
    }

    private static string CertIdDigest(CertIdHashAlgorithm hash) => hash == CertIdHashAlgorithm.Sha1 ? "sha1" : "sha256";

    // ------------------------------------------------------------------ openssl oracle

    private static void AssertOpenSslStatus(OpenSslOcspResult result, OcspTarget target, SingleResponse expected, string? expectedReason)
    {
        var s = result[target];
        string context = result.ToString();
        switch (expected.Status.Kind)
        {
            case CertStatusKind.Good: Assert.True(s.Status == "good", context); break;
            case CertStatusKind.Unknown: Assert.True(s.Status == "unknown", context); break;
            case CertStatusKind.Revoked:
                Assert.True(s.Status == "revoked", context);
                Assert.Equal(OcspOracle.Format(expected.Status.RevocationTime), s.RevocationTime);
                Assert.Equal(expectedReason, s.Reason);
                break;
        }
        if (expected.Status.Kind != CertStatusKind.Revoked)
        {
            Assert.Null(s.RevocationTime);
            Assert.Null(s.Reason);
        }
        Assert.Equal(OcspOracle.Format(expected.ThisUpdate), s.ThisUpdate);
        Assert.Equal(OcspOracle.Format(expected.NextUpdate!.Value), s.NextUpdate);
    }

    private static void AssertVerifyOk(OpenSslOcspResult result)
    {
        Assert.True(result.VerifyOk, "openssl did not verify the response:\n" + result);
        Assert.DoesNotContain("Verify Failure", result.Raw.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("invalid", result.Raw.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, result.Raw.ExitCode);
    }

    // ------------------------------------------------------------------ BouncyCastle / DER oracle

    private static X509Certificate Bc(X509Certificate2 certificate) => new X509CertificateParser().ReadCertificate(certificate.RawData);

    /// <summary>Parses and verifies with BouncyCastle; checks the DER, algorithm identifier, responder ID and certs.</summary>
    private static BasicOcspResp AssertBouncyCastle(byte[] der, X509Certificate2 responderCertificate, string algorithm,
        DateTimeOffset producedAt, bool certIncluded = true)
    {
        // Canonical DER: BouncyCastle's DER re-encoding of the parsed structure gives the same bytes.
        Assert.Equal(Convert.ToHexString(der), Convert.ToHexString(Asn1Object.FromByteArray(der).GetDerEncoded()));

        var resp = new OcspResp(der);
        Assert.Equal(OcspRespStatus.Successful, resp.Status);
        var basic = Assert.IsType<BasicOcspResp>(resp.GetResponseObject());
        Assert.Equal(1, basic.Version);

        var responder = Bc(responderCertificate);
        Assert.True(VerifyWithBouncyCastle(basic, responder.GetPublicKey(), algorithm), "BouncyCastle rejects the signature");

        var asn1 = Org.BouncyCastle.Asn1.Ocsp.BasicOcspResponse.GetInstance(Asn1Object.FromByteArray(basic.GetEncoded()));
        string expectedAlgId = algorithm switch
        {
            "RS256" => Rs256AlgorithmIdentifier,
            "PS256" => Ps256AlgorithmIdentifier,
            "ES256" => Es256AlgorithmIdentifier,
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
        };
        Assert.Equal(expectedAlgId, Convert.ToHexString(asn1.SignatureAlgorithm.GetDerEncoded()).ToLowerInvariant());

        // ResponderID byKey: SHA-1 of the responder's subjectPublicKey BIT STRING value (RFC 6960 §4.2.1).
        var responderId = asn1.TbsResponseData.ResponderID;
        var keyHash = Assert.IsAssignableFrom<Asn1OctetString>(responderId.ToAsn1Object() is Asn1TaggedObject t && t.TagNo == 2
            ? Asn1OctetString.GetInstance(t, true)
            : null);
        byte[] spk = SubjectPublicKeyInfoFactory(responder).PublicKey.GetBytes();
        Assert.Equal(Convert.ToHexString(SHA1.HashData(spk)), Convert.ToHexString(keyHash.GetOctets()));

        var certs = basic.GetCerts();
        if (certIncluded)
        {
            var single = Assert.Single(certs);
            Assert.Equal(responderCertificate.RawData, single.GetEncoded());
        }
        else
        {
            Assert.Empty(certs);
        }

        Assert.Equal(producedAt.UtcDateTime, basic.ProducedAt);
        AssertTimesAreWholeSecondsZulu(basic.GetTbsResponseData());
        return basic;
    }

    private static Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo SubjectPublicKeyInfoFactory(X509Certificate cert) =>
        Org.BouncyCastle.Asn1.X509.X509CertificateStructure.GetInstance(Asn1Object.FromByteArray(cert.GetEncoded()))
            .SubjectPublicKeyInfo;

    private static bool VerifyWithBouncyCastle(BasicOcspResp basic, AsymmetricKeyParameter key, string algorithm)
    {
        if (algorithm != "PS256") return basic.Verify(key);

        // BouncyCastle 2.x verifies PSS with the parameters the response declares; check that they are the BR profile's
        // (SHA-256, MGF1-SHA-256, salt 32, trailer 1) and that a verifier fixed to that profile agrees.
        bool declared = basic.Verify(key);
        var asn1 = Org.BouncyCastle.Asn1.Ocsp.BasicOcspResponse.GetInstance(Asn1Object.FromByteArray(basic.GetEncoded()));
        Assert.Equal(PkcsObjectIdentifiers.IdRsassaPss, asn1.SignatureAlgorithm.Algorithm);
        var pss = RsassaPssParameters.GetInstance(asn1.SignatureAlgorithm.Parameters);
        Assert.Equal("2.16.840.1.101.3.4.2.1", pss.HashAlgorithm.Algorithm.Id);
        Assert.Equal(PkcsObjectIdentifiers.IdMgf1, pss.MaskGenAlgorithm.Algorithm);
        Assert.Equal("2.16.840.1.101.3.4.2.1",
            Org.BouncyCastle.Asn1.X509.AlgorithmIdentifier.GetInstance(pss.MaskGenAlgorithm.Parameters).Algorithm.Id);
        Assert.Equal(32, pss.SaltLength.Value.IntValue);
        Assert.Equal(1, pss.TrailerField.Value.IntValue);
        var signer = SignerUtilities.GetSigner("SHA256WITHRSAANDMGF1"); // PSS, SHA-256, MGF1-SHA-256, salt 32
        signer.Init(false, key);
        byte[] tbs = basic.GetTbsResponseData();
        signer.BlockUpdate(tbs, 0, tbs.Length);
        bool fixedProfile = signer.VerifySignature(basic.GetSignature());
        Assert.Equal(fixedProfile, declared);
        return fixedProfile;
    }

    /// <summary>Every GeneralizedTime in ResponseData is exactly YYYYMMDDHHMMSSZ (RFC 5019 §2.2.4), read with System.Formats.Asn1.</summary>
    private static List<string> AssertTimesAreWholeSecondsZulu(byte[] responseData)
    {
        var times = new List<string>();
        Collect(new AsnReader(responseData, AsnEncodingRules.DER), times);
        Assert.NotEmpty(times);
        foreach (var time in times)
            Assert.Matches(new Regex(@"^\d{14}Z$"), time);
        return times;

        static void Collect(AsnReader reader, List<string> times)
        {
            while (reader.HasData)
            {
                var tag = reader.PeekTag();
                if (tag.IsConstructed)
                {
                    var contents = reader.PeekContentBytes();
                    reader.ReadEncodedValue();
                    Collect(new AsnReader(contents, AsnEncodingRules.DER), times);
                }
                else if (tag == Asn1Tag.GeneralizedTime)
                {
                    times.Add(Encoding.ASCII.GetString(reader.PeekContentBytes().Span));
                    reader.ReadEncodedValue();
                }
                else
                {
                    reader.ReadEncodedValue();
                }
            }
        }
    }

    private static string Raw(DateTimeOffset t) => t.UtcDateTime.ToString("yyyyMMddHHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Finds the SingleResp whose CertID BouncyCastle computes for this issuer and serial, and checks it.</summary>
    private static void AssertBouncyCastleSingle(BasicOcspResp basic, X509Certificate2 issuer, string serialHex,
        CertIdHashAlgorithm hash, SingleResponse expected)
    {
        var hashAlgorithm = new Org.BouncyCastle.Asn1.X509.AlgorithmIdentifier(
            hash == CertIdHashAlgorithm.Sha1 ? OiwObjectIdentifiers.IdSha1 : NistObjectIdentifiers.IdSha256, DerNull.Instance);
        var id = new CertificateID(hashAlgorithm, Bc(issuer), new BcBigInteger(serialHex, 16));
        var responses = basic.Responses;
        var single = Assert.Single(responses, r => r.GetCertID().Equals(id));
        int index = Array.IndexOf(responses, single);
        Assert.True(single.GetCertID().MatchesIssuer(Bc(issuer)));
        Assert.Equal(new BcBigInteger(serialHex, 16), single.GetCertID().SerialNumber);

        var status = single.GetCertStatus();
        switch (expected.Status.Kind)
        {
            case CertStatusKind.Good:
                Assert.True(status == BcCertStatus.Good, $"expected good, BouncyCastle read {status}");
                break;
            case CertStatusKind.Unknown:
                Assert.IsType<UnknownStatus>(status);
                break;
            case CertStatusKind.Revoked:
                var revoked = Assert.IsType<RevokedStatus>(status);
                Assert.Equal(expected.Status.RevocationTime.UtcDateTime, revoked.RevocationTime);
                Assert.Equal(expected.Status.Reason is not null, revoked.HasRevocationReason);
                if (expected.Status.Reason is { } reason) Assert.Equal((int)reason, revoked.RevocationReason);
                break;
        }
        Assert.Equal(expected.ThisUpdate.UtcDateTime, single.ThisUpdate);
        Assert.Equal(expected.NextUpdate!.Value.UtcDateTime, Assert.NotNull(single.NextUpdate));

        // The raw GeneralizedTime strings BouncyCastle keeps.
        var asn1 = Org.BouncyCastle.Asn1.Ocsp.SingleResponse.GetInstance(
            Org.BouncyCastle.Asn1.Ocsp.BasicOcspResponse.GetInstance(Asn1Object.FromByteArray(basic.GetEncoded()))
                .TbsResponseData.Responses[index]);
        Assert.Equal(Raw(expected.ThisUpdate), asn1.ThisUpdate.TimeString);
        Assert.Equal(Raw(expected.NextUpdate.Value), asn1.NextUpdate.TimeString);
        if (expected.Status.Kind == CertStatusKind.Revoked)
        {
            var info = Org.BouncyCastle.Asn1.Ocsp.RevokedInfo.GetInstance(asn1.CertStatus.Status);
            Assert.Equal(Raw(expected.Status.RevocationTime), info.RevocationTime.TimeString);
        }
    }

    // ------------------------------------------------------------------ tests

    /// <summary>
    /// The stored form (BasicOCSPResponse without certs, as packs keep it) wrapped with the certs field gives exactly the
    /// response <see cref="OcspResponseWriter.WriteAsync"/> writes: byte for byte with RSA PKCS#1 v1.5 (deterministic),
    /// and openssl + BouncyCastle accept it for every signer.
    /// </summary>
    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Stored_form_wrapped_with_its_certificates_is_the_complete_response(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var leaf = ca.Leaves.First(l => l.IsRevoked);
        var single = new SingleResponse(CertIdOf(ca, leaf.SerialHex), ExpectedStatus(leaf), now, now.AddDays(4));

        byte[] stored = await writer.WriteStoredFormAsync([single], now);
        var fields = new AsnReader(stored, AsnEncodingRules.DER).ReadSequence();
        fields.ReadSequence();                                   // tbsResponseData
        fields.ReadSequence();                                   // signatureAlgorithm
        fields.ReadBitString(out _);                             // signature
        Assert.False(fields.HasData);                            // no certs

        byte[] der = OcspResponseWriter.Wrap(stored, writer.CertificatesField.Span);
        if (algorithm == "RS256") Assert.Equal(await writer.WriteAsync([single], now), der);
        var openssl = OcspOracle.Check(pki, der, ca, OcspTarget.Leaf(leaf));
        AssertVerifyOk(openssl);
        AssertOpenSslStatus(openssl, OcspTarget.Leaf(leaf), single, leaf.OpenSslReason);
        var basic = AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
        AssertBouncyCastleSingle(basic, ca.Certificate, leaf.SerialHex, CertIdHashAlgorithm.Sha1, single);

        // Without a certificate (the CA signs itself) the certs field is empty and stays absent.
        var bare = new OcspResponseWriter(ca.ResponderCertificate, signer, includeCertificate: false);
        Assert.True(bare.CertificatesField.IsEmpty);
        byte[] withoutCerts = OcspResponseWriter.Wrap(await bare.WriteStoredFormAsync([single], now), []);
        Assert.Empty(OcspResponse.Decode(withoutCerts).Basic!.Certificates);
        if (algorithm == "RS256") Assert.Equal(await bare.WriteAsync([single], now), withoutCerts);
    }

    [Fact]
    public async Task Wrap_refuses_what_is_not_a_stored_form()
    {
        var ca = pki.Ca("rsa");
        using var signer = Signer(ca, "RS256");
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var single = new SingleResponse(CertIdOf(ca, ca.Leaves[0].SerialHex), CertStatus.Good, now, now.AddDays(4));
        byte[] stored = await writer.WriteStoredFormAsync([single], now);
        byte[] complete = await writer.WriteAsync([single], now);
        var basicWithCerts = new AsnReader(complete, AsnEncodingRules.DER).ReadSequence();
        basicWithCerts.ReadEnumeratedBytes();
        var inner = basicWithCerts.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence();
        inner.ReadObjectIdentifier();
        byte[] fourFields = inner.ReadOctetString();

        Assert.Throws<MalformedResponseException>(() => OcspResponseWriter.Wrap([.. stored, 0x05, 0x00], writer.CertificatesField.Span));
        Assert.Throws<MalformedResponseException>(() => OcspResponseWriter.Wrap(stored.AsSpan(0, stored.Length - 1), writer.CertificatesField.Span));
        Assert.Throws<MalformedResponseException>(() => OcspResponseWriter.Wrap(fourFields, writer.CertificatesField.Span));
        Assert.Throws<MalformedResponseException>(() => OcspResponseWriter.Wrap([0x05, 0x00], []));
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Single_response_for_every_leaf_and_an_unknown_serial(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();

        string unknownSerial = RandomSerialHex(true);
        var cases = ca.Leaves.Select(l => (Serial: l.SerialHex, Target: OcspTarget.Leaf(l), Status: ExpectedStatus(l), Reason: l.OpenSslReason))
            .Append((Serial: unknownSerial, Target: OcspTarget.Serial(unknownSerial), Status: CertStatus.Unknown, Reason: null))
            .ToList();
        Assert.Contains(cases, c => c.Status.Kind == CertStatusKind.Revoked && c.Status.Reason is not null);

        foreach (var c in cases)
        {
            var target = c.Target;
            var expected = new SingleResponse(CertIdOf(ca, c.Serial), c.Status, now, now.AddDays(7));
            byte[] der = await writer.WriteAsync([expected], now);

            var openssl = OcspOracle.Check(pki, der, ca, target);
            AssertVerifyOk(openssl);
            AssertOpenSslStatus(openssl, target, expected, c.Reason);

            var basic = AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
            Assert.Single(basic.Responses);
            AssertBouncyCastleSingle(basic, ca.Certificate, c.Serial, CertIdHashAlgorithm.Sha1, expected);
            Assert.Null(basic.GetExtensionValue(new DerObjectIdentifier(Oids.OcspExtendedRevoke)));

            int expectedTimes = 3 + (c.Status.Kind == CertStatusKind.Revoked ? 1 : 0); // producedAt, this, next, revocation
            Assert.Equal(expectedTimes, AssertTimesAreWholeSecondsZulu(basic.GetTbsResponseData()).Count);
        }
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Several_single_responses_with_sha1_and_sha256_certids(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();

        var entries = new List<(string Serial, CertIdHashAlgorithm Hash, OcspTarget Target, SingleResponse Expected, string? Reason)>();
        int i = 0;
        foreach (var leaf in ca.Leaves)
        {
            var hash = i++ % 2 == 0 ? CertIdHashAlgorithm.Sha256 : CertIdHashAlgorithm.Sha1;
            var expected = new SingleResponse(CertIdOf(ca, leaf.SerialHex, hash), ExpectedStatus(leaf), now.AddMinutes(-i), now.AddDays(4));
            entries.Add((leaf.SerialHex, hash, OcspTarget.Leaf(leaf, CertIdDigest(hash)), expected, leaf.OpenSslReason));
        }
        foreach (var hash in new[] { CertIdHashAlgorithm.Sha1, CertIdHashAlgorithm.Sha256 })
        {
            string serial = RandomSerialHex(hash == CertIdHashAlgorithm.Sha1);
            var expected = new SingleResponse(CertIdOf(ca, serial, hash), CertStatus.Unknown, now, now.AddHours(12));
            entries.Add((serial, hash, OcspTarget.Serial(serial, CertIdDigest(hash)), expected, null));
        }

        byte[] der = await writer.WriteAsync(entries.Select(e => e.Expected).ToList(), now);

        var openssl = OcspOracle.Check(pki, der, ca, entries.Select(e => e.Target), null);
        AssertVerifyOk(openssl);
        foreach (var e in entries) AssertOpenSslStatus(openssl, e.Target, e.Expected, e.Reason);
        Assert.Equal(entries.Count, Regex.Matches(openssl.Raw.StdOut, "Cert Status: ").Count);

        var basic = AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
        Assert.Equal(entries.Count, basic.Responses.Length);
        foreach (var e in entries) AssertBouncyCastleSingle(basic, ca.Certificate, e.Serial, e.Hash, e.Expected);

        // Order is kept: the i-th SingleResponse is the i-th one given.
        for (int k = 0; k < entries.Count; k++)
            Assert.Equal(new BcBigInteger(entries[k].Serial, 16), basic.Responses[k].GetCertID().SerialNumber);
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Revoked_with_and_without_a_reason(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var leaf = ca.Revoked.First();
        var revokedAt = now.AddDays(-3).AddSeconds(17);

        foreach (var (reason, name) in new (RevocationReason?, string?)[]
                 {
                     (RevocationReason.KeyCompromise, "keyCompromise"),
                     (null, null),
                     (RevocationReason.Unspecified, "unspecified"),
                     (RevocationReason.CaCompromise, "cACompromise"),
                     (RevocationReason.AffiliationChanged, "affiliationChanged"),
                     (RevocationReason.Superseded, "superseded"),
                     (RevocationReason.CessationOfOperation, "cessationOfOperation"),
                     (RevocationReason.CertificateHold, "certificateHold"),
                 })
        {
            var expected = new SingleResponse(CertIdOf(ca, leaf.SerialHex), CertStatus.Revoked(revokedAt, reason), now, now.AddDays(1));
            byte[] der = await writer.WriteAsync([expected], now);
            var target = OcspTarget.Leaf(leaf);
            var openssl = OcspOracle.Check(pki, der, ca, target);
            AssertVerifyOk(openssl);
            AssertOpenSslStatus(openssl, target, expected, name);
            if (reason is null) Assert.DoesNotContain("Revocation Reason", openssl.Raw.StdOut, StringComparison.Ordinal);
            else Assert.Contains($"Revocation Reason: {name} (0x{(int)reason:x})", openssl.Raw.StdOut, StringComparison.Ordinal);

            var basic = AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
            AssertBouncyCastleSingle(basic, ca.Certificate, leaf.SerialHex, CertIdHashAlgorithm.Sha1, expected);
        }
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Non_issued_serial_is_revoked_certificateHold_at_the_epoch_with_extended_revoke(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        string serial = RandomSerialHex(highBit: true);
        var expected = new SingleResponse(CertIdOf(ca, serial, CertIdHashAlgorithm.Sha256), CertStatus.NonIssued, now, now.AddDays(7));

        byte[] der = await writer.WriteAsync([expected], now, extendedRevoke: true);

        var target = OcspTarget.Serial(serial, "sha256");
        var openssl = OcspOracle.Check(pki, der, ca, target);
        AssertVerifyOk(openssl);
        AssertOpenSslStatus(openssl, target, expected, "certificateHold");
        Assert.Equal("Jan  1 00:00:00 1970 GMT", openssl[target].RevocationTime);
        Assert.Contains("Response Extensions:", openssl.Raw.StdOut, StringComparison.Ordinal);

        var basic = AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
        AssertBouncyCastleSingle(basic, ca.Certificate, serial, CertIdHashAlgorithm.Sha256, expected);
        var revoked = Assert.IsType<RevokedStatus>(basic.Responses[0].GetCertStatus());
        Assert.Equal(new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc), revoked.RevocationTime);
        Assert.Equal(6, revoked.RevocationReason); // certificateHold (RFC 5280 §5.3.1)

        // responseExtensions: id-pkix-ocsp-extended-revoke, non-critical, extnValue = DER NULL (RFC 6960 §4.4.8).
        var oid = new DerObjectIdentifier("1.3.6.1.5.5.7.48.1.9");
        Assert.Contains(oid.Id, basic.GetNonCriticalExtensionOids().Cast<string>());
        Assert.DoesNotContain(oid.Id, basic.GetCriticalExtensionOids()?.Cast<string>() ?? []);
        Assert.Equal("0500", Convert.ToHexString(Asn1OctetString.GetInstance(basic.GetExtensionValue(oid)).GetOctets()));
        Assert.Equal("19700101000000Z", AssertTimesAreWholeSecondsZulu(basic.GetTbsResponseData())[1]);
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Times_are_utc_whole_seconds_whatever_offset_and_fraction_is_given(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var india = TimeSpan.FromMinutes(330);
        var leaf = ca.Revoked.First();

        var given = new SingleResponse(CertIdOf(ca, leaf.SerialHex),
            CertStatus.Revoked(now.AddDays(-1).AddTicks(9_999_999).ToOffset(india), RevocationReason.Superseded),
            now.AddTicks(4_567_891).ToOffset(india), now.AddDays(2).AddMilliseconds(999).ToOffset(-TimeSpan.FromHours(7)));
        var producedGiven = now.AddMilliseconds(500).ToOffset(india);
        var expected = new SingleResponse(given.CertId, CertStatus.Revoked(now.AddDays(-1), RevocationReason.Superseded), now, now.AddDays(2));

        byte[] der = await writer.WriteAsync([given], producedGiven);

        var target = OcspTarget.Leaf(leaf);
        var openssl = OcspOracle.Check(pki, der, ca, target);
        AssertVerifyOk(openssl);
        AssertOpenSslStatus(openssl, target, expected, "superseded");
        Assert.Contains("Produced At: " + OcspOracle.Format(now), openssl.Raw.StdOut, StringComparison.Ordinal);

        var basic = AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
        AssertBouncyCastleSingle(basic, ca.Certificate, leaf.SerialHex, CertIdHashAlgorithm.Sha1, expected);
        Assert.Equal([Raw(now), Raw(now.AddDays(-1)), Raw(now), Raw(now.AddDays(2))],
            AssertTimesAreWholeSecondsZulu(basic.GetTbsResponseData()));
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Signature_algorithm_is_what_openssl_names(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var leaf = ca.Good.First();
        byte[] der = await writer.WriteAsync([new SingleResponse(CertIdOf(ca, leaf.SerialHex), CertStatus.Good, now, now.AddDays(1))], now);

        var openssl = OcspOracle.Check(pki, der, ca, OcspTarget.Leaf(leaf));
        AssertVerifyOk(openssl);
        string firstSignatureLine = openssl.Raw.StdOut.Split('\n').First(l => l.Contains("Signature Algorithm:", StringComparison.Ordinal)).Trim();
        Assert.Equal(algorithm switch
        {
            "RS256" => "Signature Algorithm: sha256WithRSAEncryption",
            "PS256" => "Signature Algorithm: rsassaPss",
            _ => "Signature Algorithm: ecdsa-with-SHA256",
        }, firstSignatureLine);
        if (algorithm == "PS256")
        {
            Assert.Contains("Hash Algorithm: sha256", openssl.Raw.StdOut, StringComparison.Ordinal);
            Assert.Contains("Mask Algorithm: mgf1 with sha256", openssl.Raw.StdOut, StringComparison.Ordinal);
            Assert.Contains("Salt Length: 0x20", openssl.Raw.StdOut, StringComparison.Ordinal);
        }

        // And the responder ID openssl prints is the SHA-1 key hash computed by openssl from the certificate.
        string dir = pki.NewWorkDir("spki");
        var pub = OpenSsl.Run(dir, "x509", "-in", ca.ResponderCertPath, "-noout", "-pubkey");
        File.WriteAllText(Path.Combine(dir, "pub.pem"), pub.StdOut);
        OpenSsl.Run(dir, "pkey", "-pubin", "-in", "pub.pem", "-outform", "DER", "-out", "pub.der");
        var spki = new AsnReader(File.ReadAllBytes(Path.Combine(dir, "pub.der")), AsnEncodingRules.DER).ReadSequence();
        spki.ReadSequence();
        byte[] subjectPublicKey = spki.ReadBitString(out _);
        Assert.Contains("Responder Id: " + Convert.ToHexString(SHA1.HashData(subjectPublicKey)), openssl.Raw.StdOut, StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexString(SHA1.HashData(subjectPublicKey)), Convert.ToHexString(writer.ResponderKeyHash));
    }

    [Theory]
    [InlineData("rsa", "RS256", true)]
    [InlineData("rsa", "RS256", false)]
    [InlineData("rsa", "PS256", true)]
    [InlineData("rsa", "PS256", false)]
    [InlineData("ec", "ES256", true)]
    [InlineData("ec", "ES256", false)]
    public async Task Both_key_file_formats_load_and_sign(string caName, string algorithm, bool pkcs8)
    {
        var ca = pki.Ca(caName);
        string path = pkcs8 ? ca.ResponderKeyPkcs8Path : ca.ResponderKeyTraditionalPath;
        string header = File.ReadLines(path).First();
        Assert.Equal(pkcs8 ? "-----BEGIN PRIVATE KEY-----" : ca.IsRsa ? "-----BEGIN RSA PRIVATE KEY-----" : "-----BEGIN EC PRIVATE KEY-----", header);

        using var signer = Signer(ca, algorithm, path);
        // The signer's public key is the responder certificate's (openssl's DER of the certificate's key).
        string dir = pki.NewWorkDir("spki");
        OpenSsl.Run(dir, "pkey", "-in", path, "-pubout", "-outform", "DER", "-out", "pub.der");
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "pub.der")), await signer.GetSubjectPublicKeyInfoAsync(default));
        Assert.Equal(ca.ResponderCertificate.PublicKey.ExportSubjectPublicKeyInfo(), await signer.GetSubjectPublicKeyInfoAsync(default));

        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var leaf = ca.Good.Last();
        var expected = new SingleResponse(CertIdOf(ca, leaf.SerialHex), CertStatus.Good, now, now.AddDays(1));
        byte[] der = await writer.WriteAsync([expected], now);
        var openssl = OcspOracle.Check(pki, der, ca, OcspTarget.Leaf(leaf));
        AssertVerifyOk(openssl);
        AssertOpenSslStatus(openssl, OcspTarget.Leaf(leaf), expected, null);
        AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Without_the_responder_certificate_openssl_needs_it_supplied(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer, includeCertificate: false);
        var now = Now();
        var leaf = ca.Good.First();
        var expected = new SingleResponse(CertIdOf(ca, leaf.SerialHex), CertStatus.Good, now, now.AddDays(1));
        byte[] der = await writer.WriteAsync([expected], now);
        var target = OcspTarget.Leaf(leaf);

        var alone = OcspOracle.Check(pki, der, ca, target);
        Assert.False(alone.VerifyOk, "openssl verified a response whose signer it cannot know:\n" + alone);

        var withOther = OcspOracle.Check(pki, der, ca, [target], ["-verify_other", ca.ResponderCertPath]);
        AssertVerifyOk(withOther);
        AssertOpenSslStatus(withOther, target, expected, null);

        var withVa = OcspOracle.Check(pki, der, ca, [target], ["-VAfile", ca.ResponderCertPath]);
        AssertVerifyOk(withVa);

        AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now, certIncluded: false);
    }

    [Theory]
    [InlineData("rsa", "RS256")]
    [InlineData("ec", "ES256")]
    public async Task The_CA_itself_can_sign(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        using var signer = Signer(ca, algorithm, ca.KeyPath);
        var writer = new OcspResponseWriter(ca.Certificate, signer, includeCertificate: false);
        var now = Now();
        var leaf = ca.Revoked.First();
        var expected = new SingleResponse(CertIdOf(ca, leaf.SerialHex), ExpectedStatus(leaf), now, now.AddDays(1));
        byte[] der = await writer.WriteAsync([expected], now);
        var target = OcspTarget.Leaf(leaf);

        var openssl = OcspOracle.Check(pki, der, ca, [target], ["-verify_other", ca.CertPath]);
        AssertVerifyOk(openssl);
        AssertOpenSslStatus(openssl, target, expected, leaf.OpenSslReason);
        AssertBouncyCastle(der, ca.Certificate, algorithm, now, certIncluded: false);
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task A_damaged_signature_or_a_foreign_responder_is_rejected_by_both_oracles(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        var other = pki.Cas.Single(c => c != ca);
        using var signer = Signer(ca, algorithm);
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var leaf = ca.Good.First();
        var single = new SingleResponse(CertIdOf(ca, leaf.SerialHex), CertStatus.Good, now, now.AddDays(1));
        byte[] tbs = writer.EncodeResponseData([single], now);
        byte[] signature = await signer.SignAsync(tbs, default);

        // Untouched: both accept (the control).
        byte[] good = writer.Assemble(tbs, signature);
        AssertVerifyOk(OcspOracle.Check(pki, good, ca, OcspTarget.Leaf(leaf)));

        // One flipped bit in the signed data, where the DER stays valid: the last octet of the CertID's serialNumber
        // (bit 0 of a non-leading octet changes neither the sign nor the minimal encoding). BouncyCastle 2.x parses
        // strictly, so this must be a signature failure, not a parse error.
        byte[] tampered = (byte[])tbs.Clone();
        tampered[SerialLastOctetOffset(tbs)] ^= 0x01;
        byte[] bad = writer.Assemble(tampered, signature);
        var openssl = OcspOracle.Check(pki, bad, ca, OcspTarget.Leaf(leaf));
        Assert.False(openssl.VerifyOk, openssl.ToString());
        Assert.Contains("Response Verify Failure", openssl.Raw.Output, StringComparison.Ordinal);
        var basic = Assert.IsType<BasicOcspResp>(new OcspResp(bad).GetResponseObject());
        Assert.Single(basic.Responses); // it parsed: the refusal below is the signature's
        Assert.False(VerifyWithBouncyCastle(basic, Bc(ca.ResponderCertificate).GetPublicKey(), algorithm));

        // A flipped bit that breaks a value (the last octet of ResponseData is nextUpdate's 'Z'): BouncyCastle 2.x refuses
        // the response when reading it, before any signature check; openssl does not verify it either.
        byte[] broken = (byte[])tbs.Clone();
        Assert.Equal((byte)'Z', broken[^1]);
        broken[^1] ^= 0x01;
        byte[] unreadable = writer.Assemble(broken, signature);
        var refusal = Assert.Throws<OcspException>(() => new OcspResp(unreadable).GetResponseObject());
        Assert.Contains("invalid GeneralizedTime", refusal.ToString(), StringComparison.Ordinal);
        Assert.False(OcspOracle.Check(pki, unreadable, ca, OcspTarget.Leaf(leaf)).VerifyOk);

        // The response checked against the other CA: its responder is not authorised there.
        var foreign = OcspOracle.Check(pki, good, other, OcspTarget.Leaf(leaf));
        Assert.False(foreign.VerifyOk, foreign.ToString());
    }

    /// <summary>Offset in ResponseData of the last octet of the first SingleResponse's CertID serialNumber.</summary>
    private static int SerialLastOctetOffset(byte[] responseData)
    {
        var data = new AsnReader(responseData, AsnEncodingRules.DER).ReadSequence();
        if (data.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0))) data.ReadEncodedValue(); // version
        data.ReadEncodedValue();                                                                                 // responderID
        data.ReadGeneralizedTime();                                                                              // producedAt
        var certId = data.ReadSequence().ReadSequence().ReadSequence();                                         // responses / first / CertID
        certId.ReadSequence();                                                                                   // hashAlgorithm
        certId.ReadOctetString();                                                                                // issuerNameHash
        certId.ReadOctetString();                                                                                // issuerKeyHash
        var serial = certId.ReadIntegerBytes();
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(serial, out var segment) && segment.Array == responseData);
        return segment.Offset + segment.Count - 1;
    }

    [Theory]
    [InlineData(OcspResponseStatus.MalformedRequest, "malformedrequest")]
    [InlineData(OcspResponseStatus.InternalError, "internalerror")]
    [InlineData(OcspResponseStatus.TryLater, "trylater")]
    [InlineData(OcspResponseStatus.SigRequired, "sigrequired")]
    [InlineData(OcspResponseStatus.Unauthorized, "unauthorized")]
    public void Unsigned_error_responses(OcspResponseStatus status, string opensslName)
    {
        byte[] der = OcspErrorResponse.For(status).ToArray();

        var resp = new OcspResp(der);
        Assert.Equal((int)status, resp.Status);
        Assert.Null(resp.GetResponseObject());
        Assert.Equal(der, Asn1Object.FromByteArray(der).GetDerEncoded());

        string dir = pki.NewWorkDir("err");
        File.WriteAllBytes(Path.Combine(dir, "err.der"), der);
        var openssl = OpenSsl.Run(dir, ["ocsp", "-respin", "err.der", "-resp_text"], check: false);
        Assert.Contains($"Responder Error: {opensslName} ({(int)status})", openssl.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Response verify OK", openssl.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_response_properties_match_For()
    {
        Assert.Equal(OcspErrorResponse.For(OcspResponseStatus.MalformedRequest).ToArray(), OcspErrorResponse.MalformedRequest.ToArray());
        Assert.Equal(OcspErrorResponse.For(OcspResponseStatus.InternalError).ToArray(), OcspErrorResponse.InternalError.ToArray());
        Assert.Equal(OcspErrorResponse.For(OcspResponseStatus.TryLater).ToArray(), OcspErrorResponse.TryLater.ToArray());
        Assert.Equal(OcspErrorResponse.For(OcspResponseStatus.Unauthorized).ToArray(), OcspErrorResponse.Unauthorized.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => OcspErrorResponse.For(OcspResponseStatus.Successful));
    }

    [Fact]
    public async Task Writer_refuses_what_the_profile_forbids()
    {
        var ca = pki.EcCa;
        using var signer = Signer(ca, "ES256");
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();
        var id = CertIdOf(ca, ca.Good.First().SerialHex);
        await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync([], now));
        await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync([new SingleResponse(id, CertStatus.Good, now, null)], now));
        await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync([new SingleResponse(id, CertStatus.Good, now, now)], now));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await writer.WriteAsync([new SingleResponse(id, CertStatus.Good, now, now.AddSeconds(-1))], now));
    }

    // ------------------------------------------------------------------ remote (digest) signer

    /// <summary>A stand-in for Key Vault / an HSM: receives only the digest, returns r‖s (ECDSA) or the RSA signature octets.</summary>
    private sealed class FakeRemoteSigner(AsymmetricAlgorithm key, SignatureAlgorithm algorithm) : DigestSigner
    {
        public List<byte[]> Digests { get; } = [];

        public override SignatureAlgorithm Algorithm => algorithm;

        protected override async ValueTask<byte[]> SignDigestAsync(byte[] digest, CancellationToken cancellationToken)
        {
            await Task.Yield(); // a real remote call completes asynchronously
            Digests.Add(digest);
            return key switch
            {
                ECDsa ec => ec.SignHash(digest, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
                RSA rsa => rsa.SignHash(digest, algorithm.HashAlgorithm, algorithm.RsaPadding),
                _ => throw new InvalidOperationException(),
            };
        }

        public override ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult(key.ExportSubjectPublicKeyInfo());
    }

    [Theory]
    [MemberData(nameof(Signers))]
    public async Task Remote_digest_signer_responses_verify(string caName, string algorithm)
    {
        var ca = pki.Ca(caName);
        string pem = File.ReadAllText(ca.ResponderKeyPkcs8Path);
        using AsymmetricAlgorithm key = ca.IsRsa ? RSA.Create() : ECDsa.Create();
        key.ImportFromPem(pem);
        var signer = new FakeRemoteSigner(key, SignatureAlgorithm.FromName(algorithm));
        var writer = new OcspResponseWriter(ca.ResponderCertificate, signer);
        var now = Now();

        // Several signatures: an ECDSA r or s with a leading zero octet turns up now and then and must still verify.
        for (int round = 0; round < 8; round++)
        {
            var leaf = ca.Leaves[round % ca.Leaves.Count];
            var expected = new SingleResponse(CertIdOf(ca, leaf.SerialHex, CertIdHashAlgorithm.Sha256), ExpectedStatus(leaf), now,
                now.AddDays(1).AddSeconds(round));
            byte[] der = await writer.WriteAsync([expected], now);

            var basic = AssertBouncyCastle(der, ca.ResponderCertificate, algorithm, now);
            AssertBouncyCastleSingle(basic, ca.Certificate, leaf.SerialHex, CertIdHashAlgorithm.Sha256, expected);
            Assert.Equal(SHA256.HashData(basic.GetTbsResponseData()), signer.Digests[^1]);
            if (!ca.IsRsa)
            {
                // The BIT STRING holds a DER ECDSA-Sig-Value (RFC 3279 §2.2.3), not r‖s.
                var sig = new AsnReader(basic.GetSignature(), AsnEncodingRules.DER);
                var seq = sig.ReadSequence();
                seq.ReadInteger();
                seq.ReadInteger();
                seq.ThrowIfNotEmpty();
                sig.ThrowIfNotEmpty();
            }

            if (round < 3)
            {
                var target = OcspTarget.Leaf(leaf, "sha256");
                var openssl = OcspOracle.Check(pki, der, ca, target);
                AssertVerifyOk(openssl);
                AssertOpenSslStatus(openssl, target, expected, leaf.OpenSslReason);
            }
        }
        Assert.Equal(8, signer.Digests.Count);
    }
}

/// <summary>Raw r‖s ⇄ DER ECDSA-Sig-Value, checked against .NET's own two formats and BouncyCastle's DER.</summary>
public sealed class EcdsaSignatureTests
{
    [Theory]
    [InlineData("nistP256", 32)]
    [InlineData("nistP384", 48)]
    [InlineData("nistP521", 66)] // a SEQUENCE over 127 octets: the long length form
    public void Raw_to_der_and_back_matches_dotnet(string curve, int fieldSize)
    {
        using var key = ECDsa.Create(ECCurve.CreateFromFriendlyName(curve));
        var random = new Random(1234 + fieldSize);
        var data = new byte[64];
        for (int i = 0; i < 300; i++)
        {
            random.NextBytes(data);
            byte[] raw = key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            byte[] der = EcdsaSignature.RawToDer(raw, fieldSize);
            Assert.True(key.VerifyData(data, der, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
            Assert.Equal(raw, EcdsaSignature.DerToRaw(der, fieldSize));

            byte[] dotnetDer = key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
            byte[] back = EcdsaSignature.DerToRaw(dotnetDer, fieldSize);
            Assert.Equal(fieldSize * 2, back.Length);
            Assert.True(key.VerifyData(data, back, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
            Assert.Equal(dotnetDer, EcdsaSignature.RawToDer(back, fieldSize));
        }
    }

    [Theory]
    [InlineData(32)]
    [InlineData(48)]
    public void Leading_zeros_and_high_bits_encode_as_BouncyCastle_does(int fieldSize)
    {
        var random = new Random(99 + fieldSize);
        for (int i = 0; i < 2000; i++)
        {
            var raw = new byte[2 * fieldSize];
            random.NextBytes(raw);
            foreach (int half in new[] { 0, fieldSize })
            {
                switch (random.Next(5))
                {
                    case 0: raw[half] = 0; break;                                       // one leading zero
                    case 1: raw.AsSpan(half, random.Next(1, fieldSize)).Clear(); break; // many
                    case 2: raw[half] |= 0x80; break;                                   // needs a 00 pad
                    case 3: raw.AsSpan(half, fieldSize - 1).Clear(); raw[half + fieldSize - 1] |= 0x80; break;
                    default: break;
                }
            }
            var r = new BcBigInteger(1, raw, 0, fieldSize);
            var s = new BcBigInteger(1, raw, fieldSize, fieldSize);
            byte[] expected = new DerSequence(new DerInteger(r), new DerInteger(s)).GetDerEncoded();

            byte[] der = EcdsaSignature.RawToDer(raw, fieldSize);
            Assert.True(expected.AsSpan().SequenceEqual(der), $"raw {Convert.ToHexString(raw)}: {Convert.ToHexString(der)} != {Convert.ToHexString(expected)}");
            Assert.Equal(raw, EcdsaSignature.DerToRaw(der, fieldSize));
        }
    }

    [Fact]
    public void Bad_inputs_are_refused()
    {
        Assert.Throws<ArgumentException>(() => EcdsaSignature.RawToDer(new byte[63], 32));
        Assert.Throws<ArgumentException>(() => EcdsaSignature.RawToDer(new byte[64], 0));
        Assert.Throws<ArgumentException>(() => EcdsaSignature.RawToDer([], 32));

        // An integer longer than the field.
        var tooLong = new byte[33];
        tooLong[0] = 0x7F;
        byte[] der = new DerSequence(new DerInteger(new BcBigInteger(1, tooLong)), DerInteger.ValueOf(1)).GetDerEncoded();
        Assert.Throws<ArgumentException>(() => EcdsaSignature.DerToRaw(der, 32));

        // Trailing data after the SEQUENCE, and a third INTEGER inside it.
        byte[] ok = new DerSequence(DerInteger.ValueOf(5), DerInteger.ValueOf(7)).GetDerEncoded();
        Assert.Equal(64, EcdsaSignature.DerToRaw(ok, 32).Length);
        Assert.ThrowsAny<Exception>(() => EcdsaSignature.DerToRaw([.. ok, 0x00], 32));
        byte[] three = new DerSequence(DerInteger.ValueOf(5), DerInteger.ValueOf(7), DerInteger.ValueOf(9)).GetDerEncoded();
        Assert.ThrowsAny<Exception>(() => EcdsaSignature.DerToRaw(three, 32));
    }
}
