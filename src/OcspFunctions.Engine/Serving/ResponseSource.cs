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

    private ResponseLookup? _hit;

    /// <summary>The answer for a cache hit, made once: a hit allocates nothing.</summary>
    internal ResponseLookup CacheHit => _hit ??= new ResponseLookup(LookupOutcome.Found, this);

    /// <summary>This response from memory at <paramref name="now"/>: past its nextUpdate it is never served, only reported expired.</summary>
    internal ResponseLookup HitAt(DateTimeOffset now) => NextUpdate <= now ? new ResponseLookup(LookupOutcome.Expired, this) : CacheHit;

    /// <summary>
    /// The stamp of the issuer's index view this response was last found current in (see <see cref="IResponseSource.TryAnswerAgain"/>):
    /// a small object, not the view, so a response kept for long keeps no old view's shard versions alive.
    /// </summary>
    internal volatile object? ConfirmedIn;
}

/// <summary>Where the HTTP layer gets responses from (Boulder's Source): one small interface, layered.</summary>
public interface IResponseSource
{
    ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken);

    /// <summary>
    /// The answer again, without a lookup, for a response this source last found for the same CertID, when it can tell
    /// cheaply that the response is still the current one; false: look it up (a source that cannot tell always says so).
    /// </summary>
    bool TryAnswerAgain(CachedResponse response, out ResponseLookup lookup)
    {
        lookup = ResponseLookup.Unauthorized;
        return false;
    }
}

/// <summary>
/// Serves the store the refresh writes. Each issuer's manifest is checked every reload interval; the index shards
/// requests need are loaded on first need and held up to a byte bound (<see cref="IndexShardCache"/>), and a shard whose
/// version the manifest changed is fetched again when next needed — so a start reads no index, a miss costs at most one
/// shard read the first time, and a reload fetches only what changed. Responses are cached in memory up to a byte bound,
/// and a cached response is dropped as soon as the index shows a newer one.
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
    private readonly IssuerState[] _stateList;
    private readonly ConcurrentDictionary<CacheKey, CachedResponse> _cache = new();
    private readonly IndexShardCache _shards;
    private long _cacheBytes;

    public StoreResponseSource(IEnumerable<OcspIssuer> issuers, IObjectStore store, OcspOptions options, TimeProvider time, ILogger logger)
    {
        _issuers = new IssuerDirectory(issuers);
        _store = store;
        _options = options.Serve;
        _timing = new TimingPolicy(options.Timing);
        _time = time;
        _logger = logger;
        _shards = new IndexShardCache(_options.IndexCacheBytes);
        foreach (var issuer in _issuers.Issuers) _states[issuer.KeyHashHex] = new IssuerState(issuer);
        _stateList = [.. _states.Values];
    }

    public IssuerDirectory Issuers => _issuers;

    /// <summary>Cache hits, store reads and index reloads are counted here when set.</summary>
    public OcspInstruments? Instruments { get; init; }

    /// <summary>Per issuer (key hash) what the last loaded manifest says, for the freshness gauges; no I/O.</summary>
    public IEnumerable<IssuerReading> LoadedReadings() =>
        _states.Values.Where(s => s.Manifest is not null)
            .Select(s => new IssuerReading(s.Issuer.KeyHashHex, s.Manifest!.OldestNextUpdate, s.Manifest.ResponderNotAfter, s.Manifest.Backlog));

    /// <summary>The index shards held in memory.</summary>
    public IndexShardCache IndexShards => _shards;

    /// <summary>Responses held in the response cache now.</summary>
    public int CachedResponses => _cache.Count;

    /// <summary>Bytes the response cache counts now (bounded by <see cref="ServingOptions.CacheBytes"/>).</summary>
    public long CachedResponseBytes => Interlocked.Read(ref _cacheBytes);

    /// <summary>What the last manifest read says about an issuer's index: shard count (0: one index.tsv) and versions.</summary>
    private sealed record IndexView(int Count, string[] Versions)
    {
        public static readonly IndexView Empty = new(-1, []);

        /// <summary>This view's identity for answering again (none for <see cref="Empty"/>, which answers nothing).</summary>
        public ViewStamp? Stamp { get; init; }

        public (IndexShardCache.Key Key, string Version)? ShardFor(string issuerId, SerialNumber serial) => Count switch
        {
            < 0 => null,
            0 => (new IndexShardCache.Key(issuerId, 0, 0), Versions[0]),
            _ => ShardKey(issuerId, Store.IndexShards.ShardOf(serial, Count)),
        };

        private (IndexShardCache.Key, string) ShardKey(string issuerId, int shard) => (new IndexShardCache.Key(issuerId, Count, shard), Versions[shard]);

        public bool IsCurrent(IndexShardCache.Key key, string version) =>
            key.Count == Math.Max(Count, 0) && Count >= 0 && key.Shard < Versions.Length && Versions[key.Shard] == version;
    }

    /// <summary>Made once per <see cref="IndexView"/>: which issuer, and (by reference) which of its views.</summary>
    private sealed class ViewStamp(IssuerState state)
    {
        public IssuerState State { get; } = state;
    }

    private sealed class IssuerState(OcspIssuer issuer)
    {
        public OcspIssuer Issuer { get; } = issuer;
        public volatile IndexView? View;
        public volatile IssuerManifest? Manifest;
        public string? ManifestETag;
        public DateTimeOffset CheckedAt = DateTimeOffset.MinValue;
        /// <summary>Certificates from pack headers, by pack; the manifest's retired packs are dropped at each reload.</summary>
        public volatile ConcurrentDictionary<string, byte[]> PackHeaders = new(StringComparer.Ordinal);
        public readonly SemaphoreSlim Reload = new(1, 1);
    }

    public ValueTask<ResponseLookup> LookupAsync(CertId certId, CancellationToken cancellationToken)
    {
        var issuer = _issuers.Find(certId);
        if (issuer is null) return new(ResponseLookup.Unauthorized);
        var state = StateOf(issuer);
        // The usual hit needs no await (no state machine): manifest checked within the reload interval, shard in memory,
        // response cached for the same index entry. Anything else takes the full path below, from the start.
        var now = _time.GetUtcNow();
        if (state.View is { } view && now - state.CheckedAt < _options.IndexReloadInterval)
        {
            if (!Presigns(state, certId)) return new(ResponseLookup.Unauthorized);
            if (view.ShardFor(state.Issuer.KeyHashHex, certId.SerialNumber) is not var (shardKey, version)) return new(ResponseLookup.Unauthorized);
            if (_shards.TryGetLoaded(shardKey, version, out var shard))
            {
                if (!shard.TryGet(certId.SerialNumber, out var entry)) return new(ResponseLookup.Unauthorized);
                if (_cache.TryGetValue(new CacheKey(certId.HashAlgorithm, issuer, certId.SerialNumber), out var cached) && cached.Entry == entry)
                {
                    Confirm(cached, view);
                    Instruments?.CacheHit();
                    return new(cached.HitAt(now));
                }
            }
        }
        return LookupSlowAsync(issuer, state, certId, cancellationToken);
    }

    /// <summary>
    /// A response last found current in the issuer's index view that is still the current one (checked within the reload
    /// interval) is current now: a view's shards never change, so the serial's entry, and the response for it, are the same.
    /// </summary>
    public bool TryAnswerAgain(CachedResponse response, out ResponseLookup lookup)
    {
        var now = _time.GetUtcNow();
        if (response.ConfirmedIn is ViewStamp { State: var state } stamp && ReferenceEquals(state.View?.Stamp, stamp)
            && now - state.CheckedAt < _options.IndexReloadInterval)
        {
            Instruments?.CacheHit();
            lookup = response.HitAt(now);
            return true;
        }
        lookup = ResponseLookup.Unauthorized;
        return false;
    }

    /// <summary>Records the view a response was found current in; written only when it changes (a hit dirties no cache line).</summary>
    private static void Confirm(CachedResponse response, IndexView view)
    {
        if (view.Stamp is { } stamp && !ReferenceEquals(response.ConfirmedIn, stamp)) response.ConfirmedIn = stamp;
    }

    /// <summary>An issuer's state: a scan by reference (a deployment serves a few issuers), no hashing.</summary>
    private IssuerState StateOf(OcspIssuer issuer)
    {
        foreach (var state in _stateList)
            if (ReferenceEquals(state.Issuer, issuer)) return state;
        return _states[issuer.KeyHashHex];
    }

    /// <summary>A CertID hash algorithm the issuer does not pre-sign is answered from the manifest (RFC 5019 §2.2.3: unauthorized).</summary>
    private static bool Presigns(IssuerState state, CertId certId) =>
        state.Manifest is not { HashAlgorithms: { Count: > 0 } presigned } || presigned.Contains(certId.HashAlgorithm.Name());

    private async ValueTask<ResponseLookup> LookupSlowAsync(OcspIssuer issuer, IssuerState state, CertId certId, CancellationToken cancellationToken)
    {
        var view = await CurrentViewAsync(state, cancellationToken).ConfigureAwait(false);
        if (!Presigns(state, certId)) return ResponseLookup.Unauthorized;
        // An empty issuerKeyHash (certutil) still names one issuer: serve that issuer's response for the algorithm.
        var found = await FindEntryAsync(state, view, certId.SerialNumber, cancellationToken).ConfigureAwait(false);
        if (found is not { } entry) return ResponseLookup.Unauthorized;

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
                view = await CurrentViewAsync(state, cancellationToken).ConfigureAwait(false);
                found = await FindEntryAsync(state, view, certId.SerialNumber, cancellationToken).ConfigureAwait(false);
                if (found is null) return ResponseLookup.Unauthorized;
                entry = found.Value;
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
        Confirm(cached, view);
        return !fromStore ? cached.HitAt(now)
            : new ResponseLookup(cached.NextUpdate <= now ? LookupOutcome.Expired : LookupOutcome.Found, cached, FromStore: true);
    }

    /// <summary>The serial's index entry, from its shard (loaded on first need); null when the issuer has no response for it.</summary>
    private ValueTask<IndexEntry?> FindEntryAsync(IssuerState state, IndexView view, SerialNumber serial, CancellationToken cancellationToken)
    {
        if (view.ShardFor(state.Issuer.KeyHashHex, serial) is not var (key, version)) return new((IndexEntry?)null);
        if (_shards.TryGetLoaded(key, version, out var loaded)) return new(loaded.TryGet(serial, out var found) ? found : null);
        return LoadAndFindAsync(key, version, serial, cancellationToken);
    }

    private async ValueTask<IndexEntry?> LoadAndFindAsync(IndexShardCache.Key key, string version, SerialNumber serial, CancellationToken cancellationToken)
    {
        var shard = await _shards.GetAsync(key, version,
            ct => ShardedIndexStore.ReadShardAsync(_store, key.IssuerId, key.Count, key.Shard, ct), cancellationToken).ConfigureAwait(false);
        return shard.TryGet(serial, out var entry) ? entry : null;
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

    /// <summary>
    /// Bytes a cache entry holds (64-bit): the DER array (24-byte header), the ETag string (22 + 2 a char), the
    /// <see cref="CachedResponse"/> with its index entry (136), the dictionary's node with its key (64) and bucket (8),
    /// and the key's serial array (24 + its bytes).
    /// </summary>
    internal static long CacheSize(SerialNumber serial, CachedResponse response) =>
        24 + response.Der.Length + 22 + 2L * response.ETag.Length + 136 + 64 + 8 + 24 + serial.Bytes.Length;

    /// <summary>Per-issuer freshness for /health and status: the manifest as last loaded.</summary>
    public async Task<IReadOnlyList<(OcspIssuer Issuer, IssuerManifest? Manifest)>> ManifestsAsync(CancellationToken cancellationToken)
    {
        var list = new List<(OcspIssuer, IssuerManifest?)>();
        foreach (var state in _states.Values)
        {
            await CurrentViewAsync(state, cancellationToken).ConfigureAwait(false);
            list.Add((state.Issuer, state.Manifest));
        }
        return list;
    }

    private CachedResponse? Describe(StoredResponse stored, IndexEntry entry)
    {
        if (stored.Single.NextUpdate is not { } nextUpdate) return null;
        var thisUpdate = stored.Single.ThisUpdate;
        var due = _timing.RefreshDue(thisUpdate, nextUpdate, TimingPolicy.SerialHash(stored.Single.CertId.SerialNumber.Bytes));
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
        long size = CacheSize(key.Serial, response);
        if (Interlocked.Add(ref _cacheBytes, size) > _options.CacheBytes)
        {
            // Over the bound: drop about half, in dictionary order (cheap, and fair enough for a cache of equals).
            foreach (var old in _cache.Keys)
            {
                if (Interlocked.Read(ref _cacheBytes) <= _options.CacheBytes / 2) break;
                if (_cache.TryRemove(old, out var dropped)) Interlocked.Add(ref _cacheBytes, -CacheSize(old.Serial, dropped));
            }
        }
        if (_cache.TryGetValue(key, out var previous) && _cache.TryUpdate(key, response, previous))
            Interlocked.Add(ref _cacheBytes, -CacheSize(key.Serial, previous));
        else if (!_cache.TryAdd(key, response))
            Interlocked.Add(ref _cacheBytes, -size);
    }

    /// <summary>The issuer's index as its manifest describes it, reading the manifest again once the reload interval has passed.</summary>
    private ValueTask<IndexView> CurrentViewAsync(IssuerState state, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        return state.View is { } current && now - state.CheckedAt < _options.IndexReloadInterval ? new(current) : ReloadViewAsync(state, now, cancellationToken);
    }

    private async ValueTask<IndexView> ReloadViewAsync(IssuerState state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await state.Reload.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.View is { } again && now - state.CheckedAt < _options.IndexReloadInterval) return again;
            string id = state.Issuer.KeyHashHex;
            try
            {
                var stored = await _store.GetAsync(StoreLayout.Manifest(id), cancellationToken).ConfigureAwait(false);
                if (stored is null)
                {
                    state.View = IndexView.Empty;
                }
                else if (stored.ETag != state.ManifestETag || state.View is null)
                {
                    // The refresh writes the shards before the manifest, so every shard the manifest lists is complete.
                    var manifest = IssuerManifest.Parse(stored.Content, StoreLayout.Manifest(id));
                    var view = manifest.IndexShards > 0
                        ? new IndexView(manifest.IndexShards, [.. manifest.IndexShardVersions]) { Stamp = new ViewStamp(state) }
                        : new IndexView(0, [stored.ETag]) { Stamp = new ViewStamp(state) }; // a store from before shards: its index.tsv is reloaded whole on any change
                    if (view.Count > 0 && view.Versions.Length != view.Count)
                        throw new StoreException($"{StoreLayout.Manifest(id)} lists {view.Versions.Length} index shard versions for {view.Count} shards");
                    int dropped = _shards.Invalidate(id, view.IsCurrent);
                    var headers = state.PackHeaders;
                    foreach (var retired in manifest.RetiredPacks.Keys) headers.TryRemove(retired, out _);
                    if (headers.Count > 65_536) state.PackHeaders = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
                    state.View = view;
                    state.Manifest = manifest;
                    state.ManifestETag = stored.ETag;
                    _logger.LogInformation("Issuer {IssuerId}: manifest loaded, {Shards} index shards, {Dropped} changed shards dropped from memory",
                        id, Math.Max(view.Count, 1), dropped);
                    Instruments?.IndexReload(id);
                }
            }
            catch (StoreException e)
            {
                // Keep serving from the index we have; the next check tries again.
                _logger.LogError(e, "Cannot reload the manifest of issuer {IssuerId}", id);
                state.View ??= IndexView.Empty;
            }
            state.CheckedAt = now;
            return state.View;
        }
        finally
        {
            state.Reload.Release();
        }
    }
}
