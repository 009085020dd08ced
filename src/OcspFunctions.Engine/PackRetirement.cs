using OcspFunctions.Engine.Store;

namespace OcspFunctions.Engine;

/// <summary>
/// Packs no index refers to any more (all their responses re-signed or withdrawn, or left by a killed run) are retired,
/// then deleted once retired for <paramref name="retention"/>: servers still holding the previous index keep reading them
/// meanwhile. Run only after the index is stored.
/// </summary>
internal sealed class PackRetirement(IObjectStore store, TimeProvider time, TimeSpan retention)
{
    public async Task RetireAsync(string id, HashSet<string> live, IssuerManifest manifest, IssuerRefreshResult result, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var listed = await ListAsync(store, id, cancellationToken).ConfigureAwait(false);
        foreach (var pack in listed)
        {
            if (live.Contains(pack))
            {
                manifest.RetiredPacks.Remove(pack); // referred to again (a previous index write failed after retiring it)
                continue;
            }
            if (!manifest.RetiredPacks.TryGetValue(pack, out var since)) manifest.RetiredPacks[pack] = now;
            else if (now - since >= retention)
            {
                await store.DeleteAsync(StoreLayout.Pack(id, pack), cancellationToken).ConfigureAwait(false);
                manifest.RetiredPacks.Remove(pack);
                result.PacksDeleted++;
            }
        }
        foreach (var gone in manifest.RetiredPacks.Keys.Where(p => !listed.Contains(p)).ToList()) manifest.RetiredPacks.Remove(gone);
    }

    /// <summary>The names of the packs stored for an issuer.</summary>
    public static async Task<HashSet<string>> ListAsync(IObjectStore store, string id, CancellationToken cancellationToken)
    {
        string prefix = StoreLayout.Packs(id);
        var packs = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var name in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false)) packs.Add(name[prefix.Length..]);
        return packs;
    }
}
