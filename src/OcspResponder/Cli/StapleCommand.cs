using OcspFunctions.Engine;
using OcspFunctions.Hosting;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspResponder.Cli;

public static class StapleCommand
{
    /// <summary>Writes the current pre-signed response for one certificate (SHA-1 CertID, as stapling servers use) for nginx ssl_stapling_file.</summary>
    public static async Task<int> RunAsync(string? configFile, string certificatePath, string outputPath, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        var options = Composition.LoadValidated(configFile, error);
        var store = ReadStore.Open(options);
        using var http = new HttpClient();
        var sources = Composition.CreateSources(options, http);
        var leaf = X509CertificateLoader.LoadCertificateFromFile(certificatePath); // PEM or DER
        foreach (var issuerOptions in options.Options.Issuers)
        {
            var ca = await CertificateFiles.LoadAsync(sources, issuerOptions.Certificate, options.Options.MaxSourceBytes, cancellationToken);
            if (!ResponderCertificateCheck.IsSignedBy(leaf, ca)) continue;
            var serial = SerialNumber.FromIntegerContents(leaf.SerialNumberBytes.Span);
            var issuer = new OcspIssuer(ca);
            var found = await ResponsePacks.FindAsync(store, issuer.KeyHashHex, serial, CertIdHashAlgorithm.Sha1, cancellationToken);
            if (found is not { Response: var stored })
            {
                if (await store.GetAsync(StoreLayout.Manifest(issuer.KeyHashHex), cancellationToken) is null)
                {
                    error.WriteLine($"staple: issuer '{issuerOptions.Name}' was never refreshed: {ReadStore.NoIssuersYet(ReadStore.Describe(options))}");
                    return 1;
                }
                error.WriteLine($"staple: no pre-signed SHA-1 response for serial {serial} of '{ca.Subject}' (not issued, or not refreshed yet)");
                return 1;
            }
            var single = stored.Single;
            if (single.NextUpdate is { } next && next <= DateTimeOffset.UtcNow)
            {
                error.WriteLine($"staple: the stored response expired at {next:u}; run refresh");
                return 1;
            }
            await File.WriteAllBytesAsync(outputPath, stored.Der, cancellationToken);
            output.WriteLine($"wrote {outputPath}: serial {serial} {single.Status}, next update {single.NextUpdate:u}");
            return 0;
        }
        error.WriteLine($"staple: no configured issuer signed {certificatePath}");
        return 1;
    }
}
