using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol.Crl;

namespace OcspFunctions.Benchmarks;

public sealed record CrlFiles(string DerPath, string PemPath, string CaPath, int EntryCount);

/// <summary>
/// A 1,000,000-entry CRL signed by an RSA-2048 CA, generated once and cached under
/// <c>{temp}/ocspfunctions-bench/</c> (DER, a PEM copy, and the CA certificate to verify it with).
/// </summary>
public static class CrlFixture
{
    public const int EntryCount = 1_000_000;

    public static string Directory { get; } = Path.Combine(Path.GetTempPath(), "ocspfunctions-bench");

    public static CrlFiles Ensure(TextWriter? log = null)
    {
        var files = new CrlFiles(
            Path.Combine(Directory, "crl-1m.der"),
            Path.Combine(Directory, "crl-1m.pem"),
            Path.Combine(Directory, "crl-1m-ca.cer"),
            EntryCount);
        if (File.Exists(files.DerPath) && File.Exists(files.PemPath) && File.Exists(files.CaPath)) return files;

        System.IO.Directory.CreateDirectory(Directory);
        log?.WriteLine($"// generating a {EntryCount:N0}-entry CRL in {Directory} (once) ...");
        var started = System.Diagnostics.Stopwatch.StartNew();

        using var caKey = RSA.Create(2048);
        using var ca = TestPki.CreateCa(caKey, "CN=OcspFunctions Bench CRL CA, O=Bench");
        byte[] der = BuildCrl(ca, caKey);

        // Check it with the code under test before caching it.
        var crl = CertificateRevocationList.Decode((byte[])der.Clone());
        if (!crl.VerifySignature(ca)) throw new InvalidOperationException("generated CRL does not verify");

        WriteAtomically(files.CaPath, ca.RawData);
        WriteAtomically(files.PemPath, PemEncoding.WriteUtf8("X509 CRL"u8, der));
        WriteAtomically(files.DerPath, der);
        log?.WriteLine($"// generated {der.Length:N0} bytes in {started.Elapsed.TotalSeconds:F1} s");
        return files;
    }

    /// <summary>The 1M-entry CRL: random 16-byte serials, dates in the last two years, a reasonCode on about half.</summary>
    private static byte[] BuildCrl(X509Certificate2 ca, RSA caKey)
    {
        var random = new Random(20240601);
        var now = DateTimeOffset.UtcNow;
        var thisUpdate = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero).AddMinutes(-5);
        byte[] reasons = [1, 3, 4, 5]; // keyCompromise, affiliationChanged, superseded, cessationOfOperation
        return WriteCrl(ca, caKey, thisUpdate, thisUpdate.AddDays(7), EntryCount, w =>
        {
            Span<byte> serial = stackalloc byte[16];
            for (int i = 0; i < EntryCount; i++)
            {
                TestPki.FillSerial(serial, random);
                var revoked = thisUpdate.AddSeconds(-random.Next(1, 2 * 365 * 24 * 3600));
                WriteEntry(w, serial, revoked, random.Next(2) == 0 ? reasons[random.Next(reasons.Length)] : null);
            }
        });
    }

    /// <summary>
    /// A v2 CRL (sha256WithRSAEncryption, AKI, CRL number 1) written with one pre-sized AsnWriter and signed.
    /// .NET's CertificateRevocationListBuilder produces the same shape but takes minutes for a million entries.
    /// </summary>
    public static byte[] WriteCrl(X509Certificate2 ca, RSA caKey, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, int entries,
        Action<AsnWriter> writeEntries)
    {
        var ski = ca.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifierBytes;
        byte[] algorithm = Convert.FromHexString("300d06092a864886f70d01010b0500"); // sha256WithRSAEncryption, NULL

        var w = new AsnWriter(AsnEncodingRules.DER, initialCapacity: entries * 50 + 4096);
        w.PushSequence();                                              // TBSCertList
        w.WriteInteger(1);                                             // v2
        w.WriteEncodedValue(algorithm);
        w.WriteEncodedValue(ca.SubjectName.RawData);
        w.WriteUtcTime(thisUpdate);
        w.WriteUtcTime(nextUpdate);
        w.PushSequence();                                              // revokedCertificates
        writeEntries(w);
        w.PopSequence();
        var ctx0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        w.PushSequence(ctx0);                                          // crlExtensions
        w.PushSequence();
        w.PushSequence();
        w.WriteObjectIdentifier("2.5.29.35");                          // authorityKeyIdentifier
        var aki = new AsnWriter(AsnEncodingRules.DER);
        aki.PushSequence();
        aki.WriteOctetString(ski.Span, new Asn1Tag(TagClass.ContextSpecific, 0));
        aki.PopSequence();
        w.WriteOctetString(aki.Encode());
        w.PopSequence();
        w.PushSequence();
        w.WriteObjectIdentifier("2.5.29.20");                          // cRLNumber
        var number = new AsnWriter(AsnEncodingRules.DER);
        number.WriteInteger(1);
        w.WriteOctetString(number.Encode());
        w.PopSequence();
        w.PopSequence();
        w.PopSequence(ctx0);
        w.PopSequence();
        byte[] tbs = w.Encode();

        byte[] signature = caKey.SignData(tbs, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var crl = new AsnWriter(AsnEncodingRules.DER, initialCapacity: tbs.Length + 512);
        crl.PushSequence();
        crl.WriteEncodedValue(tbs);
        crl.WriteEncodedValue(algorithm);
        crl.WriteBitString(signature);
        crl.PopSequence();
        return crl.Encode();
    }

    /// <summary>One revokedCertificates entry: serial (positive, minimal), revocation date, optional reasonCode.</summary>
    public static void WriteEntry(AsnWriter w, ReadOnlySpan<byte> serial, DateTimeOffset revoked, byte? reason)
    {
        w.PushSequence();
        w.WriteInteger(serial);
        w.WriteUtcTime(revoked);
        if (reason is { } code)
        {
            w.PushSequence();
            w.PushSequence();
            w.WriteObjectIdentifier("2.5.29.21");                      // reasonCode
            w.WriteOctetString([0x0A, 0x01, code]);                    // ENUMERATED
            w.PopSequence();
            w.PopSequence();
        }
        w.PopSequence();
    }

    public static X509Certificate2 LoadCa(CrlFiles files) => X509CertificateLoader.LoadCertificate(File.ReadAllBytes(files.CaPath));

    private static void WriteAtomically(string path, byte[] bytes)
    {
        string temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>The measured work: read the file, decode, verify the signature, enumerate every entry.</summary>
public static class CrlWork
{
    public static long ParseVerifyEnumerate(string path, X509Certificate2 ca, int expectedCount = CrlFixture.EntryCount)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var crl = CertificateRevocationList.Decode(bytes);
        if (!crl.VerifySignature(ca)) throw new InvalidOperationException("CRL signature does not verify");
        long count = 0, checksum = 0;
        foreach (var entry in crl.RevokedCertificates)
        {
            count++;
            checksum += entry.SerialNumberBytes.Length;
            checksum ^= entry.RevocationDate.UtcTicks;
        }
        if (count != expectedCount) throw new InvalidOperationException($"expected {expectedCount:N0} entries, enumerated {count:N0}");
        GC.KeepAlive(crl);
        return checksum;
    }
}
