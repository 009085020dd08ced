using OcspFunctions.Adapters.Azure;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;

namespace OcspFunctions.Hosting;

/// <summary>
/// The registered adapters: a new store or signer is its adapter plus one line here. Order matters where several
/// could be selected: a Blob setting wins over Store:Path (as before adapters owned their settings).
/// </summary>
public static class Registrations
{
    public static IReadOnlyList<IStoreAdapter> Stores { get; } = [new BlobStoreAdapter(), new FileSystemStoreAdapter()];

    public static IReadOnlyList<ISignerAdapter> Signers { get; } = [new LocalKeySignerAdapter(), new KeyVaultSignerAdapter()];
}
