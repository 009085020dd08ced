using System.Collections;
using System.Diagnostics.CodeAnalysis;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

/// <summary>
/// The statuses <see cref="StatusDecision.Decide"/> decided, as a view over the issued serials and the revocations rather
/// than a second dictionary of every serial: an issued serial not past expiry + grace is revoked when a source revokes it,
/// else good; a revoked serial not in the list is revoked, unless the list says it expired past the grace. On top,
/// <see cref="Keep"/> holds the few statuses <see cref="StickyRevocations"/> puts back. Enumerates in the order the
/// dictionary it replaces did: issued serials in list order, then revoked serials not listed, then kept ones added.
/// </summary>
public sealed class DecidedStatuses : IReadOnlyDictionary<SerialNumber, CertStatus>
{
    private readonly SerialExpiryMap? _issued;
    private readonly IReadOnlyDictionary<SerialNumber, (DateTimeOffset Time, RevocationReason? Reason)> _revoked;
    /// <summary>Expiries before this (UTC ticks) are past the grace: <c>now &gt; expiry + grace</c>.</summary>
    private readonly long _cutoffTicks;
    private readonly Dictionary<SerialNumber, CertStatus> _kept = [];
    private int _count;

    internal DecidedStatuses(SerialExpiryMap? issued, IReadOnlyDictionary<SerialNumber, (DateTimeOffset Time, RevocationReason? Reason)> revoked,
        DateTimeOffset now, TimeSpan expiredGrace)
    {
        _issued = issued;
        _revoked = revoked;
        _cutoffTicks = now.UtcTicks - expiredGrace.Ticks;
        if (issued is not null)
            for (int entry = 0; entry < issued.Count; entry++)
                if (!issued.ExpiredBefore(entry, _cutoffTicks)) _count++;
        foreach (var serial in revoked.Keys)
            if (issued is null || !issued.ContainsKey(serial)) _count++;
    }

    public int Count => _count;

    public CertStatus this[SerialNumber key] => TryGetValue(key, out var status) ? status : throw new KeyNotFoundException($"no status for serial {key}");

    public bool ContainsKey(SerialNumber key) => TryGetValue(key, out _);

    public bool TryGetValue(SerialNumber key, [MaybeNullWhen(false)] out CertStatus value)
    {
        if (_kept.Count > 0 && _kept.TryGetValue(key, out value)) return true;
        return TryDecide(key, out value);
    }

    /// <summary>Sets a serial's status over what the sources decide (a revocation kept by <see cref="StickyRevocations"/>).</summary>
    internal void Keep(SerialNumber serial, CertStatus status)
    {
        if (!_kept.ContainsKey(serial) && !TryDecide(serial, out _)) _count++;
        _kept[serial] = status;
    }

    private bool TryDecide(SerialNumber serial, out CertStatus status)
    {
        status = default;
        if (_issued is not null)
        {
            int entry = _issued.IndexOf(serial.Bytes);
            if (entry >= 0)
            {
                if (_issued.ExpiredBefore(entry, _cutoffTicks)) return false;
                status = _revoked.TryGetValue(serial, out var r) ? CertStatus.Revoked(r.Time, r.Reason) : CertStatus.Good;
                return true;
            }
        }
        if (!_revoked.TryGetValue(serial, out var revocation)) return false;
        status = CertStatus.Revoked(revocation.Time, revocation.Reason);
        return true;
    }

    public IEnumerable<SerialNumber> Keys => this.Select(p => p.Key);

    public IEnumerable<CertStatus> Values => this.Select(p => p.Value);

    public IEnumerator<KeyValuePair<SerialNumber, CertStatus>> GetEnumerator()
    {
        if (_issued is not null)
        {
            for (int entry = 0; entry < _issued.Count; entry++)
            {
                if (_issued.ExpiredBefore(entry, _cutoffTicks)) continue;
                var serial = _issued.SerialAt(entry);
                yield return new(serial, Current(serial));
            }
        }
        foreach (var pair in Unlisted()) yield return pair;
    }

    /// <summary>The issued list the view is over, when there is one.</summary>
    internal SerialExpiryMap? Issued => _issued;

    /// <summary>Whether issued entry <paramref name="entry"/> has a status (is not expired past the grace).</summary>
    internal bool Listed(int entry) => !_issued!.ExpiredBefore(entry, _cutoffTicks);

    /// <summary>
    /// The listed issued entries whose status is not good — revoked by a source, or kept — by entry number: found once per
    /// revocation rather than looked up once per issued serial.
    /// </summary>
    internal Dictionary<int, CertStatus> ListedNotGood()
    {
        var statuses = new Dictionary<int, CertStatus>();
        if (_issued is null) return statuses;
        foreach (var (serial, r) in _revoked)
            if (_issued.IndexOf(serial.Bytes) is var entry and >= 0 && Listed(entry)) statuses[entry] = CertStatus.Revoked(r.Time, r.Reason);
        foreach (var (serial, status) in _kept)
            if (_issued.IndexOf(serial.Bytes) is var entry and >= 0 && Listed(entry)) statuses[entry] = status;
        return statuses;
    }

    /// <summary>What is enumerated after the listed issued serials: revoked serials not listed, then kept ones added.</summary>
    internal IEnumerable<KeyValuePair<SerialNumber, CertStatus>> Unlisted()
    {
        foreach (var (serial, r) in _revoked)
        {
            if (_issued is not null && _issued.ContainsKey(serial)) continue;
            yield return new(serial, _kept.Count > 0 && _kept.TryGetValue(serial, out var kept) ? kept : CertStatus.Revoked(r.Time, r.Reason));
        }
        foreach (var (serial, status) in _kept)
            if (!TryDecide(serial, out _)) yield return new(serial, status);
    }

    private CertStatus Current(SerialNumber serial)
    {
        if (_kept.Count > 0 && _kept.TryGetValue(serial, out var kept)) return kept;
        return _revoked.TryGetValue(serial, out var r) ? CertStatus.Revoked(r.Time, r.Reason) : CertStatus.Good;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
