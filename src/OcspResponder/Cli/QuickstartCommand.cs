using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using OcspFunctions.Protocol;
using OcspFunctions.Hosting;

namespace OcspResponder.Cli;

/// <summary>
/// The README's first command: a demo PKI (a CA, a delegated responder with OCSPSigning and nocheck, leaves whose
/// AIA points here, one revoked through a CRL, one signed but never listed as issued), its config, one refresh,
/// then the responder on 127.0.0.1 and commands to try.
/// </summary>
public static class QuickstartCommand
{
    public static async Task<int> RunAsync(string directory, int port, bool serve, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string dir = Path.GetFullPath(directory);
        string url = $"http://127.0.0.1:{port}";
        // The leaves' AIA names this port: find out it is taken now, not after building everything.
        if (serve && PortTaken(port))
        {
            error.WriteLine($"quickstart: port {port} on 127.0.0.1 is already in use; choose another with --port");
            return 2;
        }
        output.WriteLine($"Building a demo PKI in {dir}");
        var demo = DemoPki.Create(dir, url);

        string config = Path.Combine(dir, "ocsp.json");
        output.WriteLine("Running one refresh:");
        int refreshed = await RefreshCommand.RunAsync(config, verbose: false, output, error, cancellationToken);
        if (refreshed != 0) return refreshed;

        WebApplication? app = null;
        if (serve)
        {
            // Bind before printing anything that says we serve.
            var options = Composition.LoadValidated(config, error);
            app = await ResponderHost.BuildAsync(options, [url], cancellationToken);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                await app.DisposeAsync();
                error.WriteLine($"quickstart: cannot listen on {url}: {e.Message}; choose another port with --port");
                return 2;
            }
        }

        PrintCommands(demo, config, url, output);
        if (app is null)
        {
            output.WriteLine();
            output.WriteLine($"Serve it with: {Self()} serve --config {Quote(config)} --urls {url}");
            return 0;
        }
        output.WriteLine();
        output.WriteLine($"Serving on {url} (Ctrl+C to stop)");
        await app.WaitForShutdownAsync(cancellationToken);
        await app.DisposeAsync();
        return 0;
    }

    /// <summary>Commands that work from any directory (absolute paths), each saying what it answers and its exit code.</summary>
    private static void PrintCommands(DemoPki demo, string config, string url, TextWriter output)
    {
        string ca = Quote(demo.CaPath);
        string Leaf(string name) => Quote(demo.LeafPath(name));
        var good = demo.Leaves["good-1"];
        var certId = new OcspIssuer(demo.Ca).CertIdFor(SerialNumber.FromIntegerContents(good.SerialNumberBytes.Span), CertIdHashAlgorithm.Sha1);
        string getPath = OcspGetPath.Encode(OcspRequest.Encode([certId]));
        string saved = Quote(Path.Combine(demo.Directory, "good-1.ocsp"));
        string self = Self();
        output.WriteLine();
        output.WriteLine("Try it (another terminal, any directory):");
        output.WriteLine("  # openssl ocsp (POST) prints each certificate's status; it exits 0 for good and revoked answers alike");
        output.WriteLine($"  openssl ocsp -issuer {ca} -CAfile {ca} -url {url} -cert {Leaf("good-1")}");
        output.WriteLine($"  openssl ocsp -issuer {ca} -CAfile {ca} -url {url} -cert {Leaf("revoked-1")}");
        output.WriteLine("  # never issued: the responder answers unauthorized, openssl prints \"Responder Error: unauthorized\" and exits 1");
        output.WriteLine($"  openssl ocsp -issuer {ca} -CAfile {ca} -url {url} -cert {Leaf("not-issued-1")}");
        output.WriteLine("  # GET, as browsers and CDNs send it; then check the saved answer");
        output.WriteLine($"  curl -sD - -o {saved} {url}/{getPath}");
        output.WriteLine($"  openssl ocsp -respin {saved} -issuer {ca} -CAfile {ca} -cert {Leaf("good-1")}");
        output.WriteLine("  # query exits 0 only for a verified, current good: 1 for revoked (below) or unauthorized, 2 when the responder is unreachable");
        output.WriteLine($"  {self} query --url {url} --issuer {ca} --cert {Leaf("good-1")}");
        output.WriteLine($"  {self} query --url {url} --issuer {ca} --cert {Leaf("revoked-1")}");
        output.WriteLine("  # health: 200 while every issuer is fresh, 503 otherwise");
        output.WriteLine($"  curl -s {url}/health");
        output.WriteLine($"  {self} status --config {Quote(config)}");
    }

    private static bool PortTaken(int port)
    {
        try
        {
            using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
            return false;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return true;
        }
    }

    /// <summary>How to run this program again from anywhere: its apphost, or <c>dotnet</c> with the absolute path of its dll.</summary>
    private static string Self()
    {
        string dll = typeof(QuickstartCommand).Assembly.Location;
        string? process = Environment.ProcessPath;
        bool viaDotnet = process is null || Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        return viaDotnet ? $"dotnet {Quote(dll)}" : Quote(process!);
    }

    /// <summary>Single-quotes a path for a POSIX shell when it holds anything beyond the plain characters.</summary>
    public static string Quote(string path) =>
        path.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+:@=,".Contains(c)) ? path : "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The demo PKI's files: DIR/ocsp.json, DIR/ca.pem, DIR/certs/{good-1,good-2,revoked-1,not-issued-1}.pem and the rest.</summary>
    public sealed class DemoPki
    {
        public required string Directory { get; init; }
        public required X509Certificate2 Ca { get; init; }
        public required Dictionary<string, X509Certificate2> Leaves { get; init; }
        public string CaPath => Path.Combine(Directory, "ca.pem");
        public string LeafPath(string name) => Path.Combine(Directory, "certs", name + ".pem");

        public static DemoPki Create(string dir, string ocspUrl)
        {
            System.IO.Directory.CreateDirectory(Path.Combine(dir, "certs"));
            // Demo keys and a throw-away store: ignored by git wherever the directory is created.
            File.WriteAllText(Path.Combine(dir, ".gitignore"), "# written by quickstart: nothing here belongs in a repository\n*\n");
            // A new CA every time: clear what an earlier quickstart left so the store holds only this CA's answers.
            string store = Path.Combine(dir, "store");
            if (System.IO.Directory.Exists(store)) System.IO.Directory.Delete(store, recursive: true);
            var now = DateTimeOffset.UtcNow.AddMinutes(-5);

            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=OcspFunctions Demo CA, O=OcspFunctions Demo", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
            using var ca = caRequest.CreateSelfSigned(now, now.AddYears(10));
            var caPublic = X509CertificateLoader.LoadCertificate(ca.RawData);
            var aki = X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caPublic, includeKeyIdentifier: true, includeIssuerAndSerial: false);

            // Delegated responder (RFC 6960 §4.2.2.2, CA/B BR §7.1.2.8): OCSPSigning only, digitalSignature, nocheck.
            using var responderKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var responderRequest = new CertificateRequest("CN=OcspFunctions Demo OCSP Responder, O=OcspFunctions Demo", responderKey, HashAlgorithmName.SHA256);
            responderRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            responderRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            responderRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(Oids.KpOcspSigning)], false));
            responderRequest.CertificateExtensions.Add(new X509Extension(Oids.OcspNoCheck, [0x05, 0x00], false));
            responderRequest.CertificateExtensions.Add(aki);
            using var responder = responderRequest.Create(ca, now, now.AddDays(90), NewSerial());

            using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var leaves = new Dictionary<string, X509Certificate2>();
            foreach (var name in new[] { "good-1", "good-2", "revoked-1", "not-issued-1" })
            {
                var request = new CertificateRequest($"CN={name}.demo.test", leafKey, HashAlgorithmName.SHA256);
                request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
                request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
                request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
                var san = new SubjectAlternativeNameBuilder();
                san.AddDnsName($"{name}.demo.test");
                request.CertificateExtensions.Add(san.Build());
                request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension([ocspUrl], null));
                request.CertificateExtensions.Add(aki);
                leaves[name] = request.Create(ca, now, now.AddDays(90), NewSerial());
            }

            // The CA's CRL revokes revoked-1; the issued-serials list leaves out not-issued-1 (KB 2960124).
            var crl = new CertificateRevocationListBuilder();
            crl.AddEntry(leaves["revoked-1"], now, X509RevocationReason.KeyCompromise);
            byte[] crlDer = crl.Build(ca, 1, now.AddDays(7), HashAlgorithmName.SHA256);

            File.WriteAllText(Path.Combine(dir, "ca.pem"), ca.ExportCertificatePem() + "\n");
            WritePrivate(Path.Combine(dir, "ca.key"), caKey.ExportPkcs8PrivateKeyPem() + "\n");
            File.WriteAllText(Path.Combine(dir, "responder.pem"), responder.ExportCertificatePem() + "\n");
            WritePrivate(Path.Combine(dir, "responder.key"), responderKey.ExportPkcs8PrivateKeyPem() + "\n");
            File.WriteAllText(Path.Combine(dir, "crl.pem"), PemEncoding.WriteString("X509 CRL", crlDer) + "\n");
            foreach (var (name, leaf) in leaves) File.WriteAllText(Path.Combine(dir, "certs", name + ".pem"), leaf.ExportCertificatePem() + "\n");
            var serials = new StringBuilder("# Serial numbers this CA issued (one per line). not-issued-1 is deliberately missing.\n");
            serials.Append(responder.SerialNumber).Append("  # responder\n");
            foreach (var name in new[] { "good-1", "good-2", "revoked-1" }) serials.Append(leaves[name].SerialNumber).Append("  # ").Append(name).Append('\n');
            File.WriteAllText(Path.Combine(dir, "issued-serials.txt"), serials.ToString());
            File.WriteAllText(Path.Combine(dir, "local-revocations.txt"),
                "# Revocations entered by hand, like the Windows Online Responder's local CRL:\n# SERIAL  TIME  REASON   e.g.  01AB23 2026-11-20T10:00:00Z keyCompromise\n");
            var config = new
            {
                Ocsp = new
                {
                    Store = new { Path = "store" },
                    Serve = new { PathPrefix = "" },
                    Issuers = new[]
                    {
                        new
                        {
                            Name = "demo-ca",
                            Certificate = "ca.pem",
                            Crls = new[] { "crl.pem" },
                            IssuedSerials = "issued-serials.txt",
                            LocalRevocations = "local-revocations.txt",
                            Responder = new { Certificate = "responder.pem", Key = "responder.key" },
                        },
                    },
                },
            };
            File.WriteAllText(Path.Combine(dir, "ocsp.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }) + "\n");
            return new DemoPki { Directory = dir, Ca = caPublic, Leaves = leaves };
        }

        /// <summary>A private key: created owner-only (0600) on Unix, never readable by others even for a moment.</summary>
        private static void WritePrivate(string path, string pem)
        {
            File.Delete(path); // a file from an earlier run keeps its mode; start afresh
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var writer = new StreamWriter(path, Encoding.ASCII, options);
            writer.Write(pem);
        }

        private static byte[] NewSerial()
        {
            var serial = RandomNumberGenerator.GetBytes(16);
            serial[0] = (byte)((serial[0] & 0x7F) | 0x01); // positive, no leading zero octet
            return serial;
        }
    }
}
