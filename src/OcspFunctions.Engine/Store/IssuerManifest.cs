using System.Text.Json;
using System.Text.Json.Serialization;

namespace OcspFunctions.Engine.Store;

/// <summary>Per-issuer record of the last refresh: what was accepted, what was published, what went wrong.</summary>
public sealed class IssuerManifest
{
    public string IssuerId { get; set; } = "";
    public string Name { get; set; } = "";
    public string CaSubject { get; set; } = "";
    public DateTimeOffset? LastRunStarted { get; set; }
    public DateTimeOffset? LastRunFinished { get; set; }
    public DateTimeOffset? LastSuccess { get; set; }
    public bool LastRunSucceeded { get; set; }
    public List<string> Errors { get; set; } = [];
    public List<string> Warnings { get; set; } = [];

    /// <summary>
    /// Highest accepted CRL number per CRL scope (<see cref="CrlScopes"/> keys): a lower one later is refused, wherever it
    /// comes from (a replayed or rolled-back CRL).
    /// </summary>
    public Dictionary<string, CrlScopeState> CrlScopes { get; set; } = [];

    /// <summary>
    /// Before CRL scopes: the highest accepted CRL number per configured location. Still honoured for its location; an
    /// entry is dropped once a CRL from that location has been accepted into <see cref="CrlScopes"/>.
    /// </summary>
    public Dictionary<string, string> CrlNumbers { get; set; } = [];

    /// <summary>Serials kept revoked although no source lists them any more (RFC 5280 §3.3; also a warning).</summary>
    public int StickyRevocations { get; set; }

    /// <summary>HTTP validators per source location, for conditional fetches.</summary>
    public Dictionary<string, SourceState> Sources { get; set; } = [];

    public int? IssuedSerialCount { get; set; }
    public bool Deterministic { get; set; }
    public int Good { get; set; }
    public int Revoked { get; set; }
    public DateTimeOffset? OldestNextUpdate { get; set; }
    public DateTimeOffset? NextRefreshDue { get; set; }
    public DateTimeOffset? ResponderNotAfter { get; set; }

    /// <summary>Serials left unsigned when the last run reached Timing:MaxRunTime (new, changed or due); the next run continues.</summary>
    public int Backlog { get; set; }

    /// <summary>Responses per second the last run signed at (kept from an earlier run when the last one signed too few to tell).</summary>
    public double? SigningRate { get; set; }

    /// <summary>When the backlog is expected to be cleared at that rate and the run schedule; null when there is none or no rate.</summary>
    public DateTimeOffset? BacklogClearsBy { get; set; }

    /// <summary>Packs the index refers to.</summary>
    public int Packs { get; set; }

    /// <summary>Packs nothing refers to any more, with when that was noticed; deleted after the refresh's pack retention.</summary>
    public Dictionary<string, DateTimeOffset> RetiredPacks { get; set; } = [];

    /// <summary>
    /// How many shards the index is split into (a power of two, <see cref="Store.IndexShards"/>); 0: the single index.tsv
    /// of earlier versions (or no index yet).
    /// </summary>
    public int IndexShards { get; set; }

    /// <summary>Per shard, a hash of its content: a server refetches only the shards whose version changed.</summary>
    public List<string> IndexShardVersions { get; set; } = [];

    /// <summary>
    /// Index objects no longer used (an index.tsv migrated to shards; the shards of a smaller count, a name ending in '/'),
    /// with when; deleted after the pack retention, as servers on the previous manifest may still read them meanwhile.
    /// </summary>
    public Dictionary<string, DateTimeOffset> RetiredIndex { get; set; } = [];

    /// <summary>The CertID hash algorithms pre-signed (sha1, sha256 …): a server answers any other without reading the store.</summary>
    public List<string> HashAlgorithms { get; set; } = [];

    /// <summary>What the stored responses were signed with; a change re-signs everything.</summary>
    public string? SigningFingerprint { get; set; }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, Options);

    public static IssuerManifest Parse(byte[] content, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<IssuerManifest>(content, Options) ?? throw new StoreException($"{source} is empty");
        }
        catch (JsonException e)
        {
            throw new StoreException($"{source} is not a valid manifest: {e.Message}", e);
        }
    }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };
}

public sealed record SourceState(string? ETag, DateTimeOffset? LastModified);

/// <summary>The highest CRL number accepted for one CRL scope, where it came from, and the scope in words.</summary>
public sealed record CrlScopeState(string Number, string Location, string Scope);
