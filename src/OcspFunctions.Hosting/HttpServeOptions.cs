namespace OcspFunctions.Hosting;

/// <summary>The HTTP settings of the responder, under <c>Ocsp:Serve</c> (next to the engine's <see cref="OcspFunctions.Engine.ServingOptions"/>).</summary>
public sealed class HttpServeOptions
{
    /// <summary>Path of the AIA URL before the request (e.g. "/ocsp" for http://ocsp.example.com/ocsp/MEkw…); empty for the root.</summary>
    public string PathPrefix { get; set; } = "";

    /// <summary>Upper bound of Cache-Control max-age: how long a CDN may keep showing a response after a revocation.</summary>
    public TimeSpan MaxAgeCap { get; set; } = TimeSpan.FromHours(1);

    /// <summary>POST body cap (RFC 5019 requests are ~100 bytes; Boulder caps at 10,000).</summary>
    public int MaxRequestBytes { get; set; } = 10_000;

    /// <summary><c>serve</c> answers Prometheus text at /metrics (the OcspFunctions meter).</summary>
    public bool PrometheusMetrics { get; set; }

    /// <summary>Fraction of answers logged as an audit event: 0 off, 1 every answer.</summary>
    public double AuditSampleRate { get; set; }
}
