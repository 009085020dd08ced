using Microsoft.Extensions.Logging;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>
/// One structured log event per answer (category <see cref="Category"/>, event <c>OcspAnswer</c>), for a sample of
/// <c>Serve:AuditSampleRate</c> of them. Off (0, the default) it costs one comparison: nothing is formatted.
/// Everything taken from the request is hex or escaped (<see cref="Printable.Escape(string?)"/>).
/// </summary>
public sealed partial class AnswerAudit(HttpServeOptions options, ILoggerFactory loggers)
{
    public const string Category = "OcspFunctions.Audit";
    public const int AnswerEventId = 1301;
    public const int RefreshEventId = 1302;

    private readonly ILogger _logger = loggers.CreateLogger(Category);
    private readonly double _rate = options.AuditSampleRate;

    /// <summary>Whether this answer is audited; false at once when auditing is off.</summary>
    public bool Sample() => _rate > 0 && (_rate >= 1 || Random.Shared.NextDouble() < _rate);

    /// <param name="source"><c>cache</c>, <c>store</c>, or <c>none</c> (answered from the in-memory index or refused).</param>
    public void Answer(string status, string method, CertId? certId, string source)
    {
        if (!_logger.IsEnabled(LogLevel.Information)) return;
        string algorithm = certId is null ? "" : certId.HashAlgorithm.Name() is "unsupported" ? Printable.Escape(certId.HashAlgorithmOid) : certId.HashAlgorithm.Name();
        LogAnswer(_logger, status, method, certId is null ? "" : Convert.ToHexString(certId.IssuerKeyHash),
            certId is null ? "" : Printable.Escape(certId.SerialNumber.ToString()), algorithm, source);
    }

    [LoggerMessage(EventId = AnswerEventId, EventName = "OcspAnswer", Level = LogLevel.Information,
        Message = "OCSP answer {Status} to {Method}: issuer {IssuerKeyHash}, serial {Serial}, CertID hash {HashAlgorithm}, from {Source}")]
    private static partial void LogAnswer(ILogger logger, string status, string method, string issuerKeyHash, string serial, string hashAlgorithm,
        string source);
}
