using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

/// <summary>The compact issued-serials map against a Dictionary doing the same: lookups, replacement, growth, order, collisions.</summary>
public sealed class SerialExpiryMapTests
{
    private static readonly DateTimeOffset Expiry = new(2027, 1, 31, 12, 0, 0, TimeSpan.Zero);

    private static SerialNumber S(string hex) => SerialNumber.ParseHex(hex);

    [Fact]
    public void Serials_of_every_length_are_kept_apart_and_found()
    {
        string[] serials =
        [
            "00", "01", "7F", "80", "FF",                                     // 1 byte (0x80.. is canonical without its DER pad)
            "0102030405060708090A0B0C0D0E0F10",                               // 16
            "0102030405060708090A0B0C0D0E0F1011121314",                       // 20, the RFC 5280 limit
            "0102030405060708090A0B0C0D0E0F101112131415",                     // 21: longer ones exist in the wild
            string.Concat(Enumerable.Repeat("A5", 64)),                       // 64
            "0102030405060708090A0B0C0D0E0F",                                 // a prefix of the 16-byte one
        ];
        var map = new SerialExpiryMap();
        for (int i = 0; i < serials.Length; i++) map[S(serials[i])] = i % 2 == 0 ? Expiry.AddDays(i) : null;

        Assert.Equal(serials.Length, map.Count);
        for (int i = 0; i < serials.Length; i++)
        {
            Assert.True(map.TryGetValue(S(serials[i]), out var expiry), serials[i]);
            Assert.Equal(i % 2 == 0 ? Expiry.AddDays(i) : null, expiry);
        }
        Assert.Equal(serials.Select(S), map.Keys);
        Assert.False(map.ContainsKey(S("02")));
        Assert.False(map.ContainsKey(S("0102030405060708090A0B0C0D0E0F1011")));
        Assert.Throws<KeyNotFoundException>(() => map[S("02")]);
    }

    [Fact]
    public void A_zero_prefixed_serial_is_the_same_serial()
    {
        var map = new SerialExpiryMap();
        map[S("01AB")] = Expiry;
        Assert.True(map.ContainsKey(S("0000000000000000000000000000000000000000000001AB")));
        Assert.False(map.TryAdd(S("00:00:01:AB"), null));
        Assert.Equal(Expiry, map[S("1ab")]);
        Assert.Equal("01AB", Assert.Single(map).Key.ToString());
    }

    [Fact]
    public void Set_replaces_the_expiry_and_TryAdd_keeps_it()
    {
        var map = new SerialExpiryMap();
        Assert.True(map.TryAdd(S("0A"), Expiry));
        Assert.False(map.TryAdd(S("0A"), null));
        Assert.Equal(Expiry, map[S("0A")]);
        map.Set(S("0A"), null);
        Assert.Null(map[S("0A")]);
        map[S("0A")] = Expiry.AddDays(1);
        Assert.Equal(Expiry.AddDays(1), map[S("0A")]);
        Assert.Single(map);
    }

    [Fact]
    public void An_expiry_in_another_offset_is_the_same_instant_in_UTC()
    {
        var map = new SerialExpiryMap();
        map[S("0B")] = new DateTimeOffset(2026, 6, 30, 12, 30, 0, 123, TimeSpan.FromHours(2)).AddTicks(4567);
        var stored = map[S("0B")]!.Value;
        Assert.Equal(TimeSpan.Zero, stored.Offset);
        Assert.Equal(new DateTimeOffset(2026, 6, 30, 10, 30, 0, 123, TimeSpan.Zero).AddTicks(4567), stored);
    }

    /// <summary>Grown one serial at a time from empty (arena, entries and slots all resize), then pre-sized: same answers as a Dictionary.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Grows_and_agrees_with_a_dictionary(bool presized)
    {
        var random = new Random(12);
        var reference = new Dictionary<SerialNumber, DateTimeOffset?>();
        var order = new List<SerialNumber>();
        var map = new SerialExpiryMap();
        if (presized) map.EnsureCapacity(50_000, 50_000 * 16L);
        for (int i = 0; i < 60_000; i++)
        {
            // Lengths 1..24 from a small space, so that about a tenth are repeats.
            var bytes = new byte[1 + random.Next(24)];
            random.NextBytes(bytes);
            if (random.Next(10) == 0 && order.Count > 0) bytes = order[random.Next(order.Count)].Bytes.ToArray();
            var serial = SerialNumber.FromMagnitude(bytes);
            DateTimeOffset? expiry = random.Next(3) == 0 ? null : Expiry.AddSeconds(random.Next());
            if (!reference.ContainsKey(serial)) order.Add(serial);
            reference[serial] = expiry;
            map[serial] = expiry;
        }
        Assert.Equal(reference.Count, map.Count);
        Assert.Equal(order, map.Keys);
        foreach (var (serial, expiry) in reference) Assert.Equal(expiry, map[serial]);
        Assert.Equal(order.Select(s => reference[s]), map.Values);
        for (int i = 0; i < 1000; i++)
        {
            var absent = new byte[17];
            random.NextBytes(absent);
            absent[0] = 0xEE; // mostly absent; whatever the reference says, the map says
            var serial = SerialNumber.FromMagnitude(absent);
            Assert.Equal(reference.ContainsKey(serial), map.ContainsKey(serial));
        }
    }

    /// <summary>
    /// Two serials with the same 32-bit hash (the map hashes as SerialNumber.GetHashCode, seeded per process: found here by
    /// the birthday bound, about 80,000 tries): both kept, each with its own expiry.
    /// </summary>
    [Fact]
    public void Serials_with_the_same_hash_are_told_apart_by_their_bytes()
    {
        var seen = new Dictionary<int, SerialNumber>();
        var random = new Random(5);
        SerialNumber first = default, second = default;
        for (int i = 0; i < 2_000_000 && first.IsDefault; i++)
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            var serial = SerialNumber.FromMagnitude(bytes);
            if (seen.TryGetValue(serial.GetHashCode(), out var other) && other != serial) (first, second) = (other, serial);
            else seen[serial.GetHashCode()] = serial;
        }
        Assert.False(first.IsDefault, "no two serials with one hash in 2,000,000 tries");

        var map = new SerialExpiryMap();
        map[first] = Expiry;
        Assert.False(map.ContainsKey(second));
        map[second] = null;
        Assert.Equal(2, map.Count);
        Assert.Equal(Expiry, map[first]);
        Assert.Null(map[second]);
        Assert.Equal([first, second], map.Keys);
    }

    [Fact]
    public void Changing_the_map_while_enumerating_it_fails()
    {
        var map = new SerialExpiryMap { [S("01")] = null, [S("02")] = null };
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var (serial, _) in map) map[S("03")] = null;
        });
        Assert.Empty(new SerialExpiryMap());
        Assert.False(new SerialExpiryMap().TryGetValue(S("01"), out _));
    }
}
