using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using OcspFunctions.Hosting;

namespace OcspFunctions.App;

/// <summary>
/// Every HTTP request: the catch-all route (host.json sets no route prefix) hands the raw request to the same
/// <see cref="ResponderEndpoint"/> as <c>serve</c> — RFC 5019 GET in every accepted form, POST, HEAD, <c>/health</c>, <c>/</c>.
/// The catch-all also keeps <c>%2F</c> inside a GET path routable (azure-functions-host #5619).
/// </summary>
public sealed class OcspHttpFunction(ResponderEndpoint endpoint)
{
    public const string Name = "ocsp";

    [Function(Name)]
    public async Task<IActionResult> RunAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", "post", Route = "{*path}")] HttpRequest request)
    {
        await endpoint.HandleAsync(request.HttpContext);
        // The endpoint has written status, headers and body; nothing more goes out.
        return new EmptyResult();
    }
}
