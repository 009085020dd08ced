using OcspFunctions.Engine.Store;

namespace OcspFunctions.Engine.Telemetry;

/// <summary>
/// The hook the <c>ocsp.refresh.backlog</c> gauge reads: serials due for signing that the last run left over. The
/// bounded-run work adds that count to <see cref="IssuerManifest"/>; until it is merged there is none to read.
/// MERGE: return the manifest's backlog field here (e.g. <c>manifest.Backlog</c>).
/// </summary>
public static class ManifestBacklog
{
    public static long? Of(IssuerManifest manifest)
    {
        _ = manifest;
        return null;
    }
}
