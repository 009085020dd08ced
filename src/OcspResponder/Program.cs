using System.CommandLine;
using OcspResponder.Cli;
using OcspFunctions.Hosting;

var configOption = new Option<FileInfo?>("--config", "-c") { Description = "configuration file (JSON); environment variables Ocsp__… override it" };
var verboseOption = new Option<bool>("--verbose", "-v") { Description = "log progress details" };

var fileArgument = new Argument<FileInfo>("file") { Description = "an OCSP request, OCSP response or CRL, DER or PEM" };
var inspect = new Command("inspect", "Print an OCSP request, an OCSP response or a CRL in readable form") { fileArgument };
inspect.SetAction((parse, ct) => Guard("inspect", async () =>
{
    var bytes = await File.ReadAllBytesAsync(parse.GetValue(fileArgument)!.FullName, ct);
    Console.Write(Inspector.Describe(bytes));
    return 0;
}));

var refresh = new Command("refresh", "Ingest CRLs and issued serials, sign what changed or is due, publish to the store") { configOption, verboseOption };
refresh.SetAction((parse, ct) => Guard("refresh", () =>
    RefreshCommand.RunAsync(parse.GetValue(configOption)?.FullName, parse.GetValue(verboseOption), Console.Out, Console.Error, ct)));

var status = new Command("status", "Counts, freshness and the last run of each issuer; non-zero exit when stale or failing") { configOption };
status.SetAction((parse, ct) => Guard("status", () =>
    StatusCommand.RunAsync(parse.GetValue(configOption)?.FullName, Console.Out, Console.Error, ct)));

var certOption = new Option<FileInfo>("--cert") { Description = "the certificate (PEM) to staple", Required = true };
var outOption = new Option<FileInfo>("--out") { Description = "where to write the DER response", Required = true };
var staple = new Command("staple", "Write the current response for a certificate, for nginx ssl_stapling_file") { configOption, certOption, outOption };
staple.SetAction((parse, ct) => Guard("staple", () =>
    StapleCommand.RunAsync(parse.GetValue(configOption)?.FullName, parse.GetValue(certOption)!.FullName, parse.GetValue(outOption)!.FullName,
        Console.Out, Console.Error, ct)));

var urlsOption = new Option<string[]>("--urls") { Description = $"where to listen (default {ServeCommand.DefaultUrl})", AllowMultipleArgumentsPerToken = true };
var serve = new Command("serve", "Serve the pre-signed responses over HTTP (RFC 5019 / RFC 9919 GET and POST)") { configOption, urlsOption };
serve.SetAction((parse, ct) => Guard("serve", () =>
    ServeCommand.RunAsync(parse.GetValue(configOption)?.FullName, parse.GetValue(urlsOption) ?? [], Console.Error, ct)));

var dirOption = new Option<DirectoryInfo>("--dir") { Description = "where to build the demo", DefaultValueFactory = _ => new DirectoryInfo("ocsp-quickstart") };
var portOption = new Option<int>("--port") { Description = "port on 127.0.0.1", DefaultValueFactory = _ => 8080 };
var noServeOption = new Option<bool>("--no-serve") { Description = "stop after the refresh" };
var quickstart = new Command("quickstart", "Build a demo PKI, refresh it and serve it on 127.0.0.1, printing commands to try") { dirOption, portOption, noServeOption };
quickstart.SetAction((parse, ct) => Guard("quickstart", () =>
    QuickstartCommand.RunAsync(parse.GetValue(dirOption)!.FullName, parse.GetValue(portOption), !parse.GetValue(noServeOption), Console.Out, Console.Error, ct)));

var urlOption = new Option<string>("--url") { Description = "the responder URL (the certificate's AIA OCSP URL)", Required = true };
var issuerOption = new Option<FileInfo>("--issuer") { Description = "the CA certificate", Required = true };
var queryCertOption = new Option<FileInfo?>("--cert") { Description = "the certificate to check" };
var serialOption = new Option<string?>("--serial") { Description = "or its serial number in hex" };
var postOption = new Option<bool>("--post") { Description = "send by POST instead of GET" };
var hashOption = new Option<string>("--hash") { Description = "CertID hash: sha1 or sha256", DefaultValueFactory = _ => "sha1" };
var nonceOption = new Option<bool>("--nonce") { Description = "add a nonce (a pre-produced responder does not echo it)" };
var query = new Command("query", "Ask a responder about one certificate and verify the answer; exit 0 only for a verified good")
    { urlOption, issuerOption, queryCertOption, serialOption, postOption, hashOption, nonceOption };
query.SetAction((parse, ct) => Guard("query", async () =>
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
    var options = new QueryCommand.Options(parse.GetValue(urlOption)!, parse.GetValue(issuerOption)!.FullName, parse.GetValue(queryCertOption)?.FullName,
        parse.GetValue(serialOption), parse.GetValue(postOption), OcspFunctions.Protocol.CertIdHashAlgorithms.Parse(parse.GetValue(hashOption)!),
        parse.GetValue(nonceOption));
    return await QueryCommand.RunAsync(options, http, Console.Out, Console.Error, ct);
}));

var csrKeyOption = new Option<FileInfo?>("--key") { Description = "a local responder key file (PEM or DER PKCS#8)" };
var csrVaultOption = new Option<string?>("--key-vault-key-id") { Description = "or a Key Vault or Managed HSM key: https://NAME.vault.azure.net/keys/KEY[/VERSION] or https://NAME.managedhsm.azure.net/keys/KEY[/VERSION]" };
var csrSubjectOption = new Option<string>("--subject") { Description = "the responder's subject, e.g. \"CN=Example OCSP Responder, O=Example\"", Required = true };
var csrOutOption = new Option<FileInfo>("--out") { Description = "where to write the PEM request", Required = true };
var csrPssOption = new Option<bool>("--use-pss") { Description = "RSA keys: sign with RSASSA-PSS" };
var csrIdentityOption = new Option<string?>("--managed-identity-client-id") { Description = "a user-assigned identity for Key Vault" };
var csr = new Command("csr", "Write a PKCS#10 request for the responder key (local file or Key Vault) for the CA to sign")
    { csrKeyOption, csrVaultOption, csrSubjectOption, csrOutOption, csrPssOption, csrIdentityOption };
csr.SetAction((parse, ct) => Guard("csr", () => CsrCommand.RunAsync(parse.GetValue(csrKeyOption)?.FullName, parse.GetValue(csrVaultOption),
    parse.GetValue(csrSubjectOption)!, parse.GetValue(csrOutOption)!.FullName, parse.GetValue(csrPssOption), parse.GetValue(csrIdentityOption),
    Console.Out, Console.Error, ct)));

var publish = new Command("publish", "On the CA: validate the local CRLs and issued serials, then upload what changed to the responder's blob: inputs") { configOption, verboseOption };
publish.SetAction((parse, ct) => Guard("publish", () =>
    PublishCommand.RunAsync(parse.GetValue(configOption)?.FullName, parse.GetValue(verboseOption), Console.Out, Console.Error, ct)));

var responder = ResponderCommand.Create(Guard);

var root = new RootCommand("OcspFunctions OCSP responder") { quickstart, serve, refresh, status, query, inspect, staple, csr, publish, responder };
return await root.Parse(args).InvokeAsync();

// Expected failures print one clear line and exit 2; anything else is a bug and keeps its stack trace.
static async Task<int> Guard(string verb, Func<Task<int>> action)
{
    try
    {
        return await action();
    }
    catch (Exception e) when (e is ConfigLoader.ConfigurationException or IOException or UnauthorizedAccessException or InvalidDataException
                                  or FormatException or System.Security.Cryptography.CryptographicException
                                  or OcspFunctions.Engine.Store.StoreException or OcspFunctions.Protocol.MalformedResponseException
                                  or OcspFunctions.Engine.Sources.SourceException
                                  or OcspFunctions.Adapters.Azure.KeyVault.KeyVaultException or ArgumentException)
    {
        // Messages can quote configuration values and input text: never raw control characters to the terminal.
        Console.Error.WriteLine($"{verb}: {OcspFunctions.Protocol.Printable.EscapeLines(e.Message)}");
        return 2;
    }
}
