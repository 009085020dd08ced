using Microsoft.Extensions.Logging;
using OcspFunctions.Hosting;
using OcspFunctions.Hosting.Publishing;

namespace OcspResponder.Cli;

/// <summary>
/// <c>publish --config FILE</c>, on the CA: validates the local CRLs and issued serials, then uploads what changed to the
/// responder's <c>blob:</c> inputs. One line per issuer; exit 0 all published (or unchanged), 1 an issuer failed
/// (nothing uploaded for it), 2 bad configuration.
/// </summary>
public static class PublishCommand
{
    public static async Task<int> RunAsync(string? configFile, bool verbose, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var configuration = ConfigLoader.Load(configFile);
        using var loggers = Composition.CreateLoggerFactory(verbose);
        using var http = new HttpClient();
        var publisher = PublishSetup.CreatePublisher(configuration, http, TimeProvider.System, loggers.CreateLogger<Publisher>());
        var results = await publisher.RunAsync(cancellationToken);
        foreach (var r in results)
        {
            string uploaded = r.Uploaded.Count == 0 ? "nothing uploaded" : $"uploaded {string.Join(", ", r.Uploaded)}";
            output.WriteLine(r.Succeeded
                ? $"{r.Issuer}: ok  {uploaded}  unchanged {r.Unchanged.Count}"
                : $"{r.Issuer}: FAILED: {r.Error}");
            foreach (var w in r.Warnings) output.WriteLine($"  warning: {w}");
        }
        return results.All(r => r.Succeeded) ? 0 : 1;
    }
}
