using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.Azure.Blob;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Hosting.Publishing;

/// <summary>
/// The <c>publish</c> verb's configuration checks and wiring. Only what publishing reads is required (no responder key
/// on the CA): the Blob account under <c>Store</c>, and per issuer with a <c>Publish</c> section its CA certificate and
/// the <c>blob:</c> destinations.
/// </summary>
public static class PublishSetup
{
    public static List<string> Validate(OcspConfiguration configuration)
    {
        var errors = new List<string>();
        if (!configuration.Stores.Any(s => s.Settings is BlobStoreOptions { IsBlob: true }))
            errors.Add("publish uploads to Blob storage: set Ocsp:Store:BlobServiceUri (Azure identity) or Ocsp:Store:BlobConnectionString");
        var issuers = configuration.Options.Issuers;
        bool any = false;
        for (int i = 0; i < issuers.Count; i++)
        {
            if (i >= configuration.Publish.Count || configuration.Publish[i] is not { } publish) continue;
            any = true;
            var issuer = issuers[i];
            string at = string.IsNullOrWhiteSpace(issuer.Name) ? $"Ocsp:Issuers:{i}" : $"issuer '{issuer.Name}'";
            if (string.IsNullOrWhiteSpace(issuer.Certificate)) errors.Add($"{at}: Certificate is required (the CRLs are verified with it)");
            if (issuer.MaxSerialsShrink is < 0 or > 1) errors.Add($"{at}: MaxSerialsShrink must be between 0 and 1");
            if (string.IsNullOrWhiteSpace(publish.IssuedSerials) && publish.Crls.Count == 0)
                errors.Add($"{at}: Publish names nothing to publish (set Publish:IssuedSerials and/or Publish:Crls)");
            if (!string.IsNullOrWhiteSpace(publish.IssuedSerials))
            {
                if (string.IsNullOrWhiteSpace(issuer.IssuedSerials) || !BlobPublishTarget.IsBlobLocation(issuer.IssuedSerials))
                    errors.Add($"{at}: Publish:IssuedSerials needs IssuedSerials to be the blob:CONTAINER/NAME the responder reads");
                else if (issuer.IssuedSerialsFormat is not (IssuedSerialsFormat.Auto or IssuedSerialsFormat.Text))
                    errors.Add($"{at}: publish uploads the Text format; IssuedSerialsFormat must be Auto or Text, not {issuer.IssuedSerialsFormat}");
                if (publish.RunsCertutil && publish.IssuedSerialsFormat != IssuedSerialsFormat.Auto)
                    errors.Add($"{at}: Publish:IssuedSerialsFormat applies to a file, not to certutil");
                if (publish.RunsCertutil && (string.IsNullOrWhiteSpace(publish.Certutil.Path) || publish.Certutil.Timeout <= TimeSpan.Zero))
                    errors.Add($"{at}: Publish:Certutil needs a Path and a positive Timeout");
            }
            int destinations = issuer.Crls.Count(BlobPublishTarget.IsBlobLocation);
            if (publish.Crls.Count > 0 && publish.Crls.Count != destinations)
                errors.Add($"{at}: Publish:Crls has {publish.Crls.Count} entries but Crls has {destinations} blob:CONTAINER/NAME locations; they pair up in order");
        }
        if (!any) errors.Add("no issuer has a Publish section (Ocsp:Issuers:N:Publish), so there is nothing to publish");
        return errors;
    }

    /// <summary>The validated configuration's publisher: local files and URLs (and <c>blob:</c>) to read, the Blob account to write.</summary>
    public static Publisher CreatePublisher(OcspConfiguration configuration, HttpClient http, TimeProvider time, Microsoft.Extensions.Logging.ILogger logger)
    {
        var errors = Validate(configuration);
        if (errors.Count > 0) throw new ConfigLoader.ConfigurationException("configuration errors:\n  " + string.Join("\n  ", errors));
        var blob = configuration.Stores.Select(s => s.Settings).OfType<BlobStoreOptions>().First(o => o.IsBlob);
        var target = AzureAdapters.CreateBlobStorage(blob).CreatePublishTarget();
        return new Publisher(configuration, Composition.CreateSources(configuration, http), target, time, logger);
    }
}
