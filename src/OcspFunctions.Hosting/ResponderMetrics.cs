using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>
/// What the responder answered: the <see cref="OcspInstruments.MeterName"/> meter's <c>ocsp.answers</c> (by status and
/// method) for the exporters, and running totals for /health (a counter cannot be read back without a listener).
/// </summary>
public sealed class ResponderMetrics(OcspInstruments instruments)
{
    private long _good, _notModified, _unauthorized, _malformed, _expired, _errors, _clientErrors;

    public OcspInstruments Instruments => instruments;

    /// <summary>The tag value of an HTTP method: a constant, so the tag costs no allocation and its values stay few.</summary>
    public static string MethodTag(string method) =>
        HttpMethodIs(method, "GET") ? "GET" : HttpMethodIs(method, "POST") ? "POST" : HttpMethodIs(method, "HEAD") ? "HEAD" : "other";

    private static bool HttpMethodIs(string method, string expected) =>
        ReferenceEquals(method, expected) || string.Equals(method, expected, StringComparison.OrdinalIgnoreCase);

    public static string StatusTag(CertStatusKind status) => status switch
    {
        CertStatusKind.Good => "good",
        CertStatusKind.Revoked => "revoked",
        _ => "unknown",
    };

    public void Served(CertStatusKind status, string method)
    {
        Interlocked.Increment(ref _good);
        instruments.Answer(StatusTag(status), method);
    }

    public void NotModified(string method)
    {
        Interlocked.Increment(ref _notModified);
        instruments.Answer("notModified", method);
    }

    public void Unauthorized(string method)
    {
        Interlocked.Increment(ref _unauthorized);
        instruments.Answer("unauthorized", method);
    }

    public void Malformed(string method)
    {
        Interlocked.Increment(ref _malformed);
        instruments.Answer("malformedRequest", method);
    }

    /// <summary>A stored response past its nextUpdate, answered <c>tryLater</c>.</summary>
    public void ExpiredRefused(string issuer, string method)
    {
        Interlocked.Increment(ref _expired);
        instruments.Stale(issuer);
        instruments.Answer("tryLater", method);
    }

    public void InternalError(string method)
    {
        Interlocked.Increment(ref _errors);
        instruments.Answer("internalError", method);
    }

    /// <summary>A request the client did not complete (POST body too slow, cut off or short): no OCSP answer.</summary>
    public void ClientError()
    {
        Interlocked.Increment(ref _clientErrors);
        instruments.ClientError();
    }

    public object Snapshot() => new
    {
        served = Interlocked.Read(ref _good),
        notModified = Interlocked.Read(ref _notModified),
        unauthorized = Interlocked.Read(ref _unauthorized),
        malformed = Interlocked.Read(ref _malformed),
        expiredRefused = Interlocked.Read(ref _expired),
        internalError = Interlocked.Read(ref _errors),
        clientError = Interlocked.Read(ref _clientErrors),
    };
}
