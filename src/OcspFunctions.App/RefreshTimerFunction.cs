using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace OcspFunctions.App;

/// <summary>
/// The scheduled refresh (<c>OCSP_REFRESH_SCHEDULE</c>, six-field NCRONTAB, e.g. <c>0 */5 * * * *</c>). The host runs one
/// instance at a time (a lease in AzureWebJobsStorage); a failed refresh is a failed invocation. Not reachable over HTTP.
/// </summary>
public sealed class RefreshTimerFunction(RefreshRunner runner, ILogger<RefreshTimerFunction> logger)
{
    public const string Name = "RefreshTimer";

    [Function(Name)]
    public async Task RunAsync([TimerTrigger("%OCSP_REFRESH_SCHEDULE%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        // A missed schedule (scaled to zero, a long previous run) fires once; one run catches up.
        if (timer.IsPastDue) logger.LogInformation("Refresh timer is past due; refreshing now");
        await runner.RunAsync(cancellationToken);
    }
}
