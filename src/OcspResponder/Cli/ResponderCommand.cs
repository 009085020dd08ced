using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Azure.Identity;
using Azure.Security.KeyVault.Certificates;
using OcspFunctions.Adapters.Azure.KeyVault;

namespace OcspResponder.Cli;

/// <summary>
/// <c>responder request</c> / <c>responder merge</c>: the responder certificate as a Key Vault certificate. Request
/// creates the certificate (or a new version of it) with an HSM, non-exportable key and the responder policy, and writes
/// the CSR for the CA; merge completes it with the certificate the CA issued. The refresh then picks the new version
/// (Responder:KeyVaultCertificate).
/// </summary>
public static class ResponderCommand
{
    /// <summary>The <c>responder</c> verb with its two sub-verbs; <paramref name="guard"/> turns expected failures into exit 2.</summary>
    public static Command Create(Func<string, Func<Task<int>>, Task<int>> guard)
    {
        var vault = new Option<string>("--vault") { Description = "the vault: https://VAULT.vault.azure.net", Required = true };
        var name = new Option<string>("--name") { Description = "the certificate's name in the vault", Required = true };
        var identity = new Option<string?>("--managed-identity-client-id") { Description = "a user-assigned identity (else DefaultAzureCredential)" };

        var subject = new Option<string>("--subject") { Description = "the responder's subject, e.g. \"CN=Example OCSP Responder, O=Example\"", Required = true };
        var key = new Option<string>("--key") { Description = "ec-p256 (default), ec-p384, rsa-2048 or rsa-3072; always an HSM key that cannot be exported", DefaultValueFactory = _ => "ec-p256" };
        var months = new Option<int>("--months") { Description = "validity the policy asks for (the CA decides)", DefaultValueFactory = _ => KeyVaultResponderCertificates.DefaultValidityMonths };
        var output = new Option<FileInfo?>("--out") { Description = "where to write the PEM CSR (default NAME.csr)" };
        var request = new Command("request", "Create the responder certificate (or its next version) in Key Vault and write the CSR for the CA")
            { vault, name, subject, key, months, output, identity };
        request.SetAction((parse, ct) => guard("responder request", () => RequestAsync(
            Client(parse.GetValue(vault)!, parse.GetValue(identity)), parse.GetValue(name)!, parse.GetValue(subject)!, parse.GetValue(key)!,
            parse.GetValue(months), parse.GetValue(output)?.FullName ?? Path.GetFullPath(parse.GetValue(name) + ".csr"), Console.Out, ct)));

        var cert = new Option<FileInfo>("--cert") { Description = "the certificate the CA issued (PEM or DER; a PEM chain may follow it)", Required = true };
        var merge = new Command("merge", "Complete the pending request with the certificate the CA issued") { vault, name, cert, identity };
        merge.SetAction((parse, ct) => guard("responder merge", () => MergeAsync(
            Client(parse.GetValue(vault)!, parse.GetValue(identity)), parse.GetValue(name)!, parse.GetValue(cert)!.FullName, Console.Out, ct)));

        return new Command("responder", "The responder certificate in Key Vault: request (CSR for the CA), then merge") { request, merge };
    }

    private static CertificateClient Client(string vault, string? managedIdentityClientId)
    {
        var id = KeyVaultCertificateId.Parse(vault.TrimEnd('/') + "/certificates/x"); // the same host rules as the setting
        return KeyVaultResponderCertificates.CreateClient(id.VaultUri,
            new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId }));
    }

    public static async Task<int> RequestAsync(CertificateClient client, string name, string subject, string key, int months, string outPath,
        TextWriter output, CancellationToken cancellationToken)
    {
        var policy = KeyVaultResponderCertificates.ResponderPolicy(subject, KeyVaultResponderCertificates.ParseKey(key), months);
        var csr = await new KeyVaultResponderCertificates(client).RequestAsync(name, policy, cancellationToken);
        await File.WriteAllTextAsync(outPath, ResponderCsr.ToPem(csr), cancellationToken);
        output.WriteLine($"requested a new version of '{name}' in {client.VaultUri} ({key}, HSM, not exportable; digitalSignature, OCSPSigning; " +
                         $"{months} months; contacts e-mailed {KeyVaultResponderCertificates.EmailDaysBeforeExpiry} days before expiry)");
        output.WriteLine($"wrote {outPath}: have the CA sign it with the responder profile (README 'Responder certificate': add ocsp-nocheck), then");
        output.WriteLine($"  responder merge --vault {client.VaultUri} --name {name} --cert responder.pem");
        return 0;
    }

    public static async Task<int> MergeAsync(CertificateClient client, string name, string certPath, TextWriter output, CancellationToken cancellationToken)
    {
        var chain = ReadChain(await File.ReadAllBytesAsync(certPath, cancellationToken));
        var merged = await new KeyVaultResponderCertificates(client).MergeAsync(name, chain, cancellationToken);
        output.WriteLine($"merged: {merged.Id} ('{chain[0].Subject}', valid {chain[0].NotBefore.ToUniversalTime():u} – {chain[0].NotAfter.ToUniversalTime():u})");
        output.WriteLine("the next refresh signs with it (Responder:KeyVaultCertificate) and re-signs every response");
        return 0;
    }

    /// <summary>PEM (one or more certificates) or one DER certificate.</summary>
    private static List<X509Certificate2> ReadChain(byte[] bytes)
    {
        string text = System.Text.Encoding.ASCII.GetString(bytes);
        if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPem(text);
            return [.. collection];
        }
        return [X509CertificateLoader.LoadCertificate(bytes)];
    }
}
