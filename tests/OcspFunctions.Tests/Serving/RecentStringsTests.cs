using OcspFunctions.Hosting;

namespace OcspFunctions.Tests.Serving;

public sealed class RecentStringsTests
{
    [Fact]
    public void Times_a_minute_apart_are_formatted_once_each_and_stay_right()
    {
        int formatted = 0;
        var cache = new RecentStrings(256, key => { formatted++; return key.ToString(System.Globalization.CultureInfo.InvariantCulture); });
        var start = new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
        // thisUpdate and nextUpdate of responses signed over a few minutes: minute-aligned tick counts (low bits all zero).
        long[] keys = [.. Enumerable.Range(0, 8).SelectMany(m => new[] { start.AddMinutes(m).UtcTicks, start.AddMinutes(m).AddDays(4).UtcTicks })];
        for (int round = 0; round < 10; round++)
            foreach (long key in keys) Assert.Equal(key.ToString(System.Globalization.CultureInfo.InvariantCulture), cache.Get(key));
        // 16 live values in 256 slots: a few collisions at most, not one format per lookup.
        Assert.InRange(formatted, keys.Length, keys.Length + 20);
    }

    [Fact]
    public void Size_must_be_a_power_of_two() => Assert.Throws<ArgumentOutOfRangeException>(() => new RecentStrings(100, k => ""));
}
