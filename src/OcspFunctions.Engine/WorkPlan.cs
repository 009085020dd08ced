using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

/// <summary>What a run signs, most urgent first. Each tier is signed for every issuer, then published, before the next.</summary>
public enum WorkTier
{
    /// <summary>A serial newly revoked, or whose revocation time or reason changed: a compromised key must not wait.</summary>
    Revocations,

    /// <summary>
    /// A serial with no response yet (newly issued): until signed it is answered unauthorized. Signed newest first — the
    /// list's last entries first, as certutil (by RequestID) and index.txt list in issuance order — so a certificate issued
    /// during a bulk load's backlog is served at the next run rather than after the backlog (CA/B Forum: 15 minutes).
    /// </summary>
    NewSerials,

    /// <summary>Any other change of status (a certificateHold lifted, a serial now unknown).</summary>
    OtherChanges,

    /// <summary>Unchanged responses whose refresh came due, earliest due first.</summary>
    Due,
}

/// <summary>
/// One issuer's signing work for a run, sorted into <see cref="WorkTier"/>s from the decided statuses and the published
/// index. Work left at the time limit needs no record: an unsigned change still differs from the index, and an entry
/// not re-signed is still due (or carries thisUpdate 0), so the next run plans it again.
/// </summary>
public sealed partial class WorkPlan
{
    public static readonly WorkTier[] Order = [WorkTier.Revocations, WorkTier.NewSerials, WorkTier.OtherChanges, WorkTier.Due];

    private readonly (SerialNumber Serial, CertStatus Status)[][] _tiers;

    private WorkPlan((SerialNumber, CertStatus)[][] tiers, int unchanged, int known)
    {
        _tiers = tiers;
        Unchanged = unchanged;
        Known = known;
    }

    public (SerialNumber Serial, CertStatus Status)[] Tier(WorkTier tier) => _tiers[(int)tier];

    /// <summary>Serials whose response is current and stays as it is.</summary>
    public int Unchanged { get; }

    /// <summary>Statuses the index has an entry for: fewer than the index's entries means some entries have no status any more.</summary>
    public int Known { get; }

    /// <summary>New or changed statuses (every tier but <see cref="WorkTier.Due"/>).</summary>
    public int Changed => Total - Tier(WorkTier.Due).Length;

    public int Total => _tiers.Sum(t => t.Length);

    /// <summary>
    /// Sorts <paramref name="statuses"/> into tiers against the index. <paramref name="refreshDue"/> gives an unchanged
    /// response's refresh due time from the serial's canonical bytes and its entry. Over decided statuses with an issued
    /// list and a sharded index, planned shard by shard (<see cref="BuildByShard"/>); the plan is the same either way.
    /// </summary>
    public static WorkPlan Build(IReadOnlyDictionary<SerialNumber, CertStatus> statuses, IssuerIndex index, DateTimeOffset now,
        Func<ReadOnlySpan<byte>, IndexEntry, DateTimeOffset> refreshDue) =>
        statuses is DecidedStatuses { Issued: { } issued } decided
            ? BuildByShard(decided, issued, index.Entries, now, refreshDue)
            : BuildPerSerial(statuses, index, now, refreshDue);

    /// <summary>
    /// The plan from one index lookup per status in the statuses' order (the reference <see cref="BuildByShard"/> is
    /// tested against). Tiers keep that order but for new serials (reversed) and due ones (by due time, then that order).
    /// </summary>
    internal static WorkPlan BuildPerSerial(IReadOnlyDictionary<SerialNumber, CertStatus> statuses, IssuerIndex index, DateTimeOffset now,
        Func<ReadOnlySpan<byte>, IndexEntry, DateTimeOffset> refreshDue)
    {
        var revocations = new List<(SerialNumber, CertStatus)>();
        var issued = new List<(SerialNumber, CertStatus)>();
        var other = new List<(SerialNumber, CertStatus)>();
        var due = new List<(SerialNumber Serial, CertStatus Status, DateTimeOffset Due, int Order)>();
        int unchanged = 0, knownCount = 0;
        foreach (var (serial, status) in statuses)
        {
            bool known = index.Entries.TryGetValue(serial, out var entry);
            if (known) knownCount++;
            if (!known || !entry.SameStatus(status))
            {
                if (status.Kind == CertStatusKind.Revoked) revocations.Add((serial, status));
                else if (!known) issued.Add((serial, status));
                else other.Add((serial, status));
                continue;
            }
            var at = refreshDue(serial.Bytes, entry);
            if (at <= now) due.Add((serial, status, at, due.Count));
            else unchanged++;
        }
        issued.Reverse(); // newest first: see WorkTier.NewSerials
        due.Sort((a, b) => a.Due != b.Due ? a.Due.CompareTo(b.Due) : a.Order.CompareTo(b.Order));
        return new WorkPlan([[.. revocations], [.. issued], [.. other], [.. due.Select(d => (d.Serial, d.Status))]], unchanged, knownCount);
    }
}
