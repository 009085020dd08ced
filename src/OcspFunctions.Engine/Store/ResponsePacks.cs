using System.Formats.Asn1;
using System.Security.Cryptography;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>A stored response picked out of its record: the DER as served and the SingleResponse it carries.</summary>
public sealed record StoredResponse(byte[] Der, SingleResponse Single);

/// <summary>
/// Responses are stored in packs, objects written once and never modified:
/// <code>
/// header   SEQUENCE { [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }   the certs field of every response in the pack
/// record   BasicOCSPResponse without certs, one per pre-signed CertID hash algorithm, back to back
/// record   …
/// </code>
/// The issuer index holds each serial's record: pack, offset, length. A reader makes the OCSPResponse with
/// <see cref="OcspResponseWriter.Wrap"/> (the signature covers only ResponseData, so the certificates can be put back).
/// One object per 16 MiB of responses instead of one per response keeps the store's cost per response (a file create and
/// rename, a Blob PUT) out of the signing rate, and keeping the responder certificate once per pack instead of in every
/// response stores about a third of the bytes; a reader still needs one ranged read per record (and one per pack header).
/// </summary>
public static class ResponsePacks
{
    /// <summary>A new pack's name: sortable by time, unique by a random suffix (packs are never overwritten).</summary>
    public static string NewName(DateTimeOffset now) =>
        $"{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";

    /// <summary>The pack header for responses whose certs field is <paramref name="certificatesField"/> (empty for none).</summary>
    public static byte[] EncodeHeader(ReadOnlySpan<byte> certificatesField)
    {
        var w = new AsnWriter(AsnEncodingRules.DER, initialCapacity: certificatesField.Length + 8);
        w.PushSequence();
        if (!certificatesField.IsEmpty) w.WriteEncodedValue(certificatesField);
        w.PopSequence();
        return w.Encode();
    }

    /// <summary>The certs field a pack's header holds (empty for none); null when the pack is gone (retired and deleted).</summary>
    public static async Task<byte[]?> ReadHeaderAsync(IObjectStore store, string issuerId, string pack, CancellationToken cancellationToken)
    {
        string name = StoreLayout.Pack(issuerId, pack);
        // The header's tag and length first (at most 6 bytes: SEQUENCE, long-form length of up to 4 bytes), then the rest.
        var start = await store.GetRangeAsync(name, 0, 6, cancellationToken).ConfigureAwait(false);
        if (start is null) return null;
        if (start[0] != 0x30) throw new StoreException($"{name}: not a response pack (bad header)");
        long total = start[1] < 0x80 ? 2 + start[1]
            : (start[1] & 0x7F) is var n and >= 1 and <= 4 ? 2 + n + start.AsSpan(2, n).ToArray().Aggregate(0L, (v, b) => (v << 8) | b)
            : throw new StoreException($"{name}: not a response pack (bad header length)");
        if (total > 1 << 20) throw new StoreException($"{name}: pack header of {total} bytes is implausible");
        var header = total <= start.Length ? start : await store.GetRangeAsync(name, 0, (int)total, cancellationToken).ConfigureAwait(false);
        if (header is null) return null;
        try
        {
            AsnDecoder.ReadSequence(header.AsSpan(0, (int)total), AsnEncodingRules.DER, out int offset, out int length, out _);
            return header.AsSpan(offset, length).ToArray();
        }
        catch (AsnContentException e)
        {
            throw new StoreException($"{name}: not a response pack: {e.Message}", e);
        }
    }

    /// <summary>Reads the record of <paramref name="entry"/>; null when its pack is gone (retired and deleted).</summary>
    public static Task<byte[]?> ReadRecordAsync(IObjectStore store, string issuerId, IndexEntry entry, CancellationToken cancellationToken) =>
        store.GetRangeAsync(StoreLayout.Pack(issuerId, entry.Pack), entry.Offset, entry.Length, cancellationToken);

    /// <summary>
    /// The response in <paramref name="record"/> whose CertID uses <paramref name="algorithm"/>, completed with the pack's
    /// certificates, or null when that algorithm is not pre-signed. A record that is not a sequence of stored responses, or
    /// that answers for another serial than <paramref name="serial"/> (an index pointing at the wrong bytes), is a
    /// <see cref="MalformedResponseException"/>: never served.
    /// </summary>
    public static StoredResponse? Select(byte[] record, ReadOnlySpan<byte> certificatesField, CertIdHashAlgorithm algorithm, SerialNumber serial)
    {
        int position = 0;
        while (position < record.Length)
        {
            int length = StoredFormLength(record, position);
            var der = OcspResponseWriter.Wrap(record.AsSpan(position, length), certificatesField);
            position += length;
            var single = OcspResponse.Decode(der).Basic?.Responses.FirstOrDefault()
                         ?? throw new MalformedResponseException("stored response has no SingleResponse");
            if (single.CertId.SerialNumber != serial)
                throw new MalformedResponseException($"stored record answers for serial {single.CertId.SerialNumber}, not {serial}");
            if (single.CertId.HashAlgorithm == algorithm) return new StoredResponse(der, single);
        }
        return null;
    }

    /// <summary>Every response in a whole pack, completed with the pack's certificates, in order (for inspection).</summary>
    public static IEnumerable<(int Offset, byte[] Der)> Enumerate(byte[] pack)
    {
        int position;
        byte[] certificates;
        try
        {
            AsnDecoder.ReadSequence(pack, AsnEncodingRules.DER, out int offset, out int length, out position);
            certificates = pack.AsSpan(offset, length).ToArray();
        }
        catch (AsnContentException e)
        {
            throw new MalformedResponseException($"not a response pack: {e.Message}", e);
        }
        if (position == pack.Length) throw new MalformedResponseException("not a response pack: a header and no responses");
        while (position < pack.Length)
        {
            int length = StoredFormLength(pack, position);
            yield return (position, OcspResponseWriter.Wrap(pack.AsSpan(position, length), certificates));
            position += length;
        }
    }

    /// <summary>The length of the DER value at <paramref name="position"/>: records and packs are stored forms back to back.</summary>
    private static int StoredFormLength(byte[] bytes, int position)
    {
        try
        {
            AsnDecoder.ReadEncodedValue(bytes.AsSpan(position), AsnEncodingRules.DER, out _, out _, out int length);
            return length;
        }
        catch (AsnContentException e)
        {
            throw new MalformedResponseException($"not a sequence of DER responses at offset {position}: {e.Message}", e);
        }
    }

    /// <summary>The stored response for one serial and algorithm, through the serial's index shard (for the CLI; the server keeps shards in memory).</summary>
    public static async Task<(IndexEntry Entry, StoredResponse Response)?> FindAsync(IObjectStore store, string issuerId, SerialNumber serial,
        CertIdHashAlgorithm algorithm, CancellationToken cancellationToken)
    {
        if (await ShardedIndexStore.FindEntryAsync(store, issuerId, serial, cancellationToken).ConfigureAwait(false) is not { } entry) return null;
        var certificates = await ReadHeaderAsync(store, issuerId, entry.Pack, cancellationToken).ConfigureAwait(false);
        var record = certificates is null ? null : await ReadRecordAsync(store, issuerId, entry, cancellationToken).ConfigureAwait(false);
        if (record is null) throw new StoreException($"pack {entry.Pack} of issuer {issuerId} is missing although the index refers to it");
        return Select(record, certificates, algorithm, serial) is { } response ? (entry, response) : null;
    }
}

/// <summary>
/// Builds one pack (<see cref="ResponsePacks"/>) in memory, in a buffer the caller provides (and can reuse once the pack is stored: packs are large and
/// allocating one per pack would churn the large-object heap). Records are appended in order; <see cref="Content"/> is
/// what gets stored under <see cref="StoreLayout.Pack"/> with one atomic write.
/// </summary>
public sealed class ResponsePackWriter
{
    private byte[] _buffer;
    private int _length;

    /// <summary>Starts a pack with its <paramref name="header"/> (<see cref="ResponsePacks.EncodeHeader"/>) in <paramref name="buffer"/>.</summary>
    public ResponsePackWriter(string name, byte[] buffer, ReadOnlySpan<byte> header)
    {
        Name = name;
        _buffer = buffer.Length >= header.Length ? buffer : new byte[header.Length * 2];
        header.CopyTo(_buffer);
        _length = header.Length;
    }

    public string Name { get; }

    public int Length => _length;

    /// <summary>The buffer, to hand back for reuse after <see cref="Content"/> is stored (it may have grown).</summary>
    public byte[] Buffer => _buffer;

    public ReadOnlyMemory<byte> Content => _buffer.AsMemory(0, _length);

    /// <summary>Appends one serial's stored responses as one record; returns where the record is.</summary>
    public (long Offset, int Length) Append(IReadOnlyList<byte[]> responses)
    {
        int size = 0;
        foreach (var der in responses) size += der.Length;
        if (_buffer.Length - _length < size) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + size));
        int offset = _length;
        foreach (var der in responses)
        {
            der.CopyTo(_buffer, _length);
            _length += der.Length;
        }
        return (offset, size);
    }
}
