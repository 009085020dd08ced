using System.Diagnostics;
using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OcspFunctions.Protocol.Crl;

namespace OcspFunctions.Benchmarks;

public sealed record RefreshFiles(string Directory, string CaPath, string CrlPath, string IssuedPath,
    string ResponderCertPath, string ResponderKeyPath, int Serials, int Revoked, string Key);

/// <summary>
/// Input of the <c>refresh</c> benchmark, generated once per (serial count, key) and cached under
/// <c>{base}/refresh-{serials}-{key}/</c>: an RSA-2048 CA (PEM), N random 16-byte issued serials with expiries
/// (text list), a CRL signed by the CA revoking every 10th serial with a reason, and a delegated responder
/// certificate (30 days, OCSPSigning, nocheck) with a P-256 or RSA-2048 PKCS#8 PEM key.
/// </summary>
public static class RefreshFixture
{
    /// <summary>Cached inputs older than this are regenerated (the CRL and responder certificate live 30 days).</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromDays(20);

    public static RefreshFiles Ensure(string baseDirectory, int serials, string key, TextWriter? log = null)
    {
        var files = Paths(baseDirectory, serials, key);
        string dir = files.Directory;
        string stamp = Path.Combine(dir, "generated");
        if (File.Exists(stamp)
            && DateTimeOffset.TryParse(File.ReadAllText(stamp), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            && DateTimeOffset.UtcNow - at < MaxAge)
            return files;

        System.IO.Directory.CreateDirectory(dir);
        File.Delete(stamp);
        log?.WriteLine($"// generating {serials:N0} serials, {files.Revoked:N0} revoked, {key} responder in {dir} (cached) ...");
        var sw = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow;
        now = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

        using var caKey = RSA.Create(2048);
        using var ca = TestPki.CreateCa(caKey, $"CN=OcspFunctions Bench Refresh CA {key}, O=Bench");
        using var responderKey = TestPki.CreateKey(key == "rsa2048" ? "RSA-2048" : "P-256");
        using var responder = CreateResponder(ca, caKey, responderKey, now);

        var random = new Random(serials * 31 + (key == "rsa2048" ? 2 : 1));
        var serialBytes = new byte[serials * 16];
        for (int i = 0; i < serials; i++) TestPki.FillSerial(serialBytes.AsSpan(i * 16, 16), random);

        // Issued list: "HEX,expiry" (expiry 1 month to 2 years ahead; every certificate is in force).
        var text = new StringBuilder(serials * 55);
        text.Append("# issued serials, ").Append(serials).Append('\n');
        for (int i = 0; i < serials; i++)
        {
            text.Append(Convert.ToHexString(serialBytes, i * 16, 16)).Append(',')
                .Append(now.AddSeconds(random.Next(30 * 86400, 730 * 86400)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))
                .Append('\n');
        }

        byte[] crl = BuildCrl(ca, caKey, serialBytes, serials, random, now);
        var check = CertificateRevocationList.Decode((byte[])crl.Clone());
        check.EnsureIssuedBy(ca);

        File.WriteAllText(files.CaPath, ca.ExportCertificatePem() + "\n");
        File.WriteAllBytes(files.CrlPath, crl);
        File.WriteAllText(files.IssuedPath, text.ToString());
        File.WriteAllText(files.ResponderCertPath, responder.ExportCertificatePem() + "\n");
        File.WriteAllText(files.ResponderKeyPath, responderKey.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(stamp, now.ToString("O", CultureInfo.InvariantCulture));
        log?.WriteLine($"// generated in {sw.Elapsed.TotalSeconds:F1} s (issued list {new FileInfo(files.IssuedPath).Length:N0} bytes, CRL {crl.Length:N0} bytes)");
        return files;
    }

    public static RefreshFiles Paths(string baseDirectory, int serials, string key)
    {
        string dir = Path.Combine(baseDirectory, $"refresh-{serials}-{key}");
        return new RefreshFiles(dir,
            Path.Combine(dir, "ca.pem"), Path.Combine(dir, "crl.der"), Path.Combine(dir, "issued.txt"),
            Path.Combine(dir, "responder.pem"), Path.Combine(dir, "responder.key"), serials, RevokedCount(serials), key);
    }

    /// <summary>Every 10th serial is revoked.</summary>
    private static int RevokedCount(int serials) => (serials + 9) / 10;

    private static X509Certificate2 CreateResponder(X509Certificate2 ca, RSA caKey, AsymmetricAlgorithm key, DateTimeOffset now)
    {
        var req = TestPki.Request("CN=OcspFunctions Bench Refresh Responder", key);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.9")], false));
        req.CertificateExtensions.Add(new X509Extension("1.3.6.1.5.5.7.48.1.5", [0x05, 0x00], false)); // id-pkix-ocsp-nocheck
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        // The CA is RSA; the responder key may be EC, so sign through a generator for the CA key.
        return req.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            now.AddHours(-1), now.AddDays(30), serial);
    }

    /// <summary>A v2 CRL revoking every 10th serial, each with a reasonCode (the writer is <see cref="CrlFixture.WriteCrl"/>).</summary>
    private static byte[] BuildCrl(X509Certificate2 ca, RSA caKey, byte[] serialBytes, int serials, Random random, DateTimeOffset now)
    {
        var thisUpdate = now.AddMinutes(-5);
        byte[] reasons = [1, 3, 4, 5]; // keyCompromise, affiliationChanged, superseded, cessationOfOperation
        return CrlFixture.WriteCrl(ca, caKey, thisUpdate, thisUpdate.AddDays(30), RevokedCount(serials), w =>
        {
            for (int i = 0; i < serials; i += 10)
                CrlFixture.WriteEntry(w, serialBytes.AsSpan(i * 16, 16), thisUpdate.AddSeconds(-random.Next(1, 2 * 365 * 24 * 3600)),
                    reasons[random.Next(reasons.Length)]);
        });
    }
}
