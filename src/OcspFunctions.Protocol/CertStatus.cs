namespace OcspFunctions.Protocol;

/// <summary>CRLReason (RFC 5280 §5.3.1); 7 is unused.</summary>
public enum RevocationReason
{
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

public enum CertStatusKind { Good, Revoked, Unknown }

/// <summary>CertStatus (RFC 6960 §4.2.1): good, revoked with time and optional reason, or unknown.</summary>
public readonly record struct CertStatus(CertStatusKind Kind, DateTimeOffset RevocationTime, RevocationReason? Reason)
{
    public static CertStatus Good => new(CertStatusKind.Good, default, null);

    public static CertStatus Unknown => new(CertStatusKind.Unknown, default, null);

    public static CertStatus Revoked(DateTimeOffset time, RevocationReason? reason = null) => new(CertStatusKind.Revoked, time, reason);

    /// <summary>RFC 6960 §2.2: "revoked" for a never-issued serial — certificateHold at the epoch, with extended-revoke.</summary>
    public static CertStatus NonIssued => Revoked(DateTimeOffset.UnixEpoch, RevocationReason.CertificateHold);

    public override string ToString() => Kind switch
    {
        CertStatusKind.Revoked => $"revoked at {RevocationTime.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}" + (Reason is { } r ? $" ({r})" : ""),
        _ => Kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>SingleResponse (RFC 6960 §4.2.1). NextUpdate is mandatory in what we write (RFC 5019 §2.2.4).</summary>
public sealed record SingleResponse(CertId CertId, CertStatus Status, DateTimeOffset ThisUpdate, DateTimeOffset? NextUpdate);
