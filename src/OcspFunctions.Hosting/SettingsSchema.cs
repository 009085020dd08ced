using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace OcspFunctions.Hosting;

/// <summary>
/// The settings the engine and the registered adapters declare (the settable properties of their option types), merged
/// into one tree, so a key nobody reads is reported in plain words instead of being silently ignored.
/// </summary>
internal sealed class SettingsSchema
{
    private readonly Dictionary<string, SettingsSchema> _children = new(StringComparer.OrdinalIgnoreCase);
    private SettingsSchema? _items;

    public static SettingsSchema For(Type type)
    {
        var schema = new SettingsSchema();
        schema.Add(type);
        return schema;
    }

    /// <summary>The node at a path of names ("Store", "Issuers:*:Responder"; "*" = every list element).</summary>
    public SettingsSchema At(string path)
    {
        var node = this;
        foreach (var part in path.Split(':'))
            node = part == "*" ? node._items ??= new SettingsSchema() : node.Child(part);
        return node;
    }

    public void Add(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsScalar(type)) return;
        if (ElementType(type) is { } element)
        {
            (_items ??= new SettingsSchema()).Add(element);
            return;
        }
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0) continue;
            Child(property.Name).Add(property.PropertyType);
        }
    }

    /// <summary>Every configured key under <paramref name="section"/> that no option type declares.</summary>
    public void FindUnknown(IConfigurationSection section, List<(string Path, string? Suggestion)> unknown)
    {
        foreach (var child in section.GetChildren())
        {
            if (_items is not null && int.TryParse(child.Key, out _))
            {
                _items.FindUnknown(child, unknown);
                continue;
            }
            if (_children.TryGetValue(child.Key, out var known))
            {
                known.FindUnknown(child, unknown);
                continue;
            }
            unknown.Add((child.Path, Suggest(child.Key)));
        }
    }

    private SettingsSchema Child(string name)
    {
        if (!_children.TryGetValue(name, out var child)) _children[name] = child = new SettingsSchema();
        return child;
    }

    /// <summary>The declared name closest to a misspelt one (at most a third of its letters different).</summary>
    private string? Suggest(string key) =>
        _children.Keys.Select(k => (Name: k, Distance: Distance(key.ToLowerInvariant(), k.ToLowerInvariant())))
            .Where(c => c.Distance <= Math.Max(1, c.Name.Length / 3))
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri);

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(List<>) || d == typeof(IList<>) || d == typeof(IEnumerable<>)
                                                                              || d == typeof(IReadOnlyList<>) || d == typeof(ICollection<>))
            ? type.GetGenericArguments()[0]
            : null;
}
