using System.Globalization;

namespace OcspFunctions.Engine;

/// <summary>
/// Whether the schedule can keep every response fresh, and when a backlog clears. Deliberately simple:
/// <list type="bullet">
/// <item>needed  = serials × hash algorithms / RefreshAfter (responses per second, on average: each response is re-signed
/// once per RefreshAfter);</item>
/// <item>sustained = rate × MaxRunTime / RefreshInterval (a run signs for at most MaxRunTime of every timer interval);</item>
/// <item>time to clear a backlog = backlog serials × hash algorithms / sustained.</item>
/// </list>
/// The rate is the one the last refresh measured (recorded in the manifest), else the signer's declared limit
/// (<see cref="ISigningRateHint"/>); with neither (a first run on a local key) nothing is claimed.
/// </summary>
public sealed class SigningCapacity(TimingOptions timing, TimeSpan refreshInterval)
{
    /// <summary>The share of wall time runs spend signing.</summary>
    public double DutyCycle => Math.Min(1, timing.MaxRunTime / refreshInterval);

    public double Sustained(double rate) => rate * DutyCycle;

    public static double Needed(int serials, int algorithms, TimeSpan refreshAfter) => (double)serials * algorithms / refreshAfter.TotalSeconds;

    public TimeSpan? TimeToClear(int backlog, int algorithms, double? rate) =>
        backlog == 0 ? TimeSpan.Zero
        : rate is > 0 ? TimeSpan.FromSeconds(backlog * (double)algorithms / Sustained(rate.Value))
        : null;

    /// <summary>The start-of-run verdict: (fits, a line saying why).</summary>
    public (bool Fits, string Line)? Check(int serials, int algorithms, double? measured, double? declared)
    {
        double? rate = measured ?? declared;
        if (rate is not > 0) return null;
        double needed = Needed(serials, algorithms, timing.EffectiveRefreshAfter), sustained = Sustained(rate.Value);
        string source = measured is not null ? "measured by the last run" : "declared by the signer";
        string line = string.Create(CultureInfo.InvariantCulture,
            $"re-signing {serials:N0} serials × {algorithms} hash algorithm(s) every {timing.EffectiveRefreshAfter} needs {needed:0.##} responses/s; " +
            $"the signer's {rate:0.#}/s ({source}) for {timing.MaxRunTime} of every {refreshInterval} sustains {sustained:0.##}/s");
        return (needed <= sustained, line);
    }
}
