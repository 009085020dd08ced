using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Engine;

internal static class CertificateFiles
{
    /// <summary>A certificate from PEM or DER bytes, with a clear error naming the source.</summary>
    public static X509Certificate2 Load(byte[] bytes, string source)
    {
        try
        {
            if (bytes.AsSpan().IndexOf("-----BEGIN CERTIFICATE-----"u8) >= 0)
                return X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(bytes));
            return X509CertificateLoader.LoadCertificate(bytes);
        }
        catch (CryptographicException e)
        {
            throw new SourceException($"{source}: not a readable certificate ({e.Message})", e);
        }
    }
}
