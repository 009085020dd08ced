using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace OcspFunctions.Tests.Pki;

/// <summary>The fixture is what it claims to be — checked with openssl itself, so the other tests rest on firm ground.</summary>
[Collection("pki")]
public sealed class TestPkiTests(TestPki pki)
{
    [Fact]
    public void Builds_quickly() => Assert.True(pki.BuildTime < TimeSpan.FromSeconds(10), $"PKI took {pki.BuildTime}");

    [Theory]
    [InlineData("rsa")]
    [InlineData("ec")]
    public void Ca_responder_leaves_and_crl_are_as_specified(string name)
    {
        var ca = pki.Ca(name);
        string dir = pki.NewWorkDir("sanity");

        Assert.Equal(ca.IsRsa ? "1.2.840.113549.1.1.1" : "1.2.840.10045.2.1", ca.Certificate.PublicKey.Oid.Value);
        Assert.Equal(ca.IsRsa ? 2048 : 256, ca.IsRsa ? ca.Certificate.GetRSAPublicKey()!.KeySize : ca.Certificate.GetECDsaPublicKey()!.KeySize);
        Assert.Equal(ca.Certificate.PublicKey.Oid.Value, ca.ResponderCertificate.PublicKey.Oid.Value);

        // Delegated responder: issued by the CA, EKU OCSPSigning only, KU digitalSignature only, ocsp-nocheck, short life.
        Assert.Contains("OK", OpenSsl.Run(dir, "verify", "-CAfile", ca.CertPath, "-purpose", "ocsphelper", ca.ResponderCertPath).StdOut);
        string text = OpenSsl.Run(dir, "x509", "-in", ca.ResponderCertPath, "-noout", "-text").StdOut;
        Assert.Contains("OCSP No Check", text);
        var eku = Assert.Single(ca.ResponderCertificate.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(["1.3.6.1.5.5.7.3.9"], eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        var ku = Assert.Single(ca.ResponderCertificate.Extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, ku.KeyUsages);
        Assert.NotNull(ca.ResponderCertificate.Extensions["1.3.6.1.5.5.7.48.1.5"]);
        // 20 days: inside the 30-day expiry warning, outside the 7-day point where status and /health fail.
        Assert.True(ca.ResponderCertificate.NotAfter - ca.ResponderCertificate.NotBefore <= TimeSpan.FromDays(20));

        Assert.Contains(ca.Leaves, l => l.HighBit);
        Assert.Contains(ca.Leaves, l => !l.HighBit);
        foreach (var leaf in ca.Leaves)
        {
            OpenSsl.Run(dir, "verify", "-CAfile", ca.CertPath, leaf.CertPath);
            // DER serial: 16 octets, plus the 00 sign pad exactly when the top bit is set.
            var tbs = new AsnReader(leaf.Certificate.RawData, AsnEncodingRules.DER).ReadSequence().ReadSequence();
            tbs.ReadEncodedValue(); // [0] version
            byte[] contents = tbs.ReadIntegerBytes().ToArray();
            Assert.Equal(leaf.HighBit ? 17 : 16, contents.Length);
            Assert.Equal(leaf.SerialHex, Convert.ToHexString(contents).TrimStart('0').PadLeft(32, '0'));
        }

        // The CRL verifies, has a CRL number, and lists exactly the revoked leaves with openssl's reasons.
        string crl = OpenSsl.Run(dir, "crl", "-in", ca.CrlDerPath, "-inform", "DER", "-CAfile", ca.CertPath, "-noout", "-text").Output;
        Assert.Contains("verify OK", crl);
        Assert.Contains("X509v3 CRL Number", crl);
        Assert.Equal(0x1000, ca.CrlNumber); // the crlnumber file held (hex) 1000
        Assert.Contains(ca.Revoked, l => l.CrlReasonCode is not null);
        foreach (var leaf in ca.Leaves)
        {
            Assert.Equal(leaf.IsRevoked, crl.Contains(leaf.SerialHex, StringComparison.Ordinal));
            if (leaf.IsRevoked)
            {
                Assert.NotNull(leaf.RevocationTime);
                Assert.Equal(leaf.OpenSslReason is null, leaf.CrlReasonCode is null);
            }
        }
        Assert.Equal(File.ReadAllBytes(ca.CrlDerPath),
            Convert.FromBase64String(string.Concat(File.ReadAllLines(ca.CrlPemPath).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)))));
    }
}
