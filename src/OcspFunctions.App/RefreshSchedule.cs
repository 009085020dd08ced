using System.Globalization;
using NCrontab;
using OcspFunctions.Engine;

namespace OcspFunctions.App;

/// <summary>
/// The timer's schedule (<c>OCSP_REFRESH_SCHEDULE</c>) against the settings that assume it: a run must end before the
/// next starts (Timing:MaxRunTime), and Serve:RefreshInterval — which the caching headers and the capacity check take as
/// the time between runs — must not promise runs more often than the schedule makes them. Parsed with NCrontab, the
/// library the Functions host parses timer schedules with: six fields (with seconds) or five; a TimeSpan as the host
/// accepts on dedicated plans.
/// </summary>
public static class RefreshSchedule
{
    public const string Variable = "OCSP_REFRESH_SCHEDULE";

    /// <summary>Runs looked at from <c>from</c>: eight days cover a weekly pattern; the cap bounds a every-second schedule.</summary>
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(8);

    private const int MaxOccurrences = 100_000;

    /// <summary>The shortest and longest time between runs, or null (with <paramref name="error"/>) when the schedule is unusable.</summary>
    public static (TimeSpan Shortest, TimeSpan Longest)? Gaps(string? schedule, DateTime from, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(schedule))
        {
            error = $"{Variable} is not set: the RefreshTimer function has no schedule (e.g. '0 */5 * * * *', every 5 minutes)";
            return null;
        }
        if (TimeSpan.TryParse(schedule, CultureInfo.InvariantCulture, out var every))
        {
            if (every > TimeSpan.Zero) return (every, every);
            error = $"{Variable} '{schedule}' is not a positive interval";
            return null;
        }
        int fields = schedule.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var cron = CrontabSchedule.TryParse(schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 });
        if (cron is null)
        {
            error = $"{Variable} '{schedule}' is not an NCRONTAB expression (six fields with seconds, e.g. '0 */5 * * * *')";
            return null;
        }
        var runs = cron.GetNextOccurrences(from, from + Horizon).Take(MaxOccurrences + 1).ToList();
        if (runs.Count < 2)
        {
            error = $"{Variable} '{schedule}' runs less than twice in {Horizon.TotalDays:0} days: responses would go stale between runs";
            return null;
        }
        TimeSpan shortest = TimeSpan.MaxValue, longest = TimeSpan.Zero;
        for (int i = 1; i < runs.Count; i++)
        {
            var gap = runs[i] - runs[i - 1];
            if (gap < shortest) shortest = gap;
            if (gap > longest) longest = gap;
        }
        return (shortest, longest);
    }

    /// <summary>Errors that stop the worker (the host's log shows them), naming the settings to change.</summary>
    public static List<string> Check(string? schedule, OcspOptions options, DateTime from)
    {
        var errors = new List<string>();
        if (Gaps(schedule, from, out var error) is not var (shortest, longest))
        {
            errors.Add(error!);
            return errors;
        }
        if (options.Timing.MaxRunTime >= shortest)
            errors.Add($"Ocsp:Timing:MaxRunTime {options.Timing.MaxRunTime} must be below the shortest interval of {Variable} '{schedule}' ({shortest}): " +
                       "a run must end before the next one starts");
        if (options.Serve.RefreshInterval < longest)
            errors.Add($"Ocsp:Serve:RefreshInterval {options.Serve.RefreshInterval} is shorter than the longest interval of {Variable} '{schedule}' ({longest}): " +
                       $"caching headers and the capacity check would assume runs that do not happen; set Ocsp__Serve__RefreshInterval to {longest}");
        return errors;
    }
}
