using System.IO.Hashing;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting;

/// <summary>
/// Recently answered requests (a GET path or a POST body) with the CertID they name and the response last served for
/// it. Clients, and a CDN revalidating, send the same request again and again, and the first CertID is all a
/// pre-produced responder answers (RFC 5019 §2.1.1): a repeated request skips the decoding and the DER parse, and the
/// source is first asked whether the last answer is still current (<see cref="IResponseSource.TryAnswerAgain"/>).
/// Only answered requests are kept, so malformed or unknown ones never displace them. A two-way set-associative table
/// keyed by a seeded hash of the request's bytes: a request pushed out only decodes again. At most <see cref="Slots"/>
/// requests of up to <see cref="MaxRequestBytes"/> and the responses they last got are held. Safe for concurrent use:
/// an entry's request and CertID never change, and its last answer is only a hint the source checks.
/// </summary>
internal sealed class RecentRequests
{
    internal sealed class Entry(bool post, byte[] request, CertId certId)
    {
        public bool Post { get; } = post;
        public byte[] Request { get; } = request;
        public CertId CertId { get; } = certId;
        public volatile CachedResponse? Answer;

        public bool Is(bool post, ReadOnlySpan<byte> request) => Post == post && request.SequenceEqual(Request);
    }

    public const int Slots = 4096;

    /// <summary>
    /// Longer requests are not kept (an RFC 5019 request's GET path or body is a few hundred bytes): with the answers they
    /// hold (which the response cache may have dropped), ~15 MB at most.
    /// </summary>
    public const int MaxRequestBytes = 1024;

    private readonly Entry?[] _slots = new Entry?[Slots];
    private readonly long _seed = Random.Shared.NextInt64();

    /// <summary>The entry of this request: a POST body (<paramref name="post"/>) or a GET path's UTF-16 bytes, never mixed.</summary>
    public Entry? Find(bool post, ReadOnlySpan<byte> request)
    {
        if (request.Length > MaxRequestBytes) return null;
        int set = Set(post, request, out _);
        if (_slots[set] is { } first && first.Is(post, request)) return first;
        return _slots[set + 1] is { } second && second.Is(post, request) ? second : null;
    }

    /// <summary>Records the answer to a request; <paramref name="found"/> is what <see cref="Find"/> returned for it.</summary>
    public void Remember(bool post, ReadOnlySpan<byte> request, Entry? found, CertId certId, CachedResponse answer)
    {
        if (found is not null && ReferenceEquals(found.CertId, certId))
        {
            if (!ReferenceEquals(found.Answer, answer)) found.Answer = answer;
            return;
        }
        if (request.Length > MaxRequestBytes) return;
        // Two ways per set: the one already holding this request (a race), an empty one, else one picked by the hash's
        // top bit — so two requests sharing a set both stay.
        int set = Set(post, request, out ulong hash);
        int way = _slots[set] is not { } first || first.Is(post, request) ? 0
            : _slots[set + 1] is not { } second || second.Is(post, request) ? 1
            : (int)(hash >> 63);
        _slots[set + way] = new Entry(post, request.ToArray(), certId) { Answer = answer };
    }

    private int Set(bool post, ReadOnlySpan<byte> request, out ulong hash)
    {
        hash = XxHash3.HashToUInt64(request, post ? ~_seed : _seed);
        return (int)(hash & (Slots / 2 - 1)) * 2;
    }
}
