using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OcspFunctions.Tests.Pki;

/// <summary>
/// A private copy of one of the fixture's <c>openssl ca</c> databases, so a test can issue, revoke and publish CRLs
/// without disturbing other tests. Everything is done by the openssl binary.
/// </summary>
public sealed class CaWorkspace
{
    public CaWorkspace(TestPki pki, TestCa source, string hint)
    {
        Source = source;
        Directory = pki.NewWorkDir(hint);
        CopyDirectory(source.Directory, Directory);
    }

    public TestCa Source { get; }

    public string Directory { get; }

    public string CaCertPath => Path.Combine(Directory, "ca.pem");
    public string ResponderCertPath => Path.Combine(Directory, "responder.pem");
    public string ResponderKeyPath => Path.Combine(Directory, "responder.pkcs8.pem");
    public string IndexPath => Path.Combine(Directory, "index.txt");
    public string CrlPath => Path.Combine(Directory, "crl.pem");

    /// <summary>The directory store of <see cref="Options"/>.</summary>
    public string StorePath => Path.Combine(Directory, "store");

    /// <summary>
    /// Configuration over this workspace: a store under it, its CA, CRL, index.txt and responder key file. Validity is
    /// one day (the fixture's responder certificate lives 20 days).
    /// </summary>
    public OcspFunctions.Engine.OcspOptions Options(string name) => new()
    {
        Timing = { Validity = TimeSpan.FromDays(1) },
        Issuers =
        {
            new OcspFunctions.Engine.IssuerOptions
            {
                Name = name,
                Certificate = CaCertPath,
                Crls = { CrlPath },
                IssuedSerials = IndexPath,
                Responder = { Certificate = ResponderCertPath, Key = ResponderKeyPath },
            },
        },
    };

    public string LeafPath(string name) => Path.Combine(Directory, "leaves", name + ".pem");

    /// <summary>
    /// Issues a new leaf with a random serial; returns its path and serial (upper-case hex). <paramref name="extensions"/> names an
    /// openssl.cnf section (default <c>leaf_ext</c>), <paramref name="subject"/> overrides the subject DN.
    /// </summary>
    public (string Path, string Serial) Issue(string name, string extensions = "leaf_ext", string? subject = null)
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x10);
        string hex = Convert.ToHexString(serial);
        File.WriteAllText(Path.Combine(Directory, "serial"), hex + "\n");
        string path = LeafPath(name);
        OpenSsl.Run(Directory, "ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", "leaf.csr", "-out", path,
            "-extensions", extensions, "-subj", subject ?? $"/CN=workspace leaf {name}");
        return (path, hex);
    }

    public void Revoke(string leafPath, string? reason = null)
    {
        if (reason is null) OpenSsl.Run(Directory, "ca", "-config", "openssl.cnf", "-revoke", leafPath);
        else OpenSsl.Run(Directory, "ca", "-config", "openssl.cnf", "-revoke", leafPath, "-crl_reason", reason);
    }

    /// <summary>Writes a new CRL (next CRL number) to crl.pem, or to <paramref name="output"/>.</summary>
    public string GenerateCrl(string? output = null, int? crlDays = null)
    {
        output ??= CrlPath;
        var args = new List<string> { "ca", "-config", "openssl.cnf", "-gencrl", "-crlexts", "crl_ext", "-out", output };
        if (crlDays is { } d) args.AddRange(["-crldays", d.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        OpenSsl.Run(Directory, args);
        return output;
    }

    /// <summary>A CRL whose nextUpdate is already past: openssl's -crlhours with a negative value is refused, so sign one by hand with backdated dates.</summary>
    public string GenerateExpiredCrl(string output)
    {
        using var key = LoadCaKey();
        var ca = X509CertificateLoader.LoadCertificateFromFile(CaCertPath);
        using var caWithKey = key switch
        {
            RSA rsa => ca.CopyWithPrivateKey(rsa),
            ECDsa ec => ca.CopyWithPrivateKey(ec),
            _ => throw new InvalidOperationException(),
        };
        var builder = new CertificateRevocationListBuilder();
        var bytes = builder.Build(caWithKey, 999_999, DateTimeOffset.UtcNow.AddHours(-1), HashAlgorithmName.SHA256,
            key is RSA ? RSASignaturePadding.Pkcs1 : null, DateTimeOffset.UtcNow.AddDays(-2));
        File.WriteAllBytes(output, bytes);
        return output;
    }

    private AsymmetricAlgorithm LoadCaKey()
    {
        string pem = File.ReadAllText(Path.Combine(Directory, "ca.key"));
        if (Source.IsRsa)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return rsa;
        }
        var ec = ECDsa.Create();
        ec.ImportFromPem(pem);
        return ec;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in System.IO.Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            System.IO.Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        foreach (var file in System.IO.Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal), overwrite: true);
    }
}
