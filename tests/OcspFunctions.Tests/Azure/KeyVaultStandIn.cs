using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OcspFunctions.Adapters.Azure.KeyVault;

namespace OcspFunctions.Tests.KeyVault;

/// <summary>
/// A STAND-IN for Azure Key Vault or a Managed HSM, not the real service: neither can run here and no emulator exists,
/// so this loopback HTTPS server (Kestrel on 127.0.0.1, a throw-away self-signed certificate) implements the
/// documented keys REST contract (api-version <see cref="ApiVersion"/>; other versions get 400 BadParameter) the
/// signer uses — the 401 bearer challenge naming the service's resource, <c>GET /keys/{name}[/{version}]</c>
/// answering a JWK, and <c>POST /keys/{name}/{version}/sign</c> signing the digest with a real local key (EC: r‖s;
/// RSA: PKCS#1 v1.5 or PSS by alg) — plus injectable faults: 429 with or without Retry-After, 5xx, slow answers,
/// wrong-length signatures, a per-digest persistent failure, a token-bucket limit of R signatures per second and a
/// gate that holds sign requests. Started as a vault it answers as <see cref="VaultHost"/> with the resource
/// <see cref="Resource"/> (shaped like NAME.vault.azure.net / https://vault.azure.net); as a Managed HSM as
/// <see cref="ManagedHsmHost"/> with <see cref="ManagedHsmResource"/> (like NAME.managedhsm.azure.net /
/// https://managedhsm.azure.net), holding HSM keys only. The host names (under the reserved .test domain) are never
/// resolved: the client handler from <see cref="CreateHandler"/> connects every request to 127.0.0.1:<see cref="Port"/>
/// and trusts only this server's certificate. Shared by the tests and the benchmark (linked into both projects).
/// </summary>
public sealed class KeyVaultStandIn : IAsyncDisposable
{
    public const string AccessToken = "standin-access-token";
    public const string TenantId = "72f988bf-0000-4000-8000-standin00001";
    public const string Resource = "https://vault.standin.test";
    public const string VaultHost = "ocsp.vault.standin.test";
    public const string ManagedHsmResource = "https://managedhsm.standin.test";
    public const string ManagedHsmHost = "ocsp.managedhsm.standin.test";

    /// <summary>The keys REST api-version this stand-in implements (the documented 2025-07-01 contract).</summary>
    public const string ApiVersion = "2025-07-01";

    private readonly WebApplication _app;
    private readonly X509Certificate2 _certificate;
    private readonly ConcurrentDictionary<string, StandInKey> _keys = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, StandInKey> _keyVersions = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<HttpClient> _clients = [];
    private long _signed, _throttled, _signRequests;
    private int _signsInFlight, _maxSignsInFlight;

    private KeyVaultStandIn(WebApplication app, X509Certificate2 certificate, bool managedHsm)
    {
        _app = app;
        _certificate = certificate;
        IsManagedHsm = managedHsm;
        Host = managedHsm ? ManagedHsmHost : VaultHost;
        ServiceResource = managedHsm ? ManagedHsmResource : Resource;
        Challenge = $"Bearer authorization=\"https://login.standin.test/{TenantId}\", resource=\"{ServiceResource}\"";
    }

    public int Port { get; private set; }

    /// <summary>Whether this stands in for a Managed HSM rather than a vault.</summary>
    public bool IsManagedHsm { get; }

    /// <summary><see cref="VaultHost"/> or <see cref="ManagedHsmHost"/>.</summary>
    public string Host { get; }

    /// <summary>The resource the challenge names: <see cref="Resource"/> or <see cref="ManagedHsmResource"/>.</summary>
    public string ServiceResource { get; }

    public Uri VaultUri => new($"https://{Host}:{Port}/");

    /// <summary>The WWW-Authenticate value of the 401 challenge (Key Vault's form; the resource may be replaced by scope=…).</summary>
    public string Challenge { get; set; }

    /// <summary>While set and not completed, every sign request waits for it (after the faults, before signing).</summary>
    public TaskCompletionSource? SignGate { get; set; }

    /// <summary>Sign requests being served now.</summary>
    public int SignsInFlight => Volatile.Read(ref _signsInFlight);

    /// <summary>Faults applied, in order, to the next sign requests (one each).</summary>
    public ConcurrentQueue<StandInFault> SignFaults { get; } = new();

    /// <summary>When it returns true for a digest, every sign request of that digest gets 500 (a persistent failure).</summary>
    public Func<byte[], bool>? FailDigest { get; set; }

    /// <summary>Token bucket applied to sign requests; null for no limit.</summary>
    public StandInRateLimit? RateLimit { get; set; }

    /// <summary>Simulated service time of a sign (an HSM round trip), after the rate check.</summary>
    public TimeSpan SignLatency { get; set; }

    /// <summary>
    /// Serves <c>/certificates/…</c> when set (the certificates contract, <see cref="KeyVaultCertificatesStandIn"/>): called after
    /// the bearer check with the path segments; it checks its own api-version.
    /// </summary>
    public Func<HttpContext, string[], Task<int>>? CertificatesHandler { get; set; }

    /// <summary>Every request seen (method, path, Authorization header, status answered).</summary>
    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    public bool RecordRequests { get; set; } = true;

    public long Signed => Interlocked.Read(ref _signed);

    public long SignRequests => Interlocked.Read(ref _signRequests);

    /// <summary>The most sign requests the stand-in was serving at the same time.</summary>
    public int MaxConcurrentSigns => Volatile.Read(ref _maxSignsInFlight);

    /// <summary>429s answered by the rate limit or a fault.</summary>
    public long Throttled => Interlocked.Read(ref _throttled);

    public sealed record SeenRequest(string Method, string Path, string? Authorization, int Status, string? ApiVersion);

    public sealed record StandInKey(string Name, string Version, AsymmetricAlgorithm Key, string Kty)
    {
        public string KeyId(Uri vault) => new Uri(vault, $"keys/{Name}/{Version}").ToString();
    }

    /// <param name="managedHsm">Stand in for a Managed HSM (<see cref="ManagedHsmHost"/>) instead of a vault.</param>
    public static async Task<KeyVaultStandIn> StartAsync(bool managedHsm = false)
    {
        string host = managedHsm ? ManagedHsmHost : VaultHost;
        using var tlsKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", tlsKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Round-trip through PKCS#12 so Kestrel gets a certificate with a usable private key on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate));
        });
        var app = builder.Build();
        var standIn = new KeyVaultStandIn(app, certificate, managedHsm);
        app.Run(standIn.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        standIn.Port = new Uri(address).Port;
        return standIn;
    }

    /// <summary>
    /// Adds a key (a real local key that signs) under a new random version; returns it. <paramref name="hsm"/>: an
    /// HSM-protected key (kty EC-HSM / RSA-HSM); default false in a vault, true in a Managed HSM, which holds no other.
    /// </summary>
    public StandInKey AddKey(string name, AsymmetricAlgorithm key, bool? hsm = null)
    {
        if (IsManagedHsm && hsm == false) throw new ArgumentException("a Managed HSM holds only HSM-protected keys", nameof(hsm));
        string kty = (key is RSA ? "RSA" : "EC") + (hsm ?? IsManagedHsm ? "-HSM" : "");
        var entry = new StandInKey(name, Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(), key, kty);
        _keys[name] = entry;
        _keyVersions[name + "/" + entry.Version] = entry;
        return entry;
    }

    /// <summary>https://VAULT:PORT/keys/NAME (no version: the signer pins the current one).</summary>
    public string KeyId(string name) => new Uri(VaultUri, $"keys/{name}").ToString();

    /// <summary>A handler that sends every connection to this server and trusts only its certificate.</summary>
    public HttpMessageHandler CreateHandler()
    {
        string pinned = _certificate.GetCertHashString(HashAlgorithmName.SHA256);
        int port = Port;
        return new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    cert is not null && string.Equals(cert.GetCertHashString(HashAlgorithmName.SHA256), pinned, StringComparison.OrdinalIgnoreCase),
            },
        };
    }

    /// <summary>An Azure.Core transport over <see cref="CreateHandler"/>; disposed with the stand-in.</summary>
    public HttpPipelineTransport CreateTransport()
    {
        var client = new HttpClient(CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan };
        lock (_clients) _clients.Add(client);
        return new HttpClientTransport(client);
    }

    /// <summary>Signer options that reach this stand-in, with short retry delays unless given.</summary>
    public KeyVaultSignerOptions SignerOptions(KeyVaultSignerOptions? options = null) =>
        (options ?? new KeyVaultSignerOptions { RetryDelay = TimeSpan.FromMilliseconds(20), MaxRetryDelay = TimeSpan.FromMilliseconds(200) })
        with { Transport = CreateTransport() };

    private async Task HandleAsync(HttpContext context)
    {
        try
        {
            await ServeAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Record(context, 499); // the client gave up (time-out)
        }
    }

    /// <summary>Recorded before the answer is written, so a client that has its answer finds the request listed.</summary>
    private void Record(HttpContext context, int status)
    {
        if (!RecordRequests) return;
        string? authorization = context.Request.Headers.Authorization.Count > 0 ? context.Request.Headers.Authorization.ToString() : null;
        string? apiVersion = context.Request.Query.TryGetValue("api-version", out var v) ? v.ToString() : null;
        Requests.Enqueue(new SeenRequest(context.Request.Method, context.Request.Path.Value ?? "", authorization, status, apiVersion));
    }

    private async Task<int> ServeAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Headers.Authorization.ToString() != "Bearer " + AccessToken)
        {
            context.Response.Headers.WWWAuthenticate = Challenge;
            return await ErrorAsync(context, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.");
        }
        var segments = (request.Path.Value ?? "").Trim('/').Split('/');
        if (segments[0] == "certificates" && CertificatesHandler is { } certificates) return await certificates(context, segments);
        if (request.Query["api-version"] != ApiVersion)
            return await ErrorAsync(context, 400, "BadParameter", "The specified version is not supported");

        if (segments.Length < 2 || segments[0] != "keys" || !_keys.TryGetValue(segments[1], out var key))
            return await ErrorAsync(context, 404, "KeyNotFound", "A key with (name/id) was not found in this key vault.");
        string? version = segments.Length >= 3 ? segments[2] : null;
        // Every version of a key stays usable by its kid (a Key Vault certificate's versions each have one).
        if (version is { Length: > 0 } && !_keyVersions.TryGetValue(segments[1] + "/" + version, out key))
            return await ErrorAsync(context, 404, "KeyNotFound", "A key with (name/id) was not found in this key vault.");

        if (HttpMethods.IsGet(request.Method) && segments.Length <= 3)
            return await JsonAsync(context, 200, w => WriteKeyBundle(w, key, VaultUriOf(request)));
        if (HttpMethods.IsPost(request.Method) && segments.Length == 4 && segments[3] == "sign")
            return await SignAsync(context, key);
        return await ErrorAsync(context, 405, "MethodNotAllowed", "not part of this stand-in");
    }

    internal static Uri VaultUriOf(HttpRequest request) => new($"https://{request.Host}/");

    private async Task<int> SignAsync(HttpContext context, StandInKey key)
    {
        Interlocked.Increment(ref _signRequests);
        int now = Interlocked.Increment(ref _signsInFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxSignsInFlight)) && Interlocked.CompareExchange(ref _maxSignsInFlight, now, max) != max)
        {
        }
        try
        {
            return await SignCoreAsync(context, key);
        }
        finally
        {
            Interlocked.Decrement(ref _signsInFlight);
        }
    }

    private async Task<int> SignCoreAsync(HttpContext context, StandInKey key)
    {
        string? alg;
        byte[] digest;
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            alg = doc.RootElement.GetProperty("alg").GetString();
            digest = Base64Url.DecodeFromChars(doc.RootElement.GetProperty("value").GetString());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            return await ErrorAsync(context, 400, "BadParameter", "the request body must be {\"alg\":…,\"value\":…}");
        }

        bool wrongLength = false;
        if (SignFaults.TryDequeue(out var fault))
        {
            switch (fault)
            {
                case StandInFault.TooManyRequests tooMany:
                    Interlocked.Increment(ref _throttled);
                    if (tooMany.RetryAfter is { } ra) context.Response.Headers.RetryAfter = ra;
                    return await ErrorAsync(context, 429, "Throttled", "Request was not processed because too many requests were received.");
                case StandInFault.Status s:
                    return await ErrorAsync(context, s.Code, s.ErrorCode, "injected fault");
                case StandInFault.Slow slow:
                    await Task.Delay(slow.Delay, context.RequestAborted);
                    break;
                case StandInFault.WrongLengthSignature:
                    wrongLength = true;
                    break;
            }
        }
        if (FailDigest is { } fail && fail(digest))
            return await ErrorAsync(context, 500, "InternalServerError", "injected persistent failure");
        if (RateLimit is { } limit && !limit.TryTake())
        {
            Interlocked.Increment(ref _throttled);
            if (limit.SendRetryAfter) context.Response.Headers.RetryAfter = "1";
            return await ErrorAsync(context, 429, "Throttled", "Request was not processed because too many requests were received.");
        }
        if (SignGate is { } gate) await gate.Task.WaitAsync(context.RequestAborted);
        if (SignLatency > TimeSpan.Zero) await Task.Delay(SignLatency, context.RequestAborted);

        byte[] signature;
        try
        {
            signature = Sign(key, alg, digest);
        }
        catch (ArgumentException e)
        {
            return await ErrorAsync(context, 400, "BadParameter", e.Message);
        }
        if (wrongLength) signature = signature[..^1];
        Interlocked.Increment(ref _signed);
        string kid = key.KeyId(VaultUriOf(context.Request));
        return await JsonAsync(context, 200, w =>
        {
            w.WriteString("kid", kid);
            w.WriteString("value", Base64Url.EncodeToString(signature));
        });
    }

    /// <summary>Signs like Key Vault: the digest as given; EC as r‖s (IEEE P1363); RSA PKCS#1 v1.5 (RSxxx) or PSS with salt = hash length (PSxxx).</summary>
    private static byte[] Sign(StandInKey key, string? alg, byte[] digest)
    {
        var (hash, pss) = alg switch
        {
            "RS256" => (HashAlgorithmName.SHA256, false),
            "RS384" => (HashAlgorithmName.SHA384, false),
            "PS256" => (HashAlgorithmName.SHA256, true),
            "PS384" => (HashAlgorithmName.SHA384, true),
            "ES256" => (HashAlgorithmName.SHA256, false),
            "ES384" => (HashAlgorithmName.SHA384, false),
            _ => throw new ArgumentException($"algorithm {alg} is not supported"),
        };
        int digestLength = hash == HashAlgorithmName.SHA256 ? 32 : 48;
        if (digest.Length != digestLength) throw new ArgumentException($"{alg} needs a {digestLength}-byte digest, got {digest.Length}");
        lock (key.Key)
        {
            switch (key.Key)
            {
                case RSA rsa when alg!.StartsWith("RS", StringComparison.Ordinal) || alg.StartsWith("PS", StringComparison.Ordinal):
                    return rsa.SignHash(digest, hash, pss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
                case ECDsa ec when (alg == "ES256" && ec.KeySize == 256) || (alg == "ES384" && ec.KeySize == 384):
                    return ec.SignHash(digest, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                default:
                    throw new ArgumentException($"algorithm {alg} does not fit a {key.Kty} key of {key.Key.KeySize} bits");
            }
        }
    }

    private static void WriteKeyBundle(Utf8JsonWriter w, StandInKey key, Uri vault)
    {
        w.WriteStartObject("key");
        w.WriteString("kid", key.KeyId(vault));
        w.WriteString("kty", key.Kty);
        w.WriteStartArray("key_ops");
        w.WriteStringValue("sign");
        w.WriteStringValue("verify");
        w.WriteEndArray();
        switch (key.Key)
        {
            case RSA rsa:
                var p = rsa.ExportParameters(false);
                w.WriteString("n", Base64Url.EncodeToString(p.Modulus));
                w.WriteString("e", Base64Url.EncodeToString(p.Exponent));
                break;
            case ECDsa ec:
                var q = ec.ExportParameters(false).Q;
                w.WriteString("crv", ec.KeySize == 384 ? "P-384" : "P-256");
                w.WriteString("x", Base64Url.EncodeToString(q.X));
                w.WriteString("y", Base64Url.EncodeToString(q.Y));
                break;
        }
        w.WriteEndObject();
        w.WriteStartObject("attributes");
        w.WriteBoolean("enabled", true);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        w.WriteNumber("created", now - 3600);
        w.WriteNumber("updated", now - 3600);
        w.WriteString("recoveryLevel", "Recoverable+Purgeable");
        w.WriteEndObject();
    }

    internal async Task<int> JsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        Record(context, status);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted);
        return status;
    }

    internal Task<int> ErrorAsync(HttpContext context, int status, string code, string message) =>
        JsonAsync(context, status, w =>
        {
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", message);
            w.WriteEndObject();
        });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        lock (_clients)
        {
            foreach (var client in _clients) client.Dispose();
        }
        _certificate.Dispose();
    }
}

/// <summary>A fault the stand-in applies to one sign request.</summary>
public abstract record StandInFault
{
    /// <summary>429; <paramref name="RetryAfter"/> is the raw header value (delta-seconds or an HTTP-date), or none.</summary>
    public sealed record TooManyRequests(string? RetryAfter = null) : StandInFault;

    /// <summary>Any status with a Key Vault error body (500, 503, 403, …).</summary>
    public sealed record Status(int Code, string ErrorCode = "InternalServerError") : StandInFault;

    /// <summary>Answers (correctly) only after <paramref name="Delay"/>.</summary>
    public sealed record Slow(TimeSpan Delay) : StandInFault;

    /// <summary>A signature one octet short.</summary>
    public sealed record WrongLengthSignature : StandInFault;
}

/// <summary>A token bucket: <paramref name="perSecond"/> tokens a second, at most <paramref name="burst"/> saved; starts full.</summary>
public sealed class StandInRateLimit(double perSecond, double burst, bool sendRetryAfter = true)
{
    private readonly object _lock = new();
    private readonly double _burst = burst;
    private double _tokens = burst;
    private long _last = System.Diagnostics.Stopwatch.GetTimestamp();

    public double PerSecond => perSecond;

    public double Burst => _burst;

    /// <summary>Whether a 429 carries "Retry-After: 1".</summary>
    public bool SendRetryAfter => sendRetryAfter;

    public bool TryTake()
    {
        lock (_lock)
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + System.Diagnostics.Stopwatch.GetElapsedTime(_last, now).TotalSeconds * perSecond);
            _last = now;
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}

/// <summary>A TokenCredential that returns the stand-in's static token and records what was asked for.</summary>
public sealed class StandInTokenCredential(string token = KeyVaultStandIn.AccessToken) : TokenCredential
{
    public ConcurrentQueue<TokenRequestContext> Requests { get; } = new();

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Requests.Enqueue(requestContext);
        return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
