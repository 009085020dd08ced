using System.Diagnostics.Metrics;

namespace OcspFunctions.Hosting;

/// <summary>Counters of what the responder answered; exported as a Meter and shown by /health.</summary>
public sealed class ResponderMetrics : IDisposable
{
    private readonly Meter _meter = new("OcspFunctions.Responder");
    private long _good, _notModified, _unauthorized, _malformed, _expired, _errors, _clientErrors;

    public ResponderMetrics()
    {
        _meter.CreateObservableCounter("ocsp.responses.served", () => Interlocked.Read(ref _good));
        _meter.CreateObservableCounter("ocsp.responses.not_modified", () => Interlocked.Read(ref _notModified));
        _meter.CreateObservableCounter("ocsp.responses.unauthorized", () => Interlocked.Read(ref _unauthorized));
        _meter.CreateObservableCounter("ocsp.responses.malformed", () => Interlocked.Read(ref _malformed));
        _meter.CreateObservableCounter("ocsp.responses.expired_refused", () => Interlocked.Read(ref _expired));
        _meter.CreateObservableCounter("ocsp.responses.internal_error", () => Interlocked.Read(ref _errors));
        _meter.CreateObservableCounter("ocsp.requests.client_error", () => Interlocked.Read(ref _clientErrors));
    }

    public void Served() => Interlocked.Increment(ref _good);
    public void NotModified() => Interlocked.Increment(ref _notModified);
    public void Unauthorized() => Interlocked.Increment(ref _unauthorized);
    public void Malformed() => Interlocked.Increment(ref _malformed);
    public void ExpiredRefused() => Interlocked.Increment(ref _expired);
    public void InternalError() => Interlocked.Increment(ref _errors);
    /// <summary>A request the client did not complete (POST body too slow, cut off or short): no OCSP answer.</summary>
    public void ClientError() => Interlocked.Increment(ref _clientErrors);

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

    public void Dispose() => _meter.Dispose();
}
