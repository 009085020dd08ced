using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks.Load;

/// <summary>
/// <c>ocsp-requests --ca CA.pem --serials FILE --out FILE [--hash sha1|sha256]</c>: one RFC 5019 request (one CertID,
/// no nonce) per hex serial of FILE, written as <c>GET-path TAB hex-DER</c> lines for the wrk Lua script and the
/// hostile run. The GET path is <c>/</c> + the percent-encoded base64 (RFC 5019 Appendix A).
/// </summary>
public static class OcspRequests
{
    public static int Run(string[] args)
    {
        string? ca = null, serials = null, output = null;
        var hash = CertIdHashAlgorithm.Sha1;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--ca": ca = args[i + 1]; break;
                case "--serials": serials = args[i + 1]; break;
                case "--out": output = args[i + 1]; break;
                case "--hash": hash = CertIdHashAlgorithms.Parse(args[i + 1]); break;
                default: ca = null; i = args.Length; break;
            }
        }
        if (ca is null || serials is null || output is null)
        {
            Console.Error.WriteLine("usage: ocsp-requests --ca CA.pem --serials FILE --out FILE [--hash sha1|sha256]");
            return 2;
        }
        var issuer = new OcspIssuer(X509CertificateLoader.LoadCertificateFromFile(ca));
        using var writer = new StreamWriter(output) { NewLine = "\n" };
        int count = 0;
        foreach (var line in File.ReadLines(serials))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var der = OcspRequest.Encode([issuer.CertIdFor(SerialNumber.ParseHex(line.Trim()), hash)]);
            writer.Write('/');
            writer.Write(OcspGetPath.Encode(der));
            writer.Write('\t');
            writer.WriteLine(Convert.ToHexStringLower(der));
            count++;
        }
        Console.Error.WriteLine($"ocsp-requests: {count} requests ({hash.Name()}) -> {output}");
        return count > 0 ? 0 : 1;
    }

    /// <summary>Reads a file written by <see cref="Run"/>: (GET path, DER).</summary>
    public static List<(string Path, byte[] Der)> Read(string file) =>
        File.ReadLines(file).Where(l => l.Length > 0).Select(l =>
        {
            int tab = l.IndexOf('\t');
            return (l[..tab], Convert.FromHexString(l[(tab + 1)..]));
        }).ToList();
}
