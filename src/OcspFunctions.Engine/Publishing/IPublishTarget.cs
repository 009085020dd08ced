namespace OcspFunctions.Engine.Publishing;

/// <summary>What is at a destination now: its bytes and version (null when absent).</summary>
public sealed record PublishedObject(byte[]? Content, string? ETag)
{
    public bool Exists => ETag is not null;
}

/// <summary>
/// Where the CA-side <c>publish</c> verb uploads the responder's inputs (Blob: <c>blob:CONTAINER/NAME</c>). Writes are
/// conditional on the version read before validating, so two publishers cannot interleave.
/// </summary>
public interface IPublishTarget
{
    bool CanWrite(string location);

    Task<PublishedObject> ReadAsync(string location, long maxBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="content"/> only over version <paramref name="expectedETag"/>, or only if absent when it is
    /// null. False when the destination changed since (nothing written).
    /// </summary>
    Task<bool> WriteAsync(string location, byte[] content, string? expectedETag, CancellationToken cancellationToken);
}
