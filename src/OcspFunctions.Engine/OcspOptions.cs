using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Engine;

/// <summary>
/// The engine's part of the configuration, bound from the "Ocsp" section of a JSON file and environment variables
/// (<c>Ocsp__Issuers__0__Certificate</c>), so Azure app settings work unchanged. The store (<c>Ocsp:Store</c>), the
/// responder key kinds beyond a key file and the HTTP settings belong to the adapters and the host, which bind their
/// own option types from the same sections (<see cref="IStoreAdapter"/>, <see cref="ISignerAdapter"/>).
/// </summary>
public sealed class OcspOptions
{
    public const string SectionName = "Ocsp";

    public TimingOptions Timing { get; set; } = new();

    public List<IssuerOptions> Issuers { get; set; } = [];

    /// <summary>How the pre-signed responses are read back from the store (<c>Ocsp:Serve</c>; the HTTP settings there are the host's).</summary>
    public ServingOptions Serve { get; set; } = new();

    /// <summary>Cap on any one fetched source (CRL, serial list). A 1,000,000-entry CRL is ~40 MB.</summary>
    public long MaxSourceBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Time-out for one http(s) fetch.</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Parallel signing calls; 0 means one per processor (local keys); a remote signer may set its own limit.</summary>
    public int SigningConcurrency { get; set; }
}

/// <summary>How the pre-signed responses are held in memory and reloaded for answering (no HTTP here).</summary>
public sealed class ServingOptions
{
    /// <summary>How often the refresh runs (the timer schedule); a new response is published by then after it comes due.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the per-issuer index is checked for a newer refresh.</summary>
    public TimeSpan IndexReloadInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Memory bound of the in-memory response cache, counted at what an entry really holds (~1.1 KB for a P-256 response
    /// with its certificate). Small by default: a CDN or the clients' caches take repeated requests, and a miss costs one
    /// ranged read of a pack; with <see cref="IndexCacheBytes"/> it keeps a server at 10 million serials within 512 MB.
    /// </summary>
    public long CacheBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Memory bound of the index shards held in memory (least recently used dropped first; ~41 bytes a serial).</summary>
    public long IndexCacheBytes { get; set; } = 128L * 1024 * 1024;
}

public sealed class TimingOptions
{
    /// <summary>nextUpdate − thisUpdate. CA/B BR §4.9.10: 8 hours to 10 days; Mozilla wants updates at least every 4 days.</summary>
    public TimeSpan Validity { get; set; } = TimeSpan.FromDays(4);

    /// <summary>Re-sign once this much of the validity has passed; default half of it (BR §4.9.10).</summary>
    public TimeSpan? RefreshAfter { get; set; }

    /// <summary>Keep signing responses for certificates this long past their expiry, then stop.</summary>
    public TimeSpan ExpiredGrace { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Allow settings outside the CA/Browser Forum rules (private PKI only).</summary>
    public bool AllowPrivatePki { get; set; }

    /// <summary>
    /// A refresh run stops signing after this long, publishes what it signed and ends cleanly; the next run continues.
    /// Below the timer interval (<see cref="ServingOptions.RefreshInterval"/>) so runs never overlap.
    /// </summary>
    public TimeSpan MaxRunTime { get; set; } = TimeSpan.FromMinutes(4);

    public TimeSpan EffectiveRefreshAfter => RefreshAfter ?? Validity / 2;
}

public sealed class IssuerOptions
{
    /// <summary>Operator's name for the issuer (a CA after a key roll-over is a second issuer).</summary>
    public string Name { get; set; } = "";

    /// <summary>Location of the CA certificate (PEM or DER).</summary>
    public string Certificate { get; set; } = "";

    /// <summary>Locations of full and delta CRLs (file paths or http(s) URLs).</summary>
    public List<string> Crls { get; set; } = [];

    /// <summary>Location of the issued-serials list; when set, the responder is deterministic (KB 2960124).</summary>
    public string? IssuedSerials { get; set; }

    public IssuedSerialsFormat IssuedSerialsFormat { get; set; } = IssuedSerialsFormat.Auto;

    /// <summary>Location of revocations entered by hand; they win over the CRL.</summary>
    public string? LocalRevocations { get; set; }

    public ResponderOptions Responder { get; set; } = new();

    /// <summary>CertID hash algorithms to pre-sign, one response each (RFC 9919 §3.2.1); empty means sha1 and sha256.</summary>
    /// <remarks>Empty by default because the configuration binder appends to, rather than replaces, a pre-filled list.</remarks>
    public List<string> HashAlgorithms { get; set; } = [];

    public IReadOnlyList<string> EffectiveHashAlgorithms => HashAlgorithms.Count > 0 ? HashAlgorithms : ["sha1", "sha256"];

    /// <summary>Refuse an issued-serials list that lost more than this fraction of the serials since the last run (a truncated file).</summary>
    public double MaxSerialsShrink { get; set; } = 0.05;
}

public sealed class ResponderOptions
{
    /// <summary>Location of the responder certificate (delegated, or the CA's own).</summary>
    public string Certificate { get; set; } = "";

    /// <summary>Path of the private key file (PEM or DER PKCS#8); or leave it empty when a signer adapter's setting names a remote key.</summary>
    public string? Key { get; set; }

    public string? KeyPassword { get; set; }

    /// <summary>RSA only: sign with RSASSA-PSS instead of PKCS#1 v1.5.</summary>
    public bool UsePss { get; set; }
}
