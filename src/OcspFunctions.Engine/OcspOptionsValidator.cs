using OcspFunctions.Protocol;

namespace OcspFunctions.Engine;

/// <summary>Start-up validation with messages that name the setting, so a bad app setting fails loudly and early.</summary>
public static class OcspOptionsValidator
{
    /// <param name="signerSuppliesCertificate">Per issuer index: whether its signer adapter brings the responder certificate
    /// (a Key Vault certificate), so Responder:Certificate is not needed.</param>
    public static (List<string> Errors, List<string> Warnings) Validate(OcspOptions options, Func<int, bool>? signerSuppliesCertificate = null)
    {
        var (errors, warnings) = TimingPolicy.Validate(options.Timing);
        if (options.Issuers.Count == 0) errors.Add("Ocsp:Issuers is empty: configure at least one issuer");
        if (options.MaxSourceBytes <= 0) errors.Add("Ocsp:MaxSourceBytes must be positive");
        if (options.FetchTimeout <= TimeSpan.Zero) errors.Add("Ocsp:FetchTimeout must be positive");
        if (options.Timing.MaxRunTime <= TimeSpan.Zero) errors.Add("Ocsp:Timing:MaxRunTime must be positive");
        else if (options.Timing.MaxRunTime >= options.Serve.RefreshInterval)
            errors.Add($"Ocsp:Timing:MaxRunTime {options.Timing.MaxRunTime} must be below Ocsp:Serve:RefreshInterval {options.Serve.RefreshInterval} " +
                       "(the timer schedule): a run must end before the next one starts");
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < options.Issuers.Count; i++)
        {
            var issuer = options.Issuers[i];
            string at = $"Ocsp:Issuers:{i}";
            if (string.IsNullOrWhiteSpace(issuer.Name)) errors.Add($"{at}:Name is required");
            else if (!names.Add(issuer.Name)) errors.Add($"{at}:Name '{issuer.Name}' is used twice");
            if (string.IsNullOrWhiteSpace(issuer.Certificate)) errors.Add($"{at}:Certificate (the CA certificate) is required");
            bool supplied = signerSuppliesCertificate?.Invoke(i) ?? false;
            if (supplied && !string.IsNullOrWhiteSpace(issuer.Responder.Certificate))
                errors.Add($"{at}:Responder: set Certificate or KeyVaultCertificate, not both (the Key Vault certificate brings its own certificate)");
            else if (!supplied && string.IsNullOrWhiteSpace(issuer.Responder.Certificate)) errors.Add($"{at}:Responder:Certificate is required");
            // Which key signs (a key file, Key Vault…) is checked by the host against the registered signer adapters.
            foreach (var name in issuer.HashAlgorithms)
            {
                try
                {
                    CertIdHashAlgorithms.Parse(name);
                }
                catch (FormatException e)
                {
                    errors.Add($"{at}:HashAlgorithms: {e.Message}");
                }
            }
            if (issuer.MaxSerialsShrink is < 0 or > 1) errors.Add($"{at}:MaxSerialsShrink must be between 0 and 1");
            if (issuer.Crls.Count == 0 && string.IsNullOrWhiteSpace(issuer.LocalRevocations))
                warnings.Add($"{at}: no Crls and no LocalRevocations: no certificate can ever be reported revoked");
            if (string.IsNullOrWhiteSpace(issuer.IssuedSerials))
                warnings.Add($"{at}: no IssuedSerials: only revoked serials get responses (not deterministic, KB 2960124)");
        }
        return (errors, warnings);
    }
}
