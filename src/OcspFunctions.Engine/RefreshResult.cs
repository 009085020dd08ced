namespace OcspFunctions.Engine;

/// <summary>What one refresh did for one issuer.</summary>
public sealed class IssuerRefreshResult
{
    public string Name { get; init; } = "";
    public string? IssuerId { get; set; }
    public bool Succeeded { get; set; }
    public List<string> Errors { get; } = [];
    public List<string> Warnings { get; } = [];
    public int Good { get; set; }
    public int Revoked { get; set; }
    /// <summary>Serials whose status is new or changed (the urgent tiers), planned this run; <see cref="Backlog"/> says how many were left.</summary>
    public int Changed { get; set; }
    /// <summary>Serials due for re-signing, planned this run (earliest due first, after the urgent tiers).</summary>
    public int Refreshed { get; set; }
    public int Unchanged { get; set; }
    /// <summary>Serials whose responses were withdrawn (expired past grace, or no longer revoked without an issued list).</summary>
    public int Removed { get; set; }
    /// <summary>Serials kept revoked although no source revokes them any more (RFC 5280 §3.3: only a hold is lifted).</summary>
    public int StickyRevocations { get; set; }
    /// <summary>Responses signed and stored (one per CertID hash algorithm per serial).</summary>
    public int ResponsesSigned { get; set; }
    public int SigningFailures { get; set; }
    /// <summary>Packs stored this run (each holds the responses of many serials).</summary>
    public int PacksWritten { get; set; }
    /// <summary>Retired packs deleted this run.</summary>
    public int PacksDeleted { get; set; }
    public bool Deterministic { get; set; }
    /// <summary>Serials left unsigned at Timing:MaxRunTime (not a failure: the next run continues with them).</summary>
    public int Backlog { get; set; }
    /// <summary>Responses per second achieved this run; null when nothing was signed.</summary>
    public double? SigningRate { get; set; }
    /// <summary>How long the backlog takes to clear at the recorded rate and the run schedule; null when unknown.</summary>
    public TimeSpan? BacklogTimeToClear { get; set; }
    /// <summary>The start-of-run capacity verdict in words (null before any rate is known).</summary>
    public string? Capacity { get; set; }
}

public sealed class RefreshReport
{
    public List<IssuerRefreshResult> Issuers { get; } = [];
    public TimeSpan Duration { get; set; }
    /// <summary>Another refresh held the lease; this run did nothing.</summary>
    public bool LockHeld { get; set; }
    /// <summary>The store lease was lost during the run: it stopped without writing further.</summary>
    public bool LeaseLost { get; set; }
    /// <summary>Timing:MaxRunTime was reached; the issuers' backlogs say what is left.</summary>
    public bool TimeLimitReached { get; set; }
    public bool Succeeded => !LockHeld && !LeaseLost && Issuers.All(i => i.Succeeded);
}

/// <summary>Progress while signing, for a terminal progress line.</summary>
public readonly record struct RefreshProgress(string Issuer, int Done, int Total);
