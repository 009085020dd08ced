namespace OcspFunctions.Tests.Engine;

/// <summary>A clock stopped at <paramref name="now"/>, for runs and lookups at a chosen instant.</summary>
public sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
