using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Engine;

/// <summary>The one way certificates (CA, responder) are read: through the source readers, PEM or DER.</summary>
public static class CertificateFiles
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

    /// <summary>Fetches a certificate from any location the readers know (file, http(s), <c>blob:</c>).</summary>
    public static async Task<X509Certificate2> LoadAsync(ISourceReader sources, string location, long maxBytes, CancellationToken cancellationToken)
    {
        var fetch = await sources.FetchAsync(location, null, maxBytes, cancellationToken).ConfigureAwait(false);
        return Load(fetch.Content ?? throw new SourceException($"{SourceSupport.Display(location)}: no content"), location);
    }
}
