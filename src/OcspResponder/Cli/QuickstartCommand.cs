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
        output.WriteLine($"Building a demo PKI in {dir}");
        var demo = DemoPki.Create(dir, url);

        string config = Path.Combine(dir, "ocsp.json");
        output.WriteLine("Running one refresh:");
        int refreshed = await RefreshCommand.RunAsync(config, verbose: false, output, error, cancellationToken);
        if (refreshed != 0) return refreshed;

        string Rel(string path) => Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        string ca = Rel(demo.CaPath);
        var good = demo.Leaves["good-1"];
        var certId = new OcspIssuer(demo.Ca).CertIdFor(SerialNumber.FromIntegerContents(good.SerialNumberBytes.Span), CertIdHashAlgorithm.Sha1);
        string getPath = OcspGetPath.Encode(OcspRequest.Encode([certId]));
        output.WriteLine();
        output.WriteLine("Try it (another terminal):");
        output.WriteLine($"  openssl ocsp -issuer {ca} -CAfile {ca} -url {url} -cert {Rel(demo.LeafPath("good-1"))}");
        output.WriteLine($"  openssl ocsp -issuer {ca} -CAfile {ca} -url {url} -cert {Rel(demo.LeafPath("revoked-1"))}");
        output.WriteLine($"  openssl ocsp -issuer {ca} -CAfile {ca} -url {url} -cert {Rel(demo.LeafPath("not-issued-1"))}   # unauthorized: never issued");
        output.WriteLine($"  curl -sD - -o good-1.ocsp {url}/{getPath}");
        output.WriteLine($"  openssl ocsp -respin good-1.ocsp -issuer {ca} -CAfile {ca} -cert {Rel(demo.LeafPath("good-1"))}");
        output.WriteLine($"  dotnet run --project src/OcspResponder -- query --url {url} --issuer {ca} --cert {Rel(demo.LeafPath("revoked-1"))}");
        output.WriteLine($"  curl -s {url}/health");
        if (!serve)
        {
            output.WriteLine();
            output.WriteLine($"Serve it with: dotnet run --project src/OcspResponder -- serve --config {Rel(config)} --urls {url}");
            return 0;
        }
        var options = Composition.LoadValidated(config, error);
        var app = await ResponderHost.BuildAsync(options, [url], cancellationToken);
        output.WriteLine();
        output.WriteLine($"Serving on {url} (Ctrl+C to stop)");
        await app.RunAsync(cancellationToken);
        return 0;
    }

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
            File.WriteAllText(Path.Combine(dir, "ca.key"), caKey.ExportPkcs8PrivateKeyPem() + "\n");
            File.WriteAllText(Path.Combine(dir, "responder.pem"), responder.ExportCertificatePem() + "\n");
            File.WriteAllText(Path.Combine(dir, "responder.key"), responderKey.ExportPkcs8PrivateKeyPem() + "\n");
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

        private static byte[] NewSerial()
        {
            var serial = RandomNumberGenerator.GetBytes(16);
            serial[0] = (byte)((serial[0] & 0x7F) | 0x01); // positive, no leading zero octet
            return serial;
        }
    }
}
