using OcspFunctions.Hosting;

namespace OcspResponder.Cli;

public static class ServeCommand
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static async Task<int> RunAsync(string? configFile, string[] urls, TextWriter error, CancellationToken cancellationToken)
    {
        var options = Composition.LoadValidated(configFile, error);
        var app = await ResponderHost.BuildAsync(options, urls.Length > 0 ? urls : [DefaultUrl], cancellationToken);
        await app.RunAsync(cancellationToken);
        return 0;
    }
}
