using System.CommandLine;
using OcspResponder.Cli;

var fileArgument = new Argument<FileInfo>("file") { Description = "an OCSP request, OCSP response or CRL, DER or PEM" };
var inspect = new Command("inspect", "Print an OCSP request, an OCSP response or a CRL in readable form") { fileArgument };
inspect.SetAction(async (parse, cancellationToken) =>
{
    var file = parse.GetValue(fileArgument)!;
    try
    {
        var bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken);
        Console.Write(Inspector.Describe(bytes));
        return 0;
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
    {
        Console.Error.WriteLine($"inspect: {file.FullName}: {e.Message}");
        return 2;
    }
});

var root = new RootCommand("OcspFunctions OCSP responder: refresh, serve and inspect") { inspect };
return await root.Parse(args).InvokeAsync();
