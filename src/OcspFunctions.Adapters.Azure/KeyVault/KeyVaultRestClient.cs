using System.Text.Json;
using global::Azure;
using global::Azure.Core;
using global::Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>
/// The few Key Vault REST calls the signer makes (the same for a vault and a Managed HSM), on an Azure.Core
/// <see cref="HttpPipeline"/> with <see cref="KeyVaultChallengePolicy"/>. Azure.Core's own retry policy is switched off
/// (MaxRetries 0): its retries would happen while the call holds a limiter slot, hide 429s from the AIMD limiter, know
/// nothing of the shared gate and multiply with these retries. Here each attempt takes a slot, reports what it learnt, gives the slot back,
/// and only then waits: the server's Retry-After, else 1, 2, 4, 8, 16 s. A throttled call waits alone while halving the
/// concurrency can still help; once the limit is at its floor, a 429 closes the gate for every call for that wait.
/// </summary>
public sealed class KeyVaultRestClient
{
    private readonly HttpPipeline _pipeline;
    private readonly KeyVaultSignerOptions _options;
    private readonly KeyVaultKind _kind;

    /// <param name="kind">Picks the limiter settings when <see cref="KeyVaultSignerOptions.SharedLimiter"/> is null.</param>
    public KeyVaultRestClient(TokenCredential credential, KeyVaultSignerOptions options, KeyVaultKind kind = KeyVaultKind.Vault)
    {
        _options = options;
        _kind = kind;
        Limiter = options.SharedLimiter ?? new AdaptiveConcurrencyLimiter(options.LimiterFor(kind), options.Time);
        var clientOptions = new PipelineOptions();
        clientOptions.Retry.MaxRetries = 0;
        clientOptions.Retry.NetworkTimeout = options.PerCallTimeout;
        clientOptions.Diagnostics.ApplicationId = "OcspFunctions";
        if (options.Transport is not null) clientOptions.Transport = options.Transport;
        _pipeline = HttpPipelineBuilder.Build(clientOptions, [], [new KeyVaultChallengePolicy(credential, options.VerifyChallengeResource)],
            new ResponseClassifier());
    }

    private sealed class PipelineOptions : ClientOptions;

    public AdaptiveConcurrencyLimiter Limiter { get; }

    public KeyVaultSignerStatistics Statistics { get; } = new();

    private enum Outcome { Ok, Retry, Fail }

    /// <summary>Sends one call with retries; returns the body of a 200 answer, else throws <see cref="KeyVaultException"/>.</summary>
    public async Task<byte[]> SendAsync(RequestMethod method, Uri uri, byte[]? body, string operation, CancellationToken cancellationToken)
    {
        var time = _options.Time;
        for (int attempt = 0; ; attempt++)
        {
            var lease = await Limiter.AcquireAsync(cancellationToken).ConfigureAwait(false);
            var signal = LimiterSignal.Neutral;
            bool throttledAtFloor = false;
            Outcome outcome;
            string failure;
            TimeSpan? retryAfter = null;
            int? status = null;
            string? errorCode = null;
            byte[]? content = null;
            Exception? error = null;
            try
            {
                using var message = _pipeline.CreateMessage();
                message.Request.Method = method;
                message.Request.Uri.Reset(uri);
                message.Request.Headers.Add(HttpHeader.Names.Accept, "application/json");
                if (body is not null)
                {
                    message.Request.Headers.Add(HttpHeader.Names.ContentType, "application/json");
                    message.Request.Content = RequestContent.Create(body);
                }
                message.NetworkTimeout = _options.PerCallTimeout;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.PerCallTimeout);
                Statistics.Request();
                try
                {
                    await _pipeline.SendAsync(message, timeout.Token).ConfigureAwait(false);
                    status = message.Response.Status;
                    content = message.Response.Content.ToArray();
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    Statistics.Timeout();
                    error = e;
                }
                catch (RequestFailedException e) when (e.Status == 0)
                {
                    // Connection refused / reset / TLS failure: Azure.Core's transport error.
                    Statistics.TransportError();
                    error = e;
                }

                if (status == 200)
                {
                    signal = LimiterSignal.Success;
                    return content!;
                }
                if (status is { } s)
                {
                    (errorCode, string? errorMessage) = ReadError(content);
                    failure = $"HTTP {s}{(errorCode is null ? "" : " " + errorCode)}{(errorMessage is null ? "" : ": " + errorMessage)}";
                    if (s == 429) Statistics.Throttle();
                    else if (s >= 500) Statistics.ServerError();
                    if (s is 429 or 503) signal = LimiterSignal.Throttled;
                    if (KeyVaultRetry.IsRetryable(s))
                    {
                        message.Response.Headers.TryGetValue("Retry-After", out string? ra);
                        message.Response.Headers.TryGetValue("retry-after-ms", out string? raMs);
                        if (raMs is null) message.Response.Headers.TryGetValue("x-ms-retry-after-ms", out raMs);
                        retryAfter = KeyVaultRetry.ParseRetryAfter(ra, raMs, time.GetUtcNow());
                        outcome = Outcome.Retry;
                    }
                    else
                    {
                        failure += Hint(s);
                        outcome = Outcome.Fail;
                    }
                }
                else
                {
                    failure = error is OperationCanceledException
                        ? $"no answer within {_options.PerCallTimeout.TotalSeconds:0.###} s"
                        : $"connection failed: {error!.Message}";
                    outcome = Outcome.Retry;
                }
            }
            finally
            {
                throttledAtFloor = Limiter.Release(lease, signal);
            }

            string where = $"Key Vault {operation} ({uri.GetLeftPart(UriPartial.Path)})";
            if (outcome == Outcome.Fail)
            {
                Statistics.Failure();
                throw new KeyVaultException($"{where} failed: {failure}", status, errorCode, error);
            }
            if (attempt >= _options.MaxRetries)
            {
                Statistics.Failure();
                throw new KeyVaultException($"{where} failed after {attempt + 1} attempts: {failure}", status, errorCode, error);
            }
            if (retryAfter is { } wait && wait > _options.MaxRetryAfter)
            {
                Statistics.Failure();
                throw new KeyVaultException($"{where}: {failure}, and the service asks to retry after {wait.TotalSeconds:0} s; giving up for this run",
                    status, errorCode, error);
            }
            var delay = retryAfter ?? KeyVaultRetry.Backoff(attempt, _options.RetryDelay, _options.MaxRetryDelay);
            if (throttledAtFloor && delay > TimeSpan.Zero)
            {
                // Throttled with one call at a time: the quota is spent, so every call waits, not just this one.
                Limiter.PauseUntil(time.GetUtcNow() + delay);
            }
            _options.Logger?.LogDebug("{Where}: {Failure}; retry {Retry} in {Delay} ms (concurrency limit {Limit})",
                where, failure, attempt + 1, (int)delay.TotalMilliseconds, Limiter.Limit);
            Statistics.Retry();
            if (delay > TimeSpan.Zero) await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private string Hint(int status) => (status, _kind) switch
    {
        (401, _) => " (the token was refused: check the identity and the vault's tenant)",
        (403, KeyVaultKind.ManagedHsm) => " (the identity needs the Managed HSM local role 'Managed HSM Crypto User' on the key or the HSM)",
        (403, _) => " (the identity needs the 'Key Vault Crypto User' role on the key or vault, or the sign/get key permissions)",
        (404, KeyVaultKind.ManagedHsm) => " (no such key or version in this Managed HSM)",
        (404, _) => " (no such key or version in this vault)",
        _ => "",
    };

    /// <summary>Key Vault's error body: {"error":{"code":"…","message":"…"}}.</summary>
    private static (string? Code, string? Message) ReadError(byte[]? content)
    {
        if (content is null || content.Length == 0) return (null, null);
        try
        {
            using var doc = JsonDocument.Parse(content);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                string? code = e.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                string? message = e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                return (code, message);
            }
        }
        catch (JsonException)
        {
        }
        return (null, null);
    }
}
