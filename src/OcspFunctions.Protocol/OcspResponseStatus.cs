namespace OcspFunctions.Protocol;

/// <summary>OCSPResponseStatus (RFC 6960 §4.2.1); 4 is unused.</summary>
public enum OcspResponseStatus
{
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// <summary>The unsigned error responses: <c>30 03 0A 01 nn</c>, no responseBytes (RFC 6960 §2.3).</summary>
public static class OcspErrorResponse
{
    private static readonly byte[] Malformed = [0x30, 0x03, 0x0A, 0x01, 0x01];
    private static readonly byte[] Internal = [0x30, 0x03, 0x0A, 0x01, 0x02];
    private static readonly byte[] Later = [0x30, 0x03, 0x0A, 0x01, 0x03];
    private static readonly byte[] SigRequired = [0x30, 0x03, 0x0A, 0x01, 0x05];
    private static readonly byte[] NotAuthorized = [0x30, 0x03, 0x0A, 0x01, 0x06];

    public static ReadOnlyMemory<byte> MalformedRequest => Malformed;
    public static ReadOnlyMemory<byte> InternalError => Internal;
    public static ReadOnlyMemory<byte> TryLater => Later;
    public static ReadOnlyMemory<byte> Unauthorized => NotAuthorized;

    public static ReadOnlyMemory<byte> For(OcspResponseStatus status) => status switch
    {
        OcspResponseStatus.MalformedRequest => Malformed,
        OcspResponseStatus.InternalError => Internal,
        OcspResponseStatus.TryLater => Later,
        OcspResponseStatus.SigRequired => SigRequired,
        OcspResponseStatus.Unauthorized => NotAuthorized,
        _ => throw new ArgumentOutOfRangeException(nameof(status), "successful responses are signed, not constants"),
    };
}
