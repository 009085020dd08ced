using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>
/// The CertID of recently answered GET paths: a client (or a CDN revalidating) asks the same URL again and again, and
/// the first CertID is all a pre-produced responder answers (RFC 5019 §2.1.1), so a repeated path skips the percent and
/// base64 decoding and the DER parse. Only paths that were answered with a response are kept, so malformed or unknown
/// requests never displace them. A small direct-mapped table keyed by the path's (randomized) string hash: a collision
/// only decodes again. Safe for concurrent use: a slot holds an immutable pair, replaced whole. The answer itself is
/// still looked up each time, with every freshness check.
/// </summary>
internal sealed class RecentGetRequests
{
    private sealed record Entry(string Path, CertId CertId);

    private const int Slots = 4096;

    private readonly Entry?[] _slots = new Entry?[Slots];

    public CertId? Find(string path)
    {
        var entry = _slots[Slot(path)];
        return entry is not null && string.Equals(entry.Path, path, StringComparison.Ordinal) ? entry.CertId : null;
    }

    public void Remember(string path, CertId certId)
    {
        int slot = Slot(path);
        if (_slots[slot] is { } entry && ReferenceEquals(entry.CertId, certId)) return;
        _slots[slot] = new Entry(path, certId);
    }

    private static int Slot(string path) => path.GetHashCode() & (Slots - 1);
}
