namespace OcspFunctions.Engine.Store;

/// <summary>
/// Where things live in the store:
/// <code>
/// issuers/{issuer id}/manifest.json      last run, CRL numbers, counts, errors, retired packs
/// issuers/{issuer id}/index/{n}/{k}      index shard k of n: the serials whose hash falls in it (<see cref="IndexShards"/>),
///                                        one line each: status, times, and where its responses are
/// issuers/{issuer id}/index.tsv          the whole index in one object, as written before shards (migrated, then deleted)
/// issuers/{issuer id}/packs/{pack}       responses in their stored form (<see cref="ResponsePacks"/>), written once
/// issuers/{issuer id}/sources/{hash}     cached copy of a remote (http, Blob) source
/// locks/refresh                          the refresh lease
/// </code>
/// The issuer id is the hex SHA-1 of the CA's subjectPublicKey (its usual key identifier). A request's CertID
/// names the issuer (its key hash) and the serial; the serial's index shard, loaded by the server on first need, gives the
/// pack and byte range of that serial's responses (one per pre-signed CertID hash algorithm): no scan, one read.
/// </summary>
public static class StoreLayout
{
    public const string RefreshLock = "locks/refresh";

    public static string Manifest(string issuerId) => $"issuers/{issuerId}/manifest.json";

    /// <summary>The single index object of stores written before index shards.</summary>
    public static string Index(string issuerId) => $"issuers/{issuerId}/index.tsv";

    /// <summary>Every index shard of the issuer, whatever the count.</summary>
    public static string IndexFolder(string issuerId) => $"issuers/{issuerId}/index/";

    /// <summary>Shard <paramref name="shard"/> of an index split into <paramref name="count"/> shards.</summary>
    public static string IndexShard(string issuerId, int count, int shard) => $"issuers/{issuerId}/index/{count}/{shard}";

    /// <summary>Every shard of an index split into <paramref name="count"/> shards.</summary>
    public static string IndexShards(string issuerId, int count) => $"issuers/{issuerId}/index/{count}/";

    public static string Packs(string issuerId) => $"issuers/{issuerId}/packs/";

    public static string Pack(string issuerId, string pack) => $"issuers/{issuerId}/packs/{pack}";
}
