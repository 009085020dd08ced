using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace OcspFunctions.Tests.KeyVault;

/// <summary>
/// A STAND-IN for Key Vault's certificates REST contract, NOT Key Vault (which cannot run here): added to a
/// <see cref="KeyVaultStandIn"/> (same TLS, same 401 challenge), it implements what the official CertificateClient sends —
/// <c>POST /certificates/{name}/create</c> with a policy (issuer Unknown) → 202 and a pending operation whose CSR is
/// signed by a new key; <c>GET /certificates/{name}/pending</c>; <c>POST /certificates/{name}/pending/merge</c> with
/// x5c (the certificate must hold the pending key) → a new enabled version whose kid is a key version of the keys
/// contract, so it signs through the keys stand-in; <c>GET /certificates/{name}/versions</c>, <c>GET
/// /certificates/{name}[/{version}]</c> and <c>PATCH /certificates/{name}/{version}</c> (enable/disable). A second create
/// while one is pending is 409 Conflict. A pending version is listed as disabled without x5t (the documented contract does
/// not pin this down; the loader skips such versions either way).
/// </summary>
public sealed class KeyVaultCertificatesStandIn
{
    /// <summary>The certificates api-versions the official client 4.10 may send.</summary>
    public static readonly string[] ApiVersions = ["2025-07-01", "2026-04-01", "7.6"];

    private readonly KeyVaultStandIn _vault;
    private readonly ConcurrentDictionary<string, List<Version>> _certificates = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.OrdinalIgnoreCase);
    private long _sequence;

    public KeyVaultCertificatesStandIn(KeyVaultStandIn vault)
    {
        _vault = vault;
        vault.CertificatesHandler = HandleAsync;
    }

    /// <summary>The policy of the last create, as sent (to check the responder profile).</summary>
    public JsonElement? LastPolicy { get; private set; }

    /// <summary>api-versions seen on certificates calls.</summary>
    public ConcurrentQueue<string> ApiVersionsSeen { get; } = new();

    public sealed class Version(string id, byte[] cer, string keyVersion, long created)
    {
        public string Id { get; } = id;
        public byte[] Cer { get; } = cer;
        public string KeyVersion { get; } = keyVersion;
        public long Created { get; } = created;
        public bool Enabled { get; set; } = true;
    }

    private sealed record Pending(string Version, AsymmetricAlgorithm Key, byte[] Csr, string RequestId);

    public IReadOnlyList<Version> Versions(string name) => _certificates.TryGetValue(name, out var list) ? [.. list] : [];

    private async Task<int> HandleAsync(HttpContext context, string[] segments)
    {
        var request = context.Request;
        string apiVersion = request.Query["api-version"].ToString();
        ApiVersionsSeen.Enqueue(apiVersion);
        if (!ApiVersions.Contains(apiVersion)) return await _vault.ErrorAsync(context, 400, "BadParameter", "The specified version is not supported");
        if (segments.Length < 2) return await _vault.ErrorAsync(context, 405, "MethodNotAllowed", "not part of this stand-in");
        string name = segments[1];
        var vault = KeyVaultStandIn.VaultUriOf(request);
        string rest = string.Join('/', segments.Skip(2));
        return (request.Method, rest) switch
        {
            ("POST", "create") => await CreateAsync(context, name, vault),
            ("GET", "pending") => _pending.TryGetValue(name, out var p)
                ? await _vault.JsonAsync(context, 200, w => WriteOperation(w, vault, name, p))
                : await _vault.ErrorAsync(context, 404, "PendingCertificateNotFound", "Pending certificate not found"),
            ("POST", "pending/merge") => await MergeAsync(context, name, vault),
            ("GET", "versions") => await _vault.JsonAsync(context, 200, w => WriteVersions(w, vault, name)),
            ("GET", _) => await GetAsync(context, name, rest.Length == 0 ? null : rest, vault),
            ("PATCH", { Length: > 0 }) => await UpdateAsync(context, name, rest, vault),
            _ => await _vault.ErrorAsync(context, 405, "MethodNotAllowed", "not part of this stand-in"),
        };
    }

    private async Task<int> CreateAsync(HttpContext context, string name, Uri vault)
    {
        using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var policy = doc.RootElement.GetProperty("policy");
        LastPolicy = policy.Clone();
        if (_pending.ContainsKey(name))
            return await _vault.ErrorAsync(context, 409, "Conflict", $"Certificate {name} is currently being created or has a pending operation.");
        if (policy.GetProperty("issuer").GetProperty("name").GetString() != "Unknown")
            return await _vault.ErrorAsync(context, 400, "BadParameter", "this stand-in implements issuer Unknown only");
        var keyProps = policy.GetProperty("key_props");
        string kty = keyProps.GetProperty("kty").GetString()!;
        AsymmetricAlgorithm key = kty switch
        {
            "EC" or "EC-HSM" => ECDsa.Create(keyProps.GetProperty("crv").GetString() == "P-384" ? ECCurve.NamedCurves.nistP384 : ECCurve.NamedCurves.nistP256),
            "RSA" or "RSA-HSM" => RSA.Create(keyProps.TryGetProperty("key_size", out var size) ? size.GetInt32() : 2048),
            _ => throw new InvalidOperationException(kty),
        };
        var x509 = policy.GetProperty("x509_props");
        var subject = new X500DistinguishedName(x509.GetProperty("subject").GetString()!);
        var csr = key is RSA rsa
            ? new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, (ECDsa)key, HashAlgorithmName.SHA256);
        csr.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        if (x509.TryGetProperty("ekus", out var ekus))
            csr.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                new OidCollection().With(ekus.EnumerateArray().Select(e => new Oid(e.GetString()!))), critical: false));
        // The key exists (and signs the CSR) from now on, under the version the certificate will get.
        var standInKey = _vault.AddKey(name, key, hsm: kty.EndsWith("-HSM", StringComparison.Ordinal));
        var pending = new Pending(standInKey.Version, key, csr.CreateSigningRequest(), Guid.NewGuid().ToString("N"));
        _pending[name] = pending;
        context.Response.Headers.Location = new Uri(vault, $"certificates/{name}/pending").ToString();
        return await _vault.JsonAsync(context, 202, w => WriteOperation(w, vault, name, pending));
    }

    private async Task<int> MergeAsync(HttpContext context, string name, Uri vault)
    {
        if (!_pending.TryGetValue(name, out var pending))
            return await _vault.ErrorAsync(context, 404, "PendingCertificateNotFound", "Pending certificate not found");
        using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var x5c = doc.RootElement.GetProperty("x5c").EnumerateArray().Select(e => Convert.FromBase64String(e.GetString()!)).ToList();
        using var certificate = X509CertificateLoader.LoadCertificate(x5c[0]);
        byte[] expected = pending.Key switch
        {
            RSA r => r.ExportSubjectPublicKeyInfo(),
            ECDsa e => e.ExportSubjectPublicKeyInfo(),
            _ => [],
        };
        if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(expected))
            return await _vault.ErrorAsync(context, 400, "BadParameter", "Public key from x509 certificate and key of this instance doesn't match");
        _pending.TryRemove(name, out _);
        var version = new Version(pending.Version, x5c[0], pending.Version, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + Interlocked.Increment(ref _sequence));
        _certificates.AddOrUpdate(name, _ => [version], (_, list) => { lock (list) list.Add(version); return list; });
        return await _vault.JsonAsync(context, 201, w => WriteBundle(w, vault, name, version));
    }

    private async Task<int> GetAsync(HttpContext context, string name, string? versionId, Uri vault)
    {
        var versions = Versions(name);
        var version = versionId is null ? versions.OrderByDescending(v => v.Created).FirstOrDefault()
            : versions.FirstOrDefault(v => string.Equals(v.Id, versionId, StringComparison.OrdinalIgnoreCase));
        if (version is null && versionId is not null && _pending.TryGetValue(name, out var p) && p.Version == versionId)
            return await _vault.JsonAsync(context, 200, w => WritePendingBundle(w, vault, name, p));
        return version is null
            ? await _vault.ErrorAsync(context, 404, "CertificateNotFound", $"A certificate with (name/id) {name} was not found in this key vault.")
            : await _vault.JsonAsync(context, 200, w => WriteBundle(w, vault, name, version));
    }

    private async Task<int> UpdateAsync(HttpContext context, string name, string versionId, Uri vault)
    {
        var version = Versions(name).FirstOrDefault(v => string.Equals(v.Id, versionId, StringComparison.OrdinalIgnoreCase));
        if (version is null) return await _vault.ErrorAsync(context, 404, "CertificateNotFound", "not found");
        using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        if (doc.RootElement.TryGetProperty("attributes", out var a) && a.TryGetProperty("enabled", out var enabled)) version.Enabled = enabled.GetBoolean();
        return await _vault.JsonAsync(context, 200, w => WriteBundle(w, vault, name, version));
    }

    private void WriteVersions(Utf8JsonWriter w, Uri vault, string name)
    {
        w.WriteStartArray("value");
        foreach (var v in Versions(name))
        {
            w.WriteStartObject();
            w.WriteString("id", new Uri(vault, $"certificates/{name}/{v.Id}").ToString());
            w.WriteString("x5t", Base64Url.EncodeToString(SHA1.HashData(v.Cer)));
            WriteAttributes(w, v.Enabled, v.Created, v.Cer);
            w.WriteEndObject();
        }
        if (_pending.TryGetValue(name, out var p))
        {
            w.WriteStartObject();
            w.WriteString("id", new Uri(vault, $"certificates/{name}/{p.Version}").ToString());
            WriteAttributes(w, false, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1_000_000, null);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("nextLink");
    }

    private static void WriteAttributes(Utf8JsonWriter w, bool enabled, long created, byte[]? cer)
    {
        w.WriteStartObject("attributes");
        w.WriteBoolean("enabled", enabled);
        if (cer is not null)
        {
            using var c = X509CertificateLoader.LoadCertificate(cer);
            w.WriteNumber("nbf", new DateTimeOffset(c.NotBefore.ToUniversalTime()).ToUnixTimeSeconds());
            w.WriteNumber("exp", new DateTimeOffset(c.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        }
        w.WriteNumber("created", created);
        w.WriteNumber("updated", created);
        w.WriteString("recoveryLevel", "Recoverable+Purgeable");
        w.WriteEndObject();
    }

    private static void WriteBundle(Utf8JsonWriter w, Uri vault, string name, Version v)
    {
        w.WriteString("id", new Uri(vault, $"certificates/{name}/{v.Id}").ToString());
        w.WriteString("kid", new Uri(vault, $"keys/{name}/{v.KeyVersion}").ToString());
        w.WriteString("sid", new Uri(vault, $"secrets/{name}/{v.Id}").ToString());
        w.WriteString("x5t", Base64Url.EncodeToString(SHA1.HashData(v.Cer)));
        w.WriteString("cer", Convert.ToBase64String(v.Cer));
        WriteAttributes(w, v.Enabled, v.Created, v.Cer);
    }

    private static void WritePendingBundle(Utf8JsonWriter w, Uri vault, string name, Pending p)
    {
        w.WriteString("id", new Uri(vault, $"certificates/{name}/{p.Version}").ToString());
        w.WriteString("kid", new Uri(vault, $"keys/{name}/{p.Version}").ToString());
        WriteAttributes(w, false, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), null);
    }

    private static void WriteOperation(Utf8JsonWriter w, Uri vault, string name, Pending p)
    {
        w.WriteString("id", new Uri(vault, $"certificates/{name}/pending").ToString());
        w.WriteStartObject("issuer");
        w.WriteString("name", "Unknown");
        w.WriteEndObject();
        w.WriteString("csr", Convert.ToBase64String(p.Csr));
        w.WriteBoolean("cancellation_requested", false);
        w.WriteString("status", "inProgress");
        w.WriteString("status_details", "Pending certificate created. Please Perform Merge to complete the request.");
        w.WriteString("request_id", p.RequestId);
    }
}

internal static class OidCollectionExtensions
{
    public static OidCollection With(this OidCollection collection, IEnumerable<Oid> oids)
    {
        foreach (var oid in oids) collection.Add(oid);
        return collection;
    }
}
