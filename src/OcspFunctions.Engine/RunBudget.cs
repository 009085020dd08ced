namespace OcspFunctions.Engine;

/// <summary>
/// The time a run may spend (<see cref="TimingOptions.MaxRunTime"/>), on the injected clock. Once it is spent no new
/// signature starts; what was signed is published and the run ends cleanly.
/// </summary>
public sealed class RunBudget(TimeProvider time, TimeSpan maxRunTime)
{
    private readonly DateTimeOffset _deadline = time.GetUtcNow() + maxRunTime;

    public TimeSpan MaxRunTime => maxRunTime;

    public bool Exhausted => time.GetUtcNow() >= _deadline;
}
