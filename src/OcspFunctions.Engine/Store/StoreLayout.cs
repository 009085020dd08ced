namespace OcspFunctions.Engine.Store;

/// <summary>
/// Where things live in the store:
/// <code>
/// issuers/{issuer id}/manifest.json      last run, CRL numbers, counts, errors, retired packs
/// issuers/{issuer id}/index.tsv          one line per serial: status, times, and where its responses are
/// issuers/{issuer id}/packs/{pack}       responses in their stored form (<see cref="ResponsePacks"/>), written once
/// issuers/{issuer id}/sources/{hash}     cached copy of a remote (http, Blob) source
/// locks/refresh                          the refresh lease
/// </code>
/// The issuer id is the hex SHA-1 of the CA's subjectPublicKey (its usual key identifier). A request's CertID
/// names the issuer (its key hash) and the serial; the issuer's index, held in memory by the server, gives the
/// pack and byte range of that serial's responses (one per pre-signed CertID hash algorithm): no scan, one read.
/// </summary>
public static class StoreLayout
{
    public const string RefreshLock = "locks/refresh";

    public static string Manifest(string issuerId) => $"issuers/{issuerId}/manifest.json";

    public static string Index(string issuerId) => $"issuers/{issuerId}/index.tsv";

    public static string Packs(string issuerId) => $"issuers/{issuerId}/packs/";

    public static string Pack(string issuerId, string pack) => $"issuers/{issuerId}/packs/{pack}";
}
