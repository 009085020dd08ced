using OcspFunctions.Engine.Store;

namespace OcspFunctions.Engine;

/// <summary>
/// thisUpdate / nextUpdate / refresh times (ocsp-profile.md, Timing; CA/B BR §4.9.10):
/// thisUpdate is now truncated to the minute, nextUpdate = thisUpdate + validity but never past the responder
/// certificate's notAfter, and a response is re-signed after RefreshAfter, spread per serial.
/// </summary>
public sealed class TimingPolicy
{
    public static readonly TimeSpan MinimumValidity = TimeSpan.FromHours(8);
    public static readonly TimeSpan MaximumValidity = TimeSpan.FromDays(10);
    public static readonly TimeSpan MicrosoftMaximumValidity = TimeSpan.FromDays(7);
    public static readonly TimeSpan MaximumRefreshAfter = TimeSpan.FromDays(4);

    /// <summary>Fraction of RefreshAfter over which refreshes are spread so a bulk load does not come due in one run.</summary>
    public const double Spread = 0.25;

    public TimingPolicy(TimingOptions options)
    {
        Validity = options.Validity;
        RefreshAfter = options.EffectiveRefreshAfter;
        ExpiredGrace = options.ExpiredGrace;
        AllowPrivatePki = options.AllowPrivatePki;
    }

    public TimeSpan Validity { get; }

    public TimeSpan RefreshAfter { get; }

    public TimeSpan ExpiredGrace { get; }

    public bool AllowPrivatePki { get; }

    /// <summary>Errors (refused settings) and warnings, per the CA/B Forum and root-program rules.</summary>
    public static (List<string> Errors, List<string> Warnings) Validate(TimingOptions options)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        var validity = options.Validity;
        var refresh = options.EffectiveRefreshAfter;
        if (validity <= TimeSpan.Zero) errors.Add("Timing:Validity must be positive");
        if (refresh <= TimeSpan.Zero || refresh >= validity) errors.Add("Timing:RefreshAfter must be positive and shorter than Timing:Validity");
        if (options.ExpiredGrace < TimeSpan.Zero) errors.Add("Timing:ExpiredGrace must not be negative");
        if (errors.Count > 0) return (errors, warnings);

        var rules = new List<string>();
        if (validity < MinimumValidity) rules.Add($"Timing:Validity {validity} is under 8 hours (CA/B BR §4.9.10)");
        if (validity > MaximumValidity) rules.Add($"Timing:Validity {validity} is over 10 days (CA/B BR §4.9.10)");
        if (validity >= TimeSpan.FromHours(16))
        {
            if (validity - refresh < MinimumValidity)
                rules.Add($"Timing:RefreshAfter {refresh} leaves less than 8 hours before nextUpdate (CA/B BR §4.9.10)");
            if (refresh > MaximumRefreshAfter)
                rules.Add($"Timing:RefreshAfter {refresh} is over 4 days after thisUpdate (CA/B BR §4.9.10)");
        }
        else if (refresh > validity / 2)
        {
            rules.Add($"Timing:RefreshAfter {refresh} is past half of a validity under 16 hours (CA/B BR §4.9.10)");
        }
        if (options.AllowPrivatePki) warnings.AddRange(rules.Select(r => r + " — allowed by Timing:AllowPrivatePki"));
        else errors.AddRange(rules.Select(r => r + "; set Timing:AllowPrivatePki=true for a private PKI"));
        if (validity > MicrosoftMaximumValidity && validity <= MaximumValidity)
            warnings.Add($"Timing:Validity {validity} is over the Microsoft root program's 7 days");
        return (errors, warnings);
    }

    /// <summary>RFC 5019 §2.2.4 / Boulder: thisUpdate is now truncated to the minute.</summary>
    public static DateTimeOffset ThisUpdate(DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMinute, TimeSpan.Zero);
    }

    /// <summary>nextUpdate: thisUpdate + validity, never past the responder certificate (Mozilla policy).</summary>
    public DateTimeOffset NextUpdate(DateTimeOffset thisUpdate, DateTimeOffset responderNotAfter)
    {
        var next = thisUpdate + Validity;
        return next <= responderNotAfter ? next : responderNotAfter;
    }

    /// <summary>
    /// When a response must be re-signed: after RefreshAfter (less a per-serial spread of up to 25 %), and never
    /// later than the time that leaves the configured margin (validity − refreshAfter) before nextUpdate — which
    /// matters when nextUpdate was cut short by the responder certificate.
    /// </summary>
    public DateTimeOffset RefreshDue(DateTimeOffset thisUpdate, DateTimeOffset nextUpdate, uint serialHash)
    {
        double jitter = serialHash / (double)uint.MaxValue * Spread;
        var due = thisUpdate + RefreshAfter * (1 - jitter);
        var latest = nextUpdate - (Validity - RefreshAfter);
        return due <= latest ? due : latest;
    }

    /// <summary>When a stored entry must be re-signed, spread by the serial's canonical bytes.</summary>
    public DateTimeOffset RefreshDue(ReadOnlySpan<byte> serial, IndexEntry entry) =>
        RefreshDue(DateTimeOffset.FromUnixTimeSeconds(entry.ThisUpdate), DateTimeOffset.FromUnixTimeSeconds(entry.NextUpdate), SerialHash(serial));

    /// <summary>FNV-1a of the serial's canonical bytes: a stable per-serial spread of refresh times.</summary>
    public static uint SerialHash(ReadOnlySpan<byte> serial)
    {
        uint hash = 2166136261;
        foreach (byte b in serial) hash = (hash ^ b) * 16777619;
        return hash;
    }
}
