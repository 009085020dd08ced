using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using OcspFunctions.Engine.Store;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Serving;

public enum LookupOutcome
{
    /// <summary>A pre-signed response, current.</summary>
    Found,
    /// <summary>No response for this CertID: unknown issuer, hash algorithm not pre-signed, serial not published (RFC 5019 §2.2.3).</summary>
    Unauthorized,
    /// <summary>The stored response is past its nextUpdate: never served (the refresh is failing).</summary>
    Expired,
}

/// <summary>A lookup's answer with what the HTTP layer needs for its caching headers (RFC 5019 §6.2).</summary>
public sealed record ResponseLookup(LookupOutcome Outcome, CachedResponse? Response = null, bool FromStore = false)
{
    public static readonly ResponseLookup Unauthorized = new(LookupOutcome.Unauthorized);
}

/// <summary>A response as served: its bytes, times, strong ETag, and when the refresh will have published its successor.</summary>
public sealed class CachedResponse
{
    public required byte[] Der { get; init; }
    public required DateTimeOffset ThisUpdate { get; init; }
    public required DateTimeOffset NextUpdate { get; init; }
    /// <summary>Quoted hex SHA-256 of the DER (RFC 9919 §7.2).</summary>
    public required string ETag { get; init; }
    /// <summary>The refresh will have replaced this response by then; a cache must not keep it longer.</summary>
    public required DateTimeOffset ReplacedBy { get; init; }
    /// <summary>The index entry this response was loaded for: any difference means the store holds a newer one.</summary>
    public required IndexEntry Entry { get; init; }
}

/// <summary>Where the HTTP layer gets responses from (Boulder's Source): one small interface, layered.</summary>
public interface IResponseSource
{
    ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken);
}

/// <summary>
/// Serves the store the refresh writes. Each issuer's index is held in memory and reloaded when its manifest
/// changes, so a miss never touches the store; responses are cached in memory up to a byte bound, and a cached
/// response is dropped as soon as the index shows a newer one.
/// </summary>
public sealed class StoreResponseSource : IResponseSource
{
    private readonly IObjectStore _store;
    private readonly ServingOptions _options;
    private readonly TimingPolicy _timing;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IssuerDirectory _issuers;
    private readonly ConcurrentDictionary<string, IssuerState> _states = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<CacheKey, CachedResponse> _cache = new();
    private long _cacheBytes;

    public StoreResponseSource(IEnumerable<OcspIssuer> issuers, IObjectStore store, OcspOptions options, TimeProvider time, ILogger logger)
    {
        _issuers = new IssuerDirectory(issuers);
        _store = store;
        _options = options.Serve;
        _timing = new TimingPolicy(options.Timing);
        _time = time;
        _logger = logger;
        foreach (var issuer in _issuers.Issuers) _states[issuer.KeyHashHex] = new IssuerState(issuer);
    }

    public IssuerDirectory Issuers => _issuers;

    /// <summary>Cache hits, store reads and index reloads are counted here when set.</summary>
    public OcspInstruments? Instruments { get; init; }

    /// <summary>Per issuer (key hash) what the last loaded manifest says, for the freshness gauges; no I/O.</summary>
    public IEnumerable<IssuerReading> LoadedReadings() =>
        _states.Values.Where(s => s.Manifest is not null)
            .Select(s => new IssuerReading(s.Issuer.KeyHashHex, s.Manifest!.OldestNextUpdate, s.Manifest.ResponderNotAfter, s.Manifest.Backlog));

    private sealed class IssuerState(OcspIssuer issuer)
    {
        public OcspIssuer Issuer { get; } = issuer;
        public volatile IssuerIndex? Index;
        public volatile IssuerManifest? Manifest;
        public string? ManifestETag;
        public DateTimeOffset CheckedAt = DateTimeOffset.MinValue;
        /// <summary>Certificates from pack headers, by pack; pruned to the packs of each newly loaded index.</summary>
        public volatile ConcurrentDictionary<string, byte[]> PackHeaders = new(StringComparer.Ordinal);
        public readonly SemaphoreSlim Reload = new(1, 1);
    }

    public async ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken)
    {
        var issuer = _issuers.Find(certId);
        if (issuer is null) return ResponseLookup.Unauthorized;
        var state = _states[issuer.KeyHashHex];
        var index = await CurrentIndexAsync(state, cancellationToken).ConfigureAwait(false);
        // An empty issuerKeyHash (certutil) still names one issuer: serve that issuer's response for the algorithm.
        if (index is null || !index.Entries.TryGetValue(certId.SerialNumber, out var entry)) return ResponseLookup.Unauthorized;
        // A CertID hash algorithm the issuer does not pre-sign is answered from memory too (RFC 5019 §2.2.3: unauthorized).
        if (state.Manifest is { HashAlgorithms: { Count: > 0 } presigned } && !presigned.Contains(certId.HashAlgorithm.Name()))
            return ResponseLookup.Unauthorized;

        var key = new CacheKey(certId.HashAlgorithm, issuer, certId.SerialNumber);
        var now = _time.GetUtcNow();
        // thisUpdate has minute resolution, so compare the whole entry: a revocation within the same minute still shows.
        bool fromStore = false;
        if (!_cache.TryGetValue(key, out var cached) || cached.Entry != entry)
        {
            fromStore = true;
            long started = Stopwatch.GetTimestamp();
            var read = await ReadAsync(state, entry, cancellationToken).ConfigureAwait(false);
            if (read is null)
            {
                // The pack was retired and deleted after a newer index was published: load that index now, once.
                state.CheckedAt = DateTimeOffset.MinValue;
                index = await CurrentIndexAsync(state, cancellationToken).ConfigureAwait(false);
                if (index is null || !index.Entries.TryGetValue(certId.SerialNumber, out entry)) return ResponseLookup.Unauthorized;
                read = await ReadAsync(state, entry, cancellationToken).ConfigureAwait(false)
                       ?? throw new StoreException($"pack {entry.Pack} of issuer {issuer.KeyHashHex} is missing although its index refers to it");
            }
            StoredResponse? stored;
            try
            {
                stored = ResponsePacks.Select(read.Value.Record, read.Value.Certificates, certId.HashAlgorithm, certId.SerialNumber);
            }
            catch (MalformedResponseException e)
            {
                throw new StoreException($"stored responses of serial {certId.SerialNumber} in pack {entry.Pack} are unreadable: {e.Message}", e);
            }
            if (stored is null) return ResponseLookup.Unauthorized; // a hash algorithm this issuer does not pre-sign
            Instruments?.StoreRead(Stopwatch.GetElapsedTime(started));
            cached = Describe(stored, entry);
            if (cached is null) return ResponseLookup.Unauthorized;
            Remember(key, cached);
        }
        else Instruments?.CacheHit();
        return cached.NextUpdate <= now
            ? new ResponseLookup(LookupOutcome.Expired, cached, fromStore)
            : new ResponseLookup(LookupOutcome.Found, cached, fromStore);
    }

    /// <summary>A record and its pack's certificates (headers are cached: packs never change); null when the pack is gone.</summary>
    private async ValueTask<(byte[] Certificates, byte[] Record)?> ReadAsync(IssuerState state, IndexEntry entry, CancellationToken cancellationToken)
    {
        var headers = state.PackHeaders;
        if (!headers.TryGetValue(entry.Pack, out var certificates))
        {
            certificates = await ResponsePacks.ReadHeaderAsync(_store, state.Issuer.KeyHashHex, entry.Pack, cancellationToken).ConfigureAwait(false);
            if (certificates is null) return null;
            headers[entry.Pack] = certificates;
        }
        var record = await ResponsePacks.ReadRecordAsync(_store, state.Issuer.KeyHashHex, entry, cancellationToken).ConfigureAwait(false);
        return record is null ? null : (certificates, record);
    }

    /// <summary>A cached response's key: the CertID less the issuer name hash (the issuer is already resolved).</summary>
    private readonly record struct CacheKey(CertIdHashAlgorithm Algorithm, OcspIssuer Issuer, SerialNumber Serial);

    /// <summary>Bytes a cache entry is counted as: the DER and the bookkeeping around it.</summary>
    private static long CacheSize(CachedResponse response) => response.Der.Length + 256;

    /// <summary>Per-issuer freshness for /health and status: the manifest as last loaded.</summary>
    public async Task<IReadOnlyList<(OcspIssuer Issuer, IssuerManifest? Manifest)>> ManifestsAsync(CancellationToken cancellationToken)
    {
        var list = new List<(OcspIssuer, IssuerManifest?)>();
        foreach (var state in _states.Values)
        {
            await CurrentIndexAsync(state, cancellationToken).ConfigureAwait(false);
            list.Add((state.Issuer, state.Manifest));
        }
        return list;
    }

    private CachedResponse? Describe(StoredResponse stored, IndexEntry entry)
    {
        if (stored.Single.NextUpdate is not { } nextUpdate) return null;
        var thisUpdate = stored.Single.ThisUpdate;
        var due = _timing.RefreshDue(thisUpdate, nextUpdate, RefreshEngine.Spread(stored.Single.CertId.SerialNumber));
        // The refresh picks a due response up on its next run; allow one schedule interval for it.
        var replacedBy = due + _options.RefreshInterval;
        return new CachedResponse
        {
            Der = stored.Der,
            ThisUpdate = thisUpdate,
            NextUpdate = nextUpdate,
            ETag = "\"" + Convert.ToHexStringLower(SHA256.HashData(stored.Der)) + "\"",
            ReplacedBy = replacedBy < nextUpdate ? replacedBy : nextUpdate,
            Entry = entry,
        };
    }

    private void Remember(CacheKey key, CachedResponse response)
    {
        long size = CacheSize(response);
        if (Interlocked.Add(ref _cacheBytes, size) > _options.CacheBytes)
        {
            // Over the bound: drop about half, in dictionary order (cheap, and fair enough for a cache of equals).
            foreach (var old in _cache.Keys)
            {
                if (Interlocked.Read(ref _cacheBytes) <= _options.CacheBytes / 2) break;
                if (_cache.TryRemove(old, out var dropped)) Interlocked.Add(ref _cacheBytes, -CacheSize(dropped));
            }
        }
        if (_cache.TryGetValue(key, out var previous) && _cache.TryUpdate(key, response, previous))
            Interlocked.Add(ref _cacheBytes, -CacheSize(previous));
        else if (!_cache.TryAdd(key, response))
            Interlocked.Add(ref _cacheBytes, -size);
    }

    private async ValueTask<IssuerIndex?> CurrentIndexAsync(IssuerState state, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (state.Index is { } current && now - state.CheckedAt < _options.IndexReloadInterval) return current;
        await state.Reload.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.Index is { } again && now - state.CheckedAt < _options.IndexReloadInterval) return again;
            string id = state.Issuer.KeyHashHex;
            try
            {
                var manifest = await _store.GetAsync(StoreLayout.Manifest(id), cancellationToken).ConfigureAwait(false);
                if (manifest is null)
                {
                    state.Index = new IssuerIndex();
                }
                else if (manifest.ETag != state.ManifestETag || state.Index is null)
                {
                    // The refresh writes the index before the manifest, so a new manifest means a complete index.
                    var index = await _store.GetAsync(StoreLayout.Index(id), cancellationToken).ConfigureAwait(false);
                    var loaded = index is null ? new IssuerIndex() : IssuerIndex.Parse(index.Content, StoreLayout.Index(id));
                    // Keep the headers of packs the new index still refers to (most of them after an incremental run).
                    var live = loaded.Packs().ToHashSet(StringComparer.Ordinal);
                    state.PackHeaders = new ConcurrentDictionary<string, byte[]>(state.PackHeaders.Where(h => live.Contains(h.Key)), StringComparer.Ordinal);
                    state.Index = loaded;
                    state.Manifest = IssuerManifest.Parse(manifest.Content, StoreLayout.Manifest(id));
                    state.ManifestETag = manifest.ETag;
                    _logger.LogInformation("Loaded index of issuer {IssuerId}: {Count} serials", id, state.Index.Entries.Count);
                    Instruments?.IndexReload(id);
                }
            }
            catch (StoreException e)
            {
                // Keep serving from the index we have; the next check tries again.
                _logger.LogError(e, "Cannot reload the index of issuer {IssuerId}", id);
                state.Index ??= new IssuerIndex();
            }
            state.CheckedAt = now;
            return state.Index;
        }
        finally
        {
            state.Reload.Release();
        }
    }
}
