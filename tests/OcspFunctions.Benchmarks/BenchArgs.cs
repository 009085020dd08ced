using System.Globalization;

namespace OcspFunctions.Benchmarks;

/// <summary><c>--name value</c> and <c>--flag</c> options of the hand-written benchmark modes.</summary>
internal sealed class BenchArgs
{
    private readonly Dictionary<string, string?> _values = [];

    public static BenchArgs Parse(string[] args, params string[] known)
    {
        var result = new BenchArgs();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            if (known.Length > 0 && !known.Contains(args[i])) throw new ArgumentException($"unknown option '{args[i]}' (known: {string.Join(' ', known)})");
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            result._values[args[i]] = hasValue ? args[++i] : null;
        }
        return result;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int fallback) =>
        Get(name) is { } v ? int.Parse(v.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>Seconds as a number.</summary>
    public TimeSpan Seconds(string name, TimeSpan fallback) => Get(name) is { } v ? TimeSpan.FromSeconds(double.Parse(v, CultureInfo.InvariantCulture)) : fallback;
}
