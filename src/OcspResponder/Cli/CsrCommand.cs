using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Adapters.Azure.KeyVault;

namespace OcspResponder.Cli;

/// <summary>
/// A PKCS#10 request for the responder key — a local key file or a Key Vault key (signed inside the vault) — asking
/// for the delegated responder profile: EKU OCSPSigning, KeyUsage digitalSignature, id-pkix-ocsp-nocheck.
/// </summary>
public static class CsrCommand
{
    public static async Task<int> RunAsync(string? keyFile, string? keyVaultKeyId, string subject, string outPath, bool usePss,
        string? managedIdentityClientId, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if ((keyFile is null) == (keyVaultKeyId is null))
        {
            error.WriteLine("csr: give exactly one of --key FILE and --key-vault-key-id ID");
            return 2;
        }
        var name = new X500DistinguishedName(subject);
        byte[] der;
        if (keyFile is not null)
        {
            der = await ResponderCsr.CreateForKeyFileAsync(keyFile, name, usePss, cancellationToken: cancellationToken);
        }
        else
        {
            var factory = KeyVaultSignerFactory.CreateDefault(managedIdentityClientId);
            var signer = await factory.CreateAsync("csr", keyVaultKeyId, usePss, cancellationToken);
            der = await ResponderCsr.CreateAsync(signer, name, cancellationToken);
        }
        await File.WriteAllTextAsync(outPath, ResponderCsr.ToPem(der), cancellationToken);
        output.WriteLine($"wrote {outPath}: a certificate request for '{name.Name}' asking for EKU OCSPSigning, digitalSignature and ocsp-nocheck.");
        output.WriteLine("Have the CA that issues the certificates this responder answers for sign it with the same CA key (see README, section 'Responder certificate').");
        return 0;
    }
}
