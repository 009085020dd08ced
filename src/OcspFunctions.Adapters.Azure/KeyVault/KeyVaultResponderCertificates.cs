using System.Security.Cryptography.X509Certificates;
using global::Azure;
using global::Azure.Core;
using global::Azure.Security.KeyVault.Certificates;

namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>The key of a responder certificate request (<c>responder request --key</c>): always HSM-protected, never exportable.</summary>
public enum ResponderKeyKind
{
    EcP256,
    EcP384,
    Rsa2048,
    Rsa3072,
}

/// <summary>A certificate version picked for signing: its certificate, its key (the certificate's kid) and where it came from.</summary>
public sealed record ResponderCertificateVersion(X509Certificate2 Certificate, string KeyId, string Location, string Version);

/// <summary>
/// The responder certificate as a Key Vault certificate, on the official client (Azure.Security.KeyVault.Certificates):
/// <list type="number">
/// <item><see cref="RequestAsync"/> creates the certificate — or, for an existing name, a new version — with the
/// responder policy: issuer <c>Unknown</c> (the CA is outside Key Vault), an HSM key that cannot be exported, key usage
/// digitalSignature, EKU id-kp-OCSPSigning (RFC 6960 §4.2.2.2, CA/B BR §7.1.2.8) and a lifetime action that e-mails
/// the vault's certificate contacts N days before expiry (AutoRenew is impossible with issuer Unknown). The pending
/// operation's CSR goes to the CA, which adds id-pkix-ocsp-nocheck (a policy cannot ask for it).</item>
/// <item><see cref="MergeAsync"/> completes it with the certificate the CA issued (MergeCertificate).</item>
/// <item><see cref="LoadNewestAsync"/> is what the refresh uses: the newest enabled version that holds a certificate
/// valid now, and its kid — so a merged new version is picked up by the next run.</item>
/// </list>
/// </summary>
public sealed class KeyVaultResponderCertificates(CertificateClient client, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>id-kp-OCSPSigning.</summary>
    public const string OcspSigningEku = "1.3.6.1.5.5.7.3.9";

    /// <summary>Default for <c>--months</c>: short-lived responder certificates (30–90 days is the usual profile).</summary>
    public const int DefaultValidityMonths = 3;

    /// <summary>The lifetime action's e-mail: this many days before expiry.</summary>
    public const int EmailDaysBeforeExpiry = 30;

    public static CertificateClient CreateClient(Uri vault, TokenCredential credential, CertificateClientOptions? options = null) =>
        new(vault, credential, options ?? new CertificateClientOptions());

    /// <summary>The responder policy for <paramref name="subject"/> (an X.500 name, e.g. "CN=Example OCSP Responder, O=Example").</summary>
    public static CertificatePolicy ResponderPolicy(string subject, ResponderKeyKind key, int validityMonths)
    {
        if (validityMonths is < 1 or > 120) throw new ArgumentException($"--months {validityMonths}: give 1 to 120 (responder certificates are short-lived: 1–3)");
        var normalized = new X500DistinguishedName(subject).Name; // refuses a malformed name before anything is sent
        var policy = new CertificatePolicy(WellKnownIssuerNames.Unknown, normalized)
        {
            Exportable = false,
            ReuseKey = false,
            ContentType = CertificateContentType.Pem,
            ValidityInMonths = validityMonths,
        };
        switch (key)
        {
            case ResponderKeyKind.EcP256:
                policy.KeyType = CertificateKeyType.EcHsm;
                policy.KeyCurveName = CertificateKeyCurveName.P256;
                break;
            case ResponderKeyKind.EcP384:
                policy.KeyType = CertificateKeyType.EcHsm;
                policy.KeyCurveName = CertificateKeyCurveName.P384;
                break;
            case ResponderKeyKind.Rsa2048:
                policy.KeyType = CertificateKeyType.RsaHsm;
                policy.KeySize = 2048;
                break;
            case ResponderKeyKind.Rsa3072:
                policy.KeyType = CertificateKeyType.RsaHsm;
                policy.KeySize = 3072;
                break;
        }
        policy.KeyUsage.Add(CertificateKeyUsage.DigitalSignature);
        policy.EnhancedKeyUsage.Add(OcspSigningEku);
        policy.LifetimeActions.Add(new LifetimeAction(CertificatePolicyAction.EmailContacts) { DaysBeforeExpiry = EmailDaysBeforeExpiry });
        return policy;
    }

    /// <summary>ec-p256, ec-p384, rsa-2048, rsa-3072.</summary>
    public static ResponderKeyKind ParseKey(string value) => value.ToLowerInvariant() switch
    {
        "ec-p256" => ResponderKeyKind.EcP256,
        "ec-p384" => ResponderKeyKind.EcP384,
        "rsa-2048" => ResponderKeyKind.Rsa2048,
        "rsa-3072" => ResponderKeyKind.Rsa3072,
        _ => throw new ArgumentException($"--key {value}: use ec-p256, ec-p384, rsa-2048 or rsa-3072"),
    };

    /// <summary>Starts the certificate (or its new version) and returns the pending operation's CSR (DER).</summary>
    public async Task<byte[]> RequestAsync(string name, CertificatePolicy policy, CancellationToken cancellationToken)
    {
        CertificateOperation operation;
        try
        {
            operation = await client.StartCreateCertificateAsync(name, policy, enabled: true, tags: null, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            throw Failure($"creating certificate '{name}'", e);
        }
        catch (global::Azure.Identity.AuthenticationFailedException e)
        {
            throw new KeyVaultException($"Key Vault creating certificate '{name}': no token ({FirstLine(e.Message)}); sign in (az login) or check the managed identity", inner: e);
        }
        return operation.Properties.Csr is { Length: > 0 } csr
            ? csr
            : throw new KeyVaultException($"Key Vault certificate '{name}': the pending operation has no CSR (is the policy's issuer 'Unknown'?)");
    }

    /// <summary>The CSR of the request still pending for <paramref name="name"/> (to write it again).</summary>
    public async Task<byte[]> PendingCsrAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var operation = await client.GetCertificateOperationAsync(name, cancellationToken).ConfigureAwait(false);
            return operation.Properties.Csr ?? throw new KeyVaultException($"Key Vault certificate '{name}': the pending operation has no CSR");
        }
        catch (RequestFailedException e)
        {
            throw Failure($"reading the pending request of '{name}'", e);
        }
        catch (global::Azure.Identity.AuthenticationFailedException e)
        {
            throw new KeyVaultException($"Key Vault reading the pending request of '{name}': no token ({FirstLine(e.Message)}); sign in (az login) or check the managed identity", inner: e);
        }
    }

    /// <summary>Merges the CA's certificate (and any chain after it) into the pending request; returns the new version.</summary>
    public async Task<KeyVaultCertificateWithPolicy> MergeAsync(string name, IReadOnlyList<X509Certificate2> chain, CancellationToken cancellationToken)
    {
        if (chain.Count == 0) throw new ArgumentException("--cert: the file holds no certificate");
        var certificate = chain[0];
        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault();
        if (eku is null || !eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(o => o.Value == OcspSigningEku))
            throw new ArgumentException($"--cert '{certificate.Subject}' has no id-kp-OCSPSigning extended key usage: it cannot sign OCSP responses (RFC 6960 §4.2.2.2)");
        try
        {
            var merged = await client.MergeCertificateAsync(new MergeCertificateOptions(name, chain.Select(c => c.RawData)), cancellationToken).ConfigureAwait(false);
            return merged.Value;
        }
        catch (RequestFailedException e)
        {
            throw Failure($"merging into certificate '{name}'", e);
        }
        catch (global::Azure.Identity.AuthenticationFailedException e)
        {
            throw new KeyVaultException($"Key Vault merging into certificate '{name}': no token ({FirstLine(e.Message)}); sign in (az login) or check the managed identity", inner: e);
        }
    }

    /// <summary>
    /// The newest enabled version (by creation time) holding a certificate valid now; a newer one not yet valid is passed
    /// over (its responses would be signed by a certificate clients refuse) and so is an expired one. Throws when none is usable.
    /// </summary>
    public async Task<ResponderCertificateVersion> LoadNewestAsync(string name, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var candidates = new List<CertificateProperties>();
        int disabled = 0;
        try
        {
            await foreach (var version in client.GetPropertiesOfCertificateVersionsAsync(name, cancellationToken).ConfigureAwait(false))
            {
                if (version.Enabled == true) candidates.Add(version);
                else disabled++;
            }
        }
        catch (RequestFailedException e)
        {
            throw Failure($"listing the versions of certificate '{name}'", e);
        }
        catch (global::Azure.Identity.AuthenticationFailedException e)
        {
            throw new KeyVaultException($"Key Vault listing the versions of certificate '{name}': no token ({FirstLine(e.Message)}); sign in (az login) or check the managed identity", inner: e);
        }
        var skipped = new List<string>();
        foreach (var properties in candidates.OrderByDescending(v => v.CreatedOn ?? DateTimeOffset.MinValue))
        {
            KeyVaultCertificate bundle;
            try
            {
                bundle = (await client.GetCertificateVersionAsync(name, properties.Version, cancellationToken).ConfigureAwait(false)).Value;
            }
            catch (RequestFailedException e)
            {
                throw Failure($"reading certificate '{name}' version {properties.Version}", e);
            }
            catch (global::Azure.Identity.AuthenticationFailedException e)
            {
                throw new KeyVaultException($"Key Vault reading certificate '{name}' version {properties.Version}: no token ({FirstLine(e.Message)}); sign in (az login) or check the managed identity", inner: e);
            }
            if (bundle.Cer is not { Length: > 0 } || bundle.KeyId is null)
            {
                skipped.Add($"{properties.Version}: no certificate yet (pending)");
                continue;
            }
            var certificate = X509CertificateLoader.LoadCertificate(bundle.Cer);
            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
            if (now < notBefore || now >= notAfter)
            {
                skipped.Add($"{properties.Version}: valid {notBefore:u} – {notAfter:u}");
                certificate.Dispose();
                continue;
            }
            return new ResponderCertificateVersion(certificate, bundle.KeyId.ToString(), bundle.Id.ToString(), properties.Version);
        }
        throw new KeyVaultException($"Key Vault certificate '{name}' has no enabled version with a certificate valid now " +
                                    $"({candidates.Count} enabled, {disabled} disabled{(skipped.Count > 0 ? "; " + string.Join("; ", skipped) : "")}); " +
                                    "merge a new version (responder request / responder merge)");
    }

    private static KeyVaultException Failure(string what, RequestFailedException e) =>
        new($"Key Vault {what} failed: HTTP {e.Status} {e.ErrorCode}: {FirstLine(e.Message)}" + (e.Status switch
        {
            403 => " (the identity needs 'Key Vault Certificates Officer' to request and merge, 'Key Vault Certificate User' to read)",
            404 => " (no such certificate or pending request in this vault)",
            409 => " (a request is already pending: merge it, or delete it with az keyvault certificate pending delete)",
            _ => "",
        }), e.Status, e.ErrorCode, e);

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}

/// <summary>
/// A Key Vault certificate's URL: https://VAULT.vault.azure.net/certificates/NAME (no version: the refresh takes the newest
/// enabled one). A Managed HSM holds keys only, not certificates.
/// </summary>
public sealed record KeyVaultCertificateId(Uri VaultUri, string Name)
{
    public override string ToString() => new Uri(VaultUri, $"certificates/{Name}").ToString();

    public static KeyVaultCertificateId Parse(string value)
    {
        const string Form = "https://VAULT.vault.azure.net/certificates/NAME";
        if (!Uri.TryCreate(value?.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Key Vault certificate '{value}' is not an https URL ({Form})");
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            throw new ArgumentException($"Key Vault certificate '{value}' must not have a query or fragment");
        var labels = uri.Host.Split('.');
        if (labels.Length < 4 || !labels[1].Equals("vault", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException(
                $"Key Vault certificate '{value}': '{uri.Host}' is not a key vault host ({Form}; a Managed HSM holds no certificates)");
        var segments = uri.AbsolutePath.Trim('/').Split('/');
        if (segments.Length == 3)
            throw new ArgumentException($"Key Vault certificate '{value}': leave out the version — the refresh uses the newest enabled one ({Form})");
        if (segments.Length != 2 || segments[0] != "certificates" || !System.Text.RegularExpressions.Regex.IsMatch(segments[1], "^[0-9A-Za-z-]{1,127}$"))
            throw new ArgumentException($"Key Vault certificate '{value}' is not of the form {Form}");
        return new KeyVaultCertificateId(new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"), segments[1]);
    }
}
