using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

/// <summary>Reads published responses the way the CLI does (index, then the record in its pack), for tests.</summary>
internal static class StoredResponses
{
    /// <summary>The stored response of a serial for one CertID hash algorithm, or null when none is published.</summary>
    public static async Task<StoredResponse?> FindAsync(IObjectStore store, OcspIssuer issuer, string serialHex,
        CertIdHashAlgorithm algorithm = CertIdHashAlgorithm.Sha1) =>
        (await ResponsePacks.FindAsync(store, issuer.KeyHashHex, SerialNumber.ParseHex(serialHex), algorithm, CancellationToken.None))?.Response;

    /// <summary>The stored response written to a file under <paramref name="directory"/> (for <c>openssl ocsp -respin</c>); fails the test when absent.</summary>
    public static async Task<string> FileAsync(IObjectStore store, OcspIssuer issuer, string serialHex, string directory,
        CertIdHashAlgorithm algorithm = CertIdHashAlgorithm.Sha1)
    {
        var stored = await FindAsync(store, issuer, serialHex, algorithm);
        Assert.True(stored is not null, $"no stored {algorithm} response for serial {serialHex}");
        string dir = Path.Combine(directory, "stored-responses");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{serialHex}-{algorithm}-{Guid.NewGuid():N}.der");
        await File.WriteAllBytesAsync(path, stored.Der);
        return path;
    }
}
