using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Tests.Serving;

namespace OcspFunctions.Tests.Clients;

/// <summary>One certificate of an <see cref="AiaPki"/>: PEM and DER files.</summary>
public sealed record AiaLeaf(string Name, string PemPath, string DerPath, X509Certificate2 Certificate);

/// <summary>
/// A CA of its own (new key and subject, so no client cache — .NET's ~/.dotnet/corefx/cryptography/crls, NSS — can mask a result),
/// built with <c>openssl ca</c> in a <see cref="CaWorkspace"/>, whose leaves carry an AIA OCSP URL naming a real responder on a
/// fixed loopback port: a good leaf (also usable as a TLS server certificate for localhost / 127.0.0.1), a revoked one
/// (keyCompromise) and one the CA signed with <c>openssl x509 -req</c>, so the CA database (the issued-serials list) never lists it.
/// </summary>
public sealed class AiaPki : IAsyncDisposable
{
    private static int _count;

    private AiaPki(CaWorkspace ca, int port, AiaLeaf good, AiaLeaf revoked, AiaLeaf neverIssued)
    {
        Ca = ca;
        Port = port;
        Good = good;
        Revoked = revoked;
        NeverIssued = neverIssued;
    }

    public CaWorkspace Ca { get; }
    public int Port { get; }

    /// <summary>The URL in the leaves' AIA, with its trailing slash: <c>http://127.0.0.1:PORT/</c>.</summary>
    public string Url => $"http://127.0.0.1:{Port}/";

    public AiaLeaf Good { get; }
    public AiaLeaf Revoked { get; }
    public AiaLeaf NeverIssued { get; }
    public RunningResponder Responder { get; private set; } = null!;
    public string Directory => Ca.Directory;
    public string CaCertPath => Ca.CaCertPath;
    public string LeafKeyPath => Path.Combine(Ca.Directory, "leaf.key");

    public static async Task<AiaPki> StartAsync(TestPki pki, string hint, bool rsa = false)
    {
        int port = ExternalTool.FreePort();
        string url = $"http://127.0.0.1:{port}/";
        var ca = new CaWorkspace(pki, rsa ? pki.RsaCa : pki.EcCa, hint);
        string dir = ca.Directory;
        void Ssl(params string[] args) => OpenSsl.Run(dir, args);
        string unique = $"{hint} {Interlocked.Increment(ref _count)} {Convert.ToHexString(RandomNumberGenerator.GetBytes(4))}";

        File.AppendAllText(Path.Combine(dir, "openssl.cnf"), $"""


            [ aia_ext ]
            basicConstraints = critical,CA:false
            keyUsage = critical,digitalSignature
            extendedKeyUsage = serverAuth,clientAuth
            subjectKeyIdentifier = hash
            authorityKeyIdentifier = keyid
            subjectAltName = DNS:localhost,IP:127.0.0.1
            authorityInfoAccess = OCSP;URI:{url}

            """);

        // A new root and delegated responder over the copied configuration; an empty CA database.
        File.WriteAllText(Path.Combine(dir, "index.txt"), "");
        File.WriteAllText(Path.Combine(dir, "crlnumber"), "1000\n");
        Ssl(GenKey(rsa, "ca.key"));
        Ssl("req", "-config", "openssl.cnf", "-new", "-x509", "-key", "ca.key", "-out", "ca.pem", "-days", "3650", "-sha256",
            "-extensions", "v3_ca", "-subj", $"/CN=Client CA {unique}", "-set_serial", "0x" + RandomSerial());
        Ssl(GenKey(rsa, "responder.pkcs8.pem"));
        Ssl("req", "-config", "openssl.cnf", "-new", "-key", "responder.pkcs8.pem", "-out", "responder.csr", "-subj", "/CN=responder");
        File.WriteAllText(Path.Combine(dir, "serial"), RandomSerial() + "\n");
        Ssl("ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", "responder.csr", "-out", "responder.pem",
            "-extensions", "ocsp_ext", "-days", "30", "-subj", $"/CN=Client CA {unique} OCSP Responder");

        var good = Leaf("aia-good", ca.Issue("aia-good", "aia_ext", "/CN=localhost").Path);
        var revoked = Leaf("aia-revoked", ca.Issue("aia-revoked", "aia_ext", $"/CN=revoked {unique}").Path);
        ca.Revoke(revoked.PemPath, "keyCompromise");
        ca.GenerateCrl();
        string rogue = ca.LeafPath("aia-never-issued");
        Ssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x" + RandomSerial(), "-days", "30",
            "-sha256", "-extfile", "openssl.cnf", "-extensions", "aia_ext", "-subj", $"/CN=never issued {unique}", "-out", rogue);
        var neverIssued = Leaf("aia-never-issued", rogue);

        var aia = new AiaPki(ca, port, good, revoked, neverIssued);
        aia.Responder = await RunningResponder.StartAsync(ca, hint, url: $"http://127.0.0.1:{port}");
        return aia;
    }

    private static AiaLeaf Leaf(string name, string pemPath)
    {
        var certificate = X509CertificateLoader.LoadCertificateFromFile(pemPath);
        string der = Path.ChangeExtension(pemPath, ".der");
        File.WriteAllBytes(der, certificate.RawData);
        return new AiaLeaf(name, pemPath, der, certificate);
    }

    private static string[] GenKey(bool rsa, string output) => rsa
        ? ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", output]
        : ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve", "-out", output];

    private static string RandomSerial()
    {
        var bytes = RandomNumberGenerator.GetBytes(16);
        bytes[0] = (byte)((bytes[0] & 0x7F) | 0x10);
        return Convert.ToHexString(bytes);
    }

    /// <summary>A counter from the responder's /health ("served", "unauthorized", …).</summary>
    public async Task<long> CounterAsync(string name)
    {
        using var http = new HttpClient();
        using var json = JsonDocument.Parse(await http.GetStringAsync(Responder.Url + "/health"));
        return json.RootElement.GetProperty("counters").GetProperty(name).GetInt64();
    }

    /// <summary>A JSON config for the OcspResponder verbs over the same store and CA files (relative paths, as an operator writes them).</summary>
    public string WriteConfig()
    {
        var config = new
        {
            Ocsp = new
            {
                Store = new { Path = "store" },
                Timing = new { Validity = "1.00:00:00" },
                Issuers = new[]
                {
                    new
                    {
                        Name = "client-ca",
                        Certificate = "ca.pem",
                        Crls = new[] { "crl.pem" },
                        IssuedSerials = "index.txt",
                        Responder = new { Certificate = "responder.pem", Key = "responder.pkcs8.pem" },
                    },
                },
            },
        };
        string path = Path.Combine(Directory, "ocsp.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }

    private bool _stopped;

    /// <summary>Stops the responder (a client that still works now got its answer elsewhere).</summary>
    public async Task StopResponderAsync()
    {
        if (_stopped || Responder is null) return;
        _stopped = true;
        await Responder.DisposeAsync();
    }

    public async ValueTask DisposeAsync() => await StopResponderAsync();
}
