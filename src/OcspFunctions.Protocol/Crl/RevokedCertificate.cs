namespace OcspFunctions.Protocol.Crl;

/// <summary>
/// One revokedCertificates entry (RFC 5280 §5.1.2.6, §5.3). A struct over the CRL's own bytes: enumerating a
/// million entries allocates nothing per entry.
/// </summary>
public readonly struct RevokedCertificate
{
    private readonly ReadOnlyMemory<byte> _serial;

    internal RevokedCertificate(ReadOnlyMemory<byte> canonicalSerial, DateTimeOffset revocationDate, RevocationReason? reason,
        DateTimeOffset? invalidityDate)
    {
        _serial = canonicalSerial;
        RevocationDate = revocationDate;
        Reason = reason;
        InvalidityDate = invalidityDate;
    }

    /// <summary>Canonical positive big-endian serial bytes (a slice of the CRL buffer).</summary>
    public ReadOnlySpan<byte> SerialNumberBytes => _serial.Span;

    /// <summary>Copies the serial out of the CRL buffer.</summary>
    public SerialNumber SerialNumber => SerialNumber.FromMagnitude(_serial.Span);

    public DateTimeOffset RevocationDate { get; }

    /// <summary>reasonCode entry extension; absent means unspecified (RFC 5280 §5.3.1 says omit rather than write 0).</summary>
    public RevocationReason? Reason { get; }

    public DateTimeOffset? InvalidityDate { get; }
}
