using Microsoft.Extensions.DependencyInjection;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Hosting;

namespace OcspResponder.Cli;

public static class ServeCommand
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Refuses (exit 2) a directory store that does not exist; warns about issuers never refreshed, then serves.</summary>
    public static async Task<int> RunAsync(string? configFile, string[] urls, TextWriter error, CancellationToken cancellationToken)
    {
        var options = Composition.LoadValidated(configFile, error);
        var store = ReadStore.Open(options);
        var app = await ResponderHost.BuildAsync(options, urls.Length > 0 ? urls : [DefaultUrl], cancellationToken, store);
        foreach (var (issuer, manifest) in await app.Services.GetRequiredService<StoreResponseSource>().ManifestsAsync(cancellationToken))
        {
            if (manifest is null)
                error.WriteLine($"warning: issuer {issuer.Certificate.Subject} ({issuer.KeyHashHex}) has no responses: {ReadStore.NoIssuersYet(ReadStore.Describe(options))}");
        }
        await app.RunAsync(cancellationToken);
        return 0;
    }
}
