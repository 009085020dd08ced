using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Crl;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Protocol;

/// <summary>The CRL reader against CRLs written by <c>openssl ca -gencrl</c>, with openssl's own text dump as the oracle.</summary>
[Collection("pki")]
public sealed partial class CrlTests(TestPki pki)
{
    public static TheoryData<string, bool> CasAndForms => new() { { "rsa", true }, { "rsa", false }, { "ec", true }, { "ec", false } };

    [Theory]
    [MemberData(nameof(CasAndForms))]
    public void Reads_exactly_the_entries_openssl_wrote(string caName, bool pem)
    {
        var ca = pki.Ca(caName);
        var crl = CertificateRevocationList.Decode(File.ReadAllBytes(pem ? ca.CrlPemPath : ca.CrlDerPath));

        // Oracle: openssl's own reading of the same file.
        string text = OpenSsl.Run(ca.Directory, "crl", "-in", ca.CrlPemPath, "-noout", "-text").StdOut;
        var expectedSerials = SerialLine().Matches(text).Select(m => m.Groups[1].Value.ToUpperInvariant()).ToHashSet();
        var expectedDates = RevocationDateLine().Matches(text).Select(m => ParseOpenSslDate(m.Groups[1].Value)).ToList();

        var entries = new List<(string Serial, DateTimeOffset Date, RevocationReason? Reason)>();
        foreach (var e in crl.RevokedCertificates) entries.Add((Convert.ToHexString(e.SerialNumberBytes), e.RevocationDate, e.Reason));

        Assert.Equal(expectedSerials, entries.Select(e => e.Serial).ToHashSet());
        Assert.Equal(expectedDates, entries.Select(e => e.Date).ToList());
        Assert.Equal(ca.Revoked.Select(l => l.SerialHex.TrimStart('0')).ToHashSet(),
            entries.Select(e => e.Serial.TrimStart('0')).ToHashSet());
        foreach (var leaf in ca.Revoked)
        {
            var entry = entries.Single(e => e.Serial.TrimStart('0') == leaf.SerialHex.TrimStart('0'));
            Assert.Equal(leaf.CrlReasonCode, (int?)entry.Reason);
            Assert.Equal(leaf.RevocationTime, entry.Date);
        }
        // The serial is canonical: no 00 pad even for serials with the top bit set.
        Assert.All(entries, e => Assert.False(e.Serial.StartsWith("00", StringComparison.Ordinal) && e.Serial.Length > 2));

        Assert.Equal(ca.Certificate.SubjectName.RawData, crl.Issuer.RawData);
        Assert.Equal(2, crl.Version);
        Assert.Equal(ca.CrlNumber, (long)crl.CrlNumber!.Value);
        Assert.False(crl.IsDelta);
        Assert.Equal(ParseOpenSslDate(LastUpdate().Match(text).Groups[1].Value), crl.ThisUpdate);
        Assert.Equal(ParseOpenSslDate(NextUpdateLine().Match(text).Groups[1].Value), crl.NextUpdate);
        var ski = ca.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier;
        Assert.Equal(ski, Convert.ToHexString(crl.AuthorityKeyIdentifier!));
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ec")]
    public void Signature_verifies_with_the_ca_key_only(string caName)
    {
        var ca = pki.Ca(caName);
        var other = pki.Cas.Single(c => c.Name != caName);
        var crl = CertificateRevocationList.Decode(File.ReadAllBytes(ca.CrlDerPath));
        Assert.True(crl.VerifySignature(ca.Certificate));
        crl.EnsureIssuedBy(ca.Certificate);
        Assert.Throws<CrlException>(() => crl.EnsureIssuedBy(other.Certificate));
    }

    [Fact]
    public void Same_name_other_key_is_refused()
    {
        var crl = CertificateRevocationList.Decode(File.ReadAllBytes(pki.RsaCa.CrlDerPath));
        // Same subject Name as the RSA CA, different key: names match, signature must not.
        var ex = Assert.Throws<CrlException>(() => crl.EnsureIssuedBy(pki.RsaCaRekeyed));
        Assert.Contains("does not verify", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Every single-bit flip anywhere in the CRL is either rejected as malformed or fails the signature.</summary>
    [Theory]
    [InlineData("rsa")]
    [InlineData("ec")]
    public void Any_flipped_bit_fails(string caName)
    {
        var ca = pki.Ca(caName);
        var original = File.ReadAllBytes(ca.CrlDerPath);
        for (int i = 0; i < original.Length; i++)
        {
            for (int bit = 0; bit < 8; bit += 3)
            {
                var mutated = (byte[])original.Clone();
                mutated[i] ^= (byte)(1 << bit);
                Assert.False(AcceptedAsValid(mutated, ca.Certificate), $"flip of bit {bit} at offset {i} was accepted");
            }
        }
    }

    [Fact]
    public void Random_mutations_end_only_in_CrlException()
    {
        var original = File.ReadAllBytes(pki.RsaCa.CrlDerPath);
        var random = new Random(20261121);
        for (int n = 0; n < 5000; n++)
        {
            var mutated = DerMutator.Mutate(original, random);
            try
            {
                AcceptedAsValid(mutated, pki.RsaCa.Certificate);
            }
            catch (CrlException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {n} escaped as {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(mutated)}");
            }
        }
    }

    [Fact]
    public void Pem_decoding_tolerates_crlf_and_rejects_a_missing_end_line()
    {
        var pem = File.ReadAllText(pki.EcCa.CrlPemPath).Replace("\n", "\r\n", StringComparison.Ordinal);
        var crl = CertificateRevocationList.Decode(System.Text.Encoding.ASCII.GetBytes("leading text\r\n" + pem));
        Assert.True(crl.VerifySignature(pki.EcCa.Certificate));
        var truncated = pem[..pem.IndexOf("-----END", StringComparison.Ordinal)];
        Assert.Throws<CrlException>(() => CertificateRevocationList.Decode(System.Text.Encoding.ASCII.GetBytes(truncated)));
    }

    [Fact]
    public void Trailing_bytes_and_empty_input_are_rejected()
    {
        var der = File.ReadAllBytes(pki.RsaCa.CrlDerPath);
        Assert.Throws<CrlException>(() => CertificateRevocationList.Decode([.. der, 0x00]));
        Assert.Throws<CrlException>(() => CertificateRevocationList.Decode([]));
    }

    [Fact]
    public async Task LoadAsync_enforces_the_size_cap()
    {
        var ex = await Assert.ThrowsAsync<CrlException>(() => CertificateRevocationList.LoadAsync(pki.RsaCa.CrlDerPath, maxLength: 100));
        Assert.Contains("cap", ex.Message, StringComparison.Ordinal);
        var crl = await CertificateRevocationList.LoadAsync(pki.RsaCa.CrlDerPath);
        Assert.True(crl.VerifySignature(pki.RsaCa.Certificate));
    }

    [Fact]
    public void Reads_a_crl_written_by_the_dotnet_builder()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = MakeCa(key);
        var builder = new CertificateRevocationListBuilder();
        builder.AddEntry([0x01, 0x02], DateTimeOffset.UtcNow.AddHours(-1), X509RevocationReason.KeyCompromise);
        var parsed = CertificateRevocationList.Decode(builder.Build(ca, 7, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256));
        Assert.True(parsed.VerifySignature(ca));
        var entry = Assert.Single(EnumerateAll(parsed));
        Assert.Equal("0102", entry.Serial);
        Assert.Equal(RevocationReason.KeyCompromise, entry.Reason);
        Assert.Equal(7, (int)parsed.CrlNumber!.Value);
    }

    /// <summary>RFC 5280 §5.3: an unrecognised critical entry extension makes the CRL unusable; a non-critical one is ignored.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Unknown_entry_extension_is_refused_only_when_critical(bool critical)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = MakeCa(key);
        var crl = CertificateRevocationList.Decode(SignedCrlWithEntryExtension(ca, key, "1.2.3.4.5", critical));
        Assert.True(crl.VerifySignature(ca));
        if (critical) Assert.Throws<CrlException>(() => EnumerateAll(crl));
        else Assert.Single(EnumerateAll(crl));
    }

    /// <summary>RFC 5280 §5.2: a CRL with an unrecognised critical CRL extension is refused at once.</summary>
    [Fact]
    public void Unknown_critical_crl_extension_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = MakeCa(key);
        var ex = Assert.Throws<CrlException>(() => CertificateRevocationList.Decode(SignedCrlWithEntryExtension(ca, key, null, false, crlExtensionOid: "1.2.3.4.6")));
        Assert.Contains("critical", ex.Message, StringComparison.Ordinal);
    }

    private static X509Certificate2 MakeCa(ECDsa key)
    {
        var request = new CertificateRequest("CN=Builder CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>A signed one-entry CRL with an extra entry extension and/or a critical CRL extension.</summary>
    private static byte[] SignedCrlWithEntryExtension(X509Certificate2 ca, ECDsa key, string? entryExtensionOid, bool critical,
        string? crlExtensionOid = null)
    {
        var entryExtensions = entryExtensionOid is null ? [] : new[] { new CrlExtension(entryExtensionOid, critical, [0x05, 0x00]) };
        var crlExtensions = crlExtensionOid is null ? [] : new[] { new CrlExtension(crlExtensionOid, true, [0x05, 0x00]) };
        return HandWrittenCrl.Sign(ca, key, [new CrlEntry([0x47, 0x11], entryExtensions)], crlExtensions);
    }

    private static List<(string Serial, RevocationReason? Reason)> EnumerateAll(CertificateRevocationList crl)
    {
        var list = new List<(string, RevocationReason?)>();
        foreach (var e in crl.RevokedCertificates) list.Add((Convert.ToHexString(e.SerialNumberBytes), e.Reason));
        return list;
    }

    /// <summary>Decodes, verifies and reads every entry; true only if all of it passes.</summary>
    private static bool AcceptedAsValid(byte[] bytes, X509Certificate2 ca)
    {
        try
        {
            var crl = CertificateRevocationList.Decode(bytes);
            int count = 0;
            foreach (var _ in crl.RevokedCertificates) count++;
            return crl.VerifySignature(ca) && crl.Issuer.RawData.AsSpan().SequenceEqual(ca.SubjectName.RawData);
        }
        catch (CrlException)
        {
            return false;
        }
    }

    private static DateTimeOffset ParseOpenSslDate(string text) =>
        DateTimeOffset.ParseExact(Regex.Replace(text.Trim(), " +", " "), "MMM d HH:mm:ss yyyy 'GMT'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal);

    [GeneratedRegex(@"Serial Number: ([0-9A-Fa-f]+)")]
    private static partial Regex SerialLine();

    [GeneratedRegex(@"Revocation Date: (.+GMT)")]
    private static partial Regex RevocationDateLine();

    [GeneratedRegex(@"Last Update: (.+GMT)")]
    private static partial Regex LastUpdate();

    [GeneratedRegex(@"Next Update: (.+GMT)")]
    private static partial Regex NextUpdateLine();
}
