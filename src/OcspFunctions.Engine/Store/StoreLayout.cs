using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>
/// Where things live in the store. A response is addressed straight from a request's CertID, no scan and no
/// issuer lookup needed:
/// <code>
/// responses/{sha1|sha256|…}/{issuerKeyHash in that algorithm, hex}/{serial hex}   DER OCSPResponse
/// issuers/{issuer id}/manifest.json    last run, CRL numbers, counts, errors
/// issuers/{issuer id}/index.tsv        one line per serial with a response: status and times
/// locks/refresh                        the refresh lease
/// </code>
/// The issuer id is the hex SHA-1 of the CA's subjectPublicKey (its usual key identifier).
/// </summary>
public static class StoreLayout
{
    public const string RefreshLock = "locks/refresh";

    public static string Response(CertIdHashAlgorithm algorithm, ReadOnlySpan<byte> issuerKeyHash, SerialNumber serial) =>
        $"responses/{algorithm.Name()}/{Convert.ToHexString(issuerKeyHash)}/{serial}";

    public static string Response(CertId certId) => Response(certId.HashAlgorithm, certId.IssuerKeyHash, certId.SerialNumber);

    public static string Manifest(string issuerId) => $"issuers/{issuerId}/manifest.json";

    public static string Index(string issuerId) => $"issuers/{issuerId}/index.tsv";
}
