namespace OcspFunctions.Protocol;

/// <summary>
/// The one error a request reader throws for any input it cannot accept (bad DER, trailing bytes, over-size,
/// undecodable GET path). A server answers it with an unsigned <c>malformedRequest</c> (RFC 6960 §2.3).
/// </summary>
public sealed class MalformedRequestException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A CRL that cannot be read, or whose signature does not verify against the CA certificate. The message may quote the
/// CRL (its issuer name): control characters in it are escaped (<see cref="Printable"/>).
/// </summary>
public sealed class CrlException(string message, Exception? inner = null) : Exception(Printable.Escape(message), inner);

/// <summary>An OCSP response that cannot be read (used by the client, inspector and tests).</summary>
public sealed class MalformedResponseException(string message, Exception? inner = null) : Exception(message, inner);

internal static class DecodeErrors
{
    /// <summary>The exception types System.Formats.Asn1 and the crypto stack raise on hostile input.</summary>
    public static bool IsDecodeFailure(Exception e) =>
        e is System.Formats.Asn1.AsnContentException or System.Security.Cryptography.CryptographicException
            or ArgumentException or FormatException or OverflowException or InvalidOperationException
            or IndexOutOfRangeException;
}
