using OcspFunctions.App;
using OcspFunctions.Engine;
using Xunit;

namespace OcspFunctions.Tests.Functions;

/// <summary>OCSP_REFRESH_SCHEDULE read with NCrontab (the Functions host's parser) against MaxRunTime and RefreshInterval.</summary>
public sealed class RefreshScheduleTests
{
    private static readonly DateTime From = new(2026, 12, 2, 12, 0, 7, DateTimeKind.Utc);

    private static OcspOptions Options(TimeSpan? maxRunTime = null, TimeSpan? refreshInterval = null)
    {
        var options = new OcspOptions();
        if (maxRunTime is { } m) options.Timing.MaxRunTime = m;
        if (refreshInterval is { } r) options.Serve.RefreshInterval = r;
        return options;
    }

    [Theory]
    [InlineData("0 */5 * * * *", 5, 5)]
    [InlineData("*/10 * * * *", 10, 10)] // five fields, no seconds
    [InlineData("0 0,5,30 * * * *", 5, 30)]
    [InlineData("00:05:00", 5, 5)] // TimeSpan (dedicated plans)
    [InlineData("0 0 9-17 * * 1-5", 60, 60 * 24 * 2 + 60 * 16)] // weekdays 9-17 only: Friday 17:00 to Monday 09:00
    public void Gaps_are_read_as_the_host_runs_the_schedule(string schedule, int shortestMinutes, int longestMinutes)
    {
        var gaps = RefreshSchedule.Gaps(schedule, From, out var error);
        Assert.Null(error);
        Assert.Equal((TimeSpan.FromMinutes(shortestMinutes), TimeSpan.FromMinutes(longestMinutes)), gaps);
    }

    [Fact]
    public void The_deployed_default_fits_the_default_settings() =>
        Assert.Empty(RefreshSchedule.Check("0 */5 * * * *", Options(), From));

    [Fact]
    public void A_run_time_that_overlaps_the_next_run_is_refused()
    {
        var error = Assert.Single(RefreshSchedule.Check("0 */2 * * * *", Options(refreshInterval: TimeSpan.FromMinutes(2)), From));
        Assert.Contains("Ocsp:Timing:MaxRunTime 00:04:00 must be below the shortest interval", error);
        Assert.Contains("(00:02:00)", error);
    }

    [Fact]
    public void A_refresh_interval_shorter_than_the_schedule_is_refused_with_the_value_to_set()
    {
        var error = Assert.Single(RefreshSchedule.Check("0 0 * * * *", Options(), From));
        Assert.Contains("Ocsp:Serve:RefreshInterval 00:05:00 is shorter than the longest interval", error);
        Assert.Contains("set Ocsp__Serve__RefreshInterval to 01:00:00", error);
        Assert.Empty(RefreshSchedule.Check("0 0 * * * *", Options(refreshInterval: TimeSpan.FromHours(1)), From));
    }

    [Theory]
    [InlineData(null, "is not set")]
    [InlineData("", "is not set")]
    [InlineData("every five minutes", "is not an NCRONTAB expression")]
    [InlineData("0 */5 * * *  * *", "is not an NCRONTAB expression")]
    [InlineData("-00:05:00", "is not a positive interval")]
    [InlineData("0 0 0 29 2 *", "runs less than twice")]
    public void An_unusable_schedule_is_an_error(string? schedule, string expected) =>
        Assert.Contains(expected, Assert.Single(RefreshSchedule.Check(schedule, Options(), From)));
}
