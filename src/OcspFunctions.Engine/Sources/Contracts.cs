using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// An input that cannot be used: unreadable, malformed, over its size cap, refused by a check. The message names the
/// source and, for text, the line; it quotes input, so control characters in it are escaped (<see cref="Printable"/>).
/// An expected failure: logged as one line, without a stack trace unless verbose.
/// </summary>
public sealed class SourceException(string message, Exception? inner = null) : Exception(Printable.Escape(message), inner);

/// <summary>HTTP validators of a fetched source, kept so the next fetch can be conditional (RFC 9110 §13).</summary>
public sealed record SourceValidators(string? ETag, DateTimeOffset? LastModified);

/// <summary>The result of fetching a source: its bytes, or NotModified when the validators still match.</summary>
public sealed record SourceFetch(byte[]? Content, SourceValidators? Validators, bool NotModified)
{
    public static SourceFetch Unchanged(SourceValidators? validators) => new(null, validators, true);
}

/// <summary>
/// Reads operator inputs (CRLs, issued-serials lists, local revocations, certificates) from a location:
/// a file path or an http(s) URL; the Azure issue adds Blob locations.
/// </summary>
public interface ISourceReader
{
    bool CanRead(string location);

    /// <summary>Fetches a source, capped at <paramref name="maxBytes"/>; conditional when <paramref name="previous"/> is given.</summary>
    Task<SourceFetch> FetchAsync(string location, SourceValidators? previous, long maxBytes, CancellationToken cancellationToken);

    /// <summary>The entry names directly under a directory-like location (the Windows issued-serials layout).</summary>
    IAsyncEnumerable<string> ListAsync(string location, CancellationToken cancellationToken);
}

/// <summary>A revocation from a source other than the CRL: OpenSSL index.txt, or the operator's local revocations.</summary>
public sealed record Revocation(SerialNumber Serial, DateTimeOffset RevocationTime, RevocationReason? Reason);

public enum IssuedSerialsFormat
{
    /// <summary>Detect from the content (index.txt, certutil text, plain list) or, for a directory, the Windows layout.</summary>
    Auto,
    /// <summary>One hex serial per line; ':' or spaces inside; '#' comments; optional ",expiry" (ISO 8601).</summary>
    Text,
    /// <summary>A directory of empty files named by serial (Microsoft KB 2960124).</summary>
    WindowsDirectory,
    /// <summary>What <c>certutil -view</c> prints: <c>Serial Number: "…"</c> lines.</summary>
    Certutil,
    /// <summary>An OpenSSL CA database (index.txt): V/R/E lines with expiry, revocation and serial.</summary>
    OpenSslIndex,
}

/// <summary>The serials a CA issued, with their expiry when the source knows it, and revocations the source carries (index.txt).</summary>
public sealed class IssuedSerials
{
    /// <summary>Serial → expiry (null when the source gives none); compact, as a list may hold ten million.</summary>
    public SerialExpiryMap Serials { get; } = new();

    public List<Revocation> Revocations { get; } = [];

    /// <summary>Directory entries skipped because their names are not hex serials (Windows layout); 0 for file formats.</summary>
    public int IgnoredNames { get; set; }
}
