using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace OcspFunctions.Tests.Pki;

[CollectionDefinition("pki")]
public sealed class PkiCollection : ICollectionFixture<TestPki>;

/// <summary>What a leaf is meant to be, and what the CA database and CRL say it is.</summary>
public sealed class TestLeaf
{
    public required string Name { get; init; }
    public required string CertPath { get; init; }
    public required X509Certificate2 Certificate { get; init; }

    /// <summary>The serial the fixture wrote to the CA's serial file (upper-case hex, 16 bytes).</summary>
    public required string SerialHex { get; init; }

    /// <summary>Whether the top bit of the serial is set, so its DER INTEGER carries a 00 pad.</summary>
    public bool HighBit => Convert.ToByte(SerialHex[..2], 16) >= 0x80;

    /// <summary>openssl's name of the reason given to <c>-crl_reason</c>, or null; meaningful only when <see cref="IsRevoked"/>.</summary>
    public string? OpenSslReason { get; init; }

    public bool IsRevoked { get; init; }

    /// <summary>From the openssl CRL: revocation date.</summary>
    public DateTimeOffset? RevocationTime { get; internal set; }

    /// <summary>From the openssl CRL: CRLReason code, or null when the entry has none.</summary>
    public int? CrlReasonCode { get; internal set; }

    public override string ToString() => $"{Name} ({SerialHex})";
}

/// <summary>One CA built with <c>openssl ca</c>: a self-signed root, a delegated OCSP responder, leaves, revocations and a CRL.</summary>
public sealed class TestCa
{
    public required string Name { get; init; }
    public required string Directory { get; init; }
    public required bool IsRsa { get; init; }
    public string CertPath => Path.Combine(Directory, "ca.pem");
    public string KeyPath => Path.Combine(Directory, "ca.key");
    public string ResponderCertPath => Path.Combine(Directory, "responder.pem");

    /// <summary>The responder key in the format this CA is meant to exercise: RSA traditional ("BEGIN RSA PRIVATE KEY"), EC PKCS#8.</summary>
    public string ResponderKeyPath => IsRsa ? ResponderKeyTraditionalPath : ResponderKeyPkcs8Path;

    public string ResponderKeyPkcs8Path => Path.Combine(Directory, "responder.pkcs8.pem");
    public string ResponderKeyTraditionalPath => Path.Combine(Directory, "responder.trad.pem");
    public string CrlPemPath => Path.Combine(Directory, "crl.pem");
    public string CrlDerPath => Path.Combine(Directory, "crl.der");
    public string IndexPath => Path.Combine(Directory, "index.txt");

    public X509Certificate2 Certificate { get; internal set; } = null!;
    public X509Certificate2 ResponderCertificate { get; internal set; } = null!;
    public List<TestLeaf> Leaves { get; } = [];

    /// <summary>The CRL number openssl wrote (from the crlnumber file).</summary>
    public long CrlNumber { get; internal set; }

    public TestLeaf Leaf(string name) => Leaves.Single(l => l.Name == name);

    public IEnumerable<TestLeaf> Good => Leaves.Where(l => !l.IsRevoked);

    public IEnumerable<TestLeaf> Revoked => Leaves.Where(l => l.IsRevoked);

    public override string ToString() => Name;
}

/// <summary>
/// A throw-away PKI made by the <c>openssl</c> binary (never by .NET): an RSA-2048 CA and an EC P-256 CA, each an
/// <c>openssl ca</c> database with a delegated OCSP responder (EKU OCSPSigning, KU digitalSignature, ocsp-nocheck),
/// leaves with random 16-byte serials (some with the top bit set), revocations with several reasons and a CRL.
/// </summary>
public sealed class TestPki : IDisposable
{
    /// <summary>(leaf name, high bit, revoked, openssl -crl_reason or null)</summary>
    private static readonly (string Name, bool HighBit, bool Revoked, string? Reason)[] RsaLeaves =
    [
        ("good-hi", true, false, null),
        ("good-lo", false, false, null),
        ("keyCompromise", true, true, "keyCompromise"),
        ("superseded", false, true, "superseded"),
        ("certificateHold", false, true, "certificateHold"),
        ("noReason", true, true, null),
    ];

    private static readonly (string Name, bool HighBit, bool Revoked, string? Reason)[] EcLeaves =
    [
        ("good-hi", true, false, null),
        ("good-lo", false, false, null),
        ("cACompromise", true, true, "cACompromise"),
        ("cessationOfOperation", false, true, "cessationOfOperation"),
        ("affiliationChanged", true, true, "affiliationChanged"),
    ];

    private int _workDirs;

    public TestPki()
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        Root = Path.Combine(Path.GetTempPath(), "ocsp-testpki-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Root);
        try
        {
            var rsa = Task.Run(() => BuildCa("rsa", "Test RSA Root CA", isRsa: true, RsaLeaves));
            var ec = Task.Run(() => BuildCa("ec", "Test EC Root CA", isRsa: false, EcLeaves));
            var rekey = Task.Run(BuildRekeyedRsaCa);
            Task.WaitAll(rsa, ec, rekey);
            RsaCa = rsa.Result;
            EcCa = ec.Result;
            RsaCaRekeyedCertPath = rekey.Result;
            RsaCaRekeyed = X509CertificateLoader.LoadCertificateFromFile(RsaCaRekeyedCertPath);
            BuildTime = stopwatch.Elapsed;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Root { get; }

    /// <summary>How long building the PKI took (it should stay well under 10 s).</summary>
    public TimeSpan BuildTime { get; }

    public TestCa RsaCa { get; }

    public TestCa EcCa { get; }

    public IReadOnlyList<TestCa> Cas => [RsaCa, EcCa];

    public TestCa Ca(string name) => Cas.Single(c => c.Name == name);

    /// <summary>A self-signed CA with the same subject Name as <see cref="RsaCa"/> but another (EC) key.</summary>
    public string RsaCaRekeyedCertPath { get; }

    public X509Certificate2 RsaCaRekeyed { get; }

    /// <summary>A fresh directory under the fixture root, for one test's files.</summary>
    public string NewWorkDir(string hint)
    {
        string dir = Path.Combine(Root, "work", $"{Interlocked.Increment(ref _workDirs):D4}-{hint}");
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs <c>openssl ocsp</c> in a fresh directory to write a request and returns its DER.</summary>
    public byte[] MakeRequest(params string[] arguments)
    {
        string dir = NewWorkDir("req");
        string output = Path.Combine(dir, "req.der");
        OpenSsl.Run(dir, ["ocsp", .. arguments, "-reqout", output]);
        return File.ReadAllBytes(output);
    }

    private static string Config(string subject) => $$"""
        [ ca ]
        default_ca = CA_default

        [ CA_default ]
        dir = .
        database = $dir/index.txt
        new_certs_dir = $dir/newcerts
        serial = $dir/serial
        crlnumber = $dir/crlnumber
        certificate = $dir/ca.pem
        private_key = $dir/ca.key
        default_md = sha256
        policy = policy_any
        unique_subject = no
        default_days = 30
        default_crl_days = 7
        copy_extensions = none
        email_in_dn = no
        preserve = no

        [ policy_any ]
        commonName = supplied

        [ req ]
        distinguished_name = req_dn
        prompt = no
        utf8 = yes

        [ req_dn ]
        CN = {{subject}}

        [ v3_ca ]
        basicConstraints = critical,CA:true
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash

        [ ocsp_ext ]
        basicConstraints = critical,CA:false
        keyUsage = critical,digitalSignature
        extendedKeyUsage = OCSPSigning
        noCheck = ignored
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        [ leaf_ext ]
        basicConstraints = critical,CA:false
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        [ crl_ext ]
        authorityKeyIdentifier = keyid
        """;

    private static string[] GenKey(bool rsa, string output) => rsa
        ? ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", output]
        : ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve", "-out", output];

    /// <summary>16 random bytes; top bit set or clear, never a leading zero octet.</summary>
    private static string RandomSerial(bool highBit)
    {
        var bytes = RandomNumberGenerator.GetBytes(16);
        bytes[0] = highBit ? (byte)(bytes[0] | 0x80) : (byte)((bytes[0] & 0x7F) | 0x10);
        return Convert.ToHexString(bytes);
    }

    private TestCa BuildCa(string name, string subject, bool isRsa, (string Name, bool HighBit, bool Revoked, string? Reason)[] leaves)
    {
        string dir = Path.Combine(Root, name);
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "newcerts"));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "leaves"));
        File.WriteAllText(Path.Combine(dir, "openssl.cnf"), Config(subject));
        File.WriteAllText(Path.Combine(dir, "index.txt"), "");
        File.WriteAllText(Path.Combine(dir, "index.txt.attr"), "unique_subject = no\n");
        File.WriteAllText(Path.Combine(dir, "crlnumber"), "1000\n");
        var ca = new TestCa { Name = name, Directory = dir, IsRsa = isRsa };
        void Ssl(params string[] args) => OpenSsl.Run(dir, args);

        // Root.
        Ssl(GenKey(isRsa, "ca.key"));
        Ssl("req", "-config", "openssl.cnf", "-new", "-x509", "-key", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-sha256", "-extensions", "v3_ca", "-set_serial", "0x" + RandomSerial(false));

        // Delegated responder: same key type as the CA; PKCS#8 from genpkey, traditional from pkey -traditional.
        Ssl(GenKey(isRsa, "responder.pkcs8.pem"));
        Ssl("pkey", "-in", "responder.pkcs8.pem", "-traditional", "-out", "responder.trad.pem");
        Ssl("req", "-config", "openssl.cnf", "-new", "-key", "responder.pkcs8.pem", "-out", "responder.csr");
        File.WriteAllText(Path.Combine(dir, "serial"), RandomSerial(false) + "\n");
        Ssl("ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", "responder.csr", "-out", "responder.pem",
            "-extensions", "ocsp_ext", "-days", "20", "-subj", $"/CN={subject} OCSP Responder");

        // Leaves: one key and CSR, a certificate per serial (-subj overrides the CSR's name).
        Ssl(GenKey(false, "leaf.key"));
        Ssl("req", "-config", "openssl.cnf", "-new", "-key", "leaf.key", "-out", "leaf.csr");
        foreach (var spec in leaves)
        {
            string serial = RandomSerial(spec.HighBit);
            File.WriteAllText(Path.Combine(dir, "serial"), serial + "\n");
            string certPath = Path.Combine(dir, "leaves", spec.Name + ".pem");
            Ssl("ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", "leaf.csr", "-out", certPath,
                "-extensions", "leaf_ext", "-subj", $"/CN={name} leaf {spec.Name}");
            ca.Leaves.Add(new TestLeaf
            {
                Name = spec.Name,
                CertPath = certPath,
                Certificate = X509CertificateLoader.LoadCertificateFromFile(certPath),
                SerialHex = serial,
                IsRevoked = spec.Revoked,
                OpenSslReason = spec.Reason,
            });
        }

        foreach (var leaf in ca.Revoked)
        {
            if (leaf.OpenSslReason is { } reason) Ssl("ca", "-config", "openssl.cnf", "-revoke", leaf.CertPath, "-crl_reason", reason);
            else Ssl("ca", "-config", "openssl.cnf", "-revoke", leaf.CertPath);
        }

        Ssl("ca", "-config", "openssl.cnf", "-gencrl", "-crlexts", "crl_ext", "-out", "crl.pem");
        Ssl("crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der");

        ca.Certificate = X509CertificateLoader.LoadCertificateFromFile(ca.CertPath);
        ca.ResponderCertificate = X509CertificateLoader.LoadCertificateFromFile(ca.ResponderCertPath);
        ReadCrl(ca);
        return ca;
    }

    /// <summary>Revocation dates and reasons as openssl put them in the CRL (read with BouncyCastle).</summary>
    private static void ReadCrl(TestCa ca)
    {
        var crl = new X509CrlParser().ReadCrl(File.ReadAllBytes(ca.CrlDerPath));
        var number = crl.GetExtensionValue(X509Extensions.CrlNumber)
            ?? throw new InvalidOperationException("openssl wrote a CRL without a CRL number");
        ca.CrlNumber = DerInteger.GetInstance(X509ExtensionUtilities.FromExtensionValue(number)).Value.LongValue;
        foreach (var leaf in ca.Leaves)
        {
            var entry = crl.GetRevokedCertificate(new BcBigInteger(leaf.SerialHex, 16));
            if ((entry is not null) != leaf.IsRevoked)
                throw new InvalidOperationException($"CRL of {ca.Name}: {leaf} revoked={entry is not null}, expected {leaf.IsRevoked}");
            if (entry is null) continue;
            leaf.RevocationTime = new DateTimeOffset(DateTime.SpecifyKind(entry.RevocationDate, DateTimeKind.Utc));
            var reason = entry.GetExtensionValue(X509Extensions.ReasonCode);
            leaf.CrlReasonCode = reason is null
                ? null
                : DerEnumerated.GetInstance(X509ExtensionUtilities.FromExtensionValue(reason)).IntValueExact;
        }
    }

    private string BuildRekeyedRsaCa()
    {
        string dir = Path.Combine(Root, "rsa-rekeyed");
        System.IO.Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "openssl.cnf"), Config("Test RSA Root CA"));
        OpenSsl.Run(dir, GenKey(false, "ca.key"));
        OpenSsl.Run(dir, "req", "-config", "openssl.cnf", "-new", "-x509", "-key", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-sha256", "-extensions", "v3_ca");
        return Path.Combine(dir, "ca.pem");
    }

    public void Dispose()
    {
        try
        {
            if (System.IO.Directory.Exists(Root)) System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
