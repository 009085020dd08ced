using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Crl;

namespace OcspFunctions.Engine;

/// <summary>
/// Decides each serial's status: revoked (CRLs ∪ index.txt ∪ local revocations; earliest time and its reason)
/// beats issued → good; a serial that is neither gets no response, so the server answers unauthorized
/// (RFC 5019 §2.2.3). Never-issued serials therefore never get good (Microsoft KB 2960124).
/// </summary>
public sealed class StatusDecision
{
    private readonly Dictionary<SerialNumber, (DateTimeOffset Time, RevocationReason? Reason)> _revoked = [];

    /// <summary>Set by <see cref="Decide"/>: its views read the revocations live, so they no longer change.</summary>
    private bool _decided;

    public int RevokedCount => _revoked.Count;

    public void AddFullCrl(CertificateRevocationList crl)
    {
        ThrowIfDecided();
        foreach (var entry in crl.RevokedCertificates)
        {
            // removeFromCRL only has meaning in a delta CRL (RFC 5280 §5.3.1).
            if (entry.Reason == RevocationReason.RemoveFromCrl) continue;
            Add(entry.SerialNumber, entry.RevocationDate, entry.Reason);
        }
    }

    /// <summary>
    /// A delta applies on top of the full CRLs: removeFromCRL lifts a hold, other entries add (RFC 5280 §5.2.4). A
    /// removeFromCRL for a serial revoked for good means the certificate expired (RFC 5280 §5.3.1): it stays revoked here and
    /// leaves with its expiry, when the issued-serials list gives it (§3.3: only a hold can be lifted).
    /// </summary>
    public void ApplyDeltaCrl(CertificateRevocationList delta)
    {
        ThrowIfDecided();
        foreach (var entry in delta.RevokedCertificates)
        {
            if (entry.Reason != RevocationReason.RemoveFromCrl) Add(entry.SerialNumber, entry.RevocationDate, entry.Reason);
            else if (_revoked.TryGetValue(entry.SerialNumber, out var existing) && existing.Reason == RevocationReason.CertificateHold)
                _revoked.Remove(entry.SerialNumber);
        }
    }

    /// <summary>Revocations from index.txt or entered by hand: applied after the CRLs so a delta cannot lift them.</summary>
    public void AddRevocations(IEnumerable<Revocation> revocations)
    {
        ThrowIfDecided();
        foreach (var r in revocations) Add(r.Serial, r.RevocationTime, r.Reason);
    }

    /// <summary>The earliest time wins, with its reason — but a permanent reason beats certificateHold, whose time it keeps when earlier.</summary>
    private void Add(SerialNumber serial, DateTimeOffset time, RevocationReason? reason)
    {
        var utc = time.ToUniversalTime();
        if (!_revoked.TryGetValue(serial, out var existing))
        {
            _revoked[serial] = (utc, reason);
            return;
        }
        bool hold = reason == RevocationReason.CertificateHold, existingHold = existing.Reason == RevocationReason.CertificateHold;
        var earliest = utc < existing.Time ? utc : existing.Time;
        if (hold == existingHold) _revoked[serial] = utc < existing.Time ? (utc, reason) : existing;
        else _revoked[serial] = (earliest, existingHold ? reason : existing.Reason);
    }

    /// <summary>
    /// The statuses to publish. With no issued list only revoked serials are answered. Certificates past expiry +
    /// grace are dropped (their responses stop being re-signed). A view over <paramref name="issued"/> and the revocations
    /// (no copy of every serial), taken once every source is added.
    /// </summary>
    public DecidedStatuses Decide(IssuedSerials? issued, DateTimeOffset now, TimeSpan expiredGrace)
    {
        _decided = true;
        return new(issued?.Serials, _revoked, now, expiredGrace);
    }

    private void ThrowIfDecided()
    {
        if (_decided) throw new InvalidOperationException("revocations added after the statuses were decided");
    }
}
