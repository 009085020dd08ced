using System.Buffers.Text;

namespace OcspFunctions.Protocol;

/// <summary>
/// Decodes the GET form (RFC 5019 §5 / RFC 9919 §6): <c>{url}/{url-encoding of base64 of DER}</c>, tolerating
/// what real clients and intermediaries do to it (peers.md): raw or percent-encoded base64, '+' turned into a
/// space, any number of leading slashes (Windows sends <c>//</c>), base64url, missing padding.
/// </summary>
public static class OcspGetPath
{
    /// <summary>Paths longer than this cannot hold a request under <see cref="OcspRequest.DefaultMaxLength"/>.</summary>
    public const int MaxPathLength = 3 * OcspRequest.DefaultMaxLength / 2 + 64;

    /// <summary>Returns the DER of the request. Throws <see cref="MalformedRequestException"/> for anything else.</summary>
    public static byte[] Decode(ReadOnlySpan<char> path)
    {
        if (path.Length > MaxPathLength * 3) throw new MalformedRequestException($"GET path of {path.Length} characters is too long");
        // One buffer for the base64 text and the padding re-added below; the DER is the only heap allocation.
        Span<byte> chars = path.Length <= 1024 ? stackalloc byte[path.Length + 3] : new byte[path.Length + 3];
        var alphabet = Alphabet;
        int n = 0;
        for (int i = 0; i < path.Length; i++)
        {
            int c = path[i];
            if (c == '%')
            {
                if (i + 2 >= path.Length || !char.IsAsciiHexDigit(path[i + 1]) || !char.IsAsciiHexDigit(path[i + 2]))
                    throw new MalformedRequestException("GET path has a bad percent-escape");
                c = Hex(path[i + 1]) << 4 | Hex(path[i + 2]);
                i += 2;
            }
            // Leading slashes are separators, not base64 (Windows: "GET //MEkw…", Front Door collapses them).
            if (n == 0 && c == '/') continue;
            // ' ': '+' decoded as a space by a form decoder or proxy; '-' and '_': base64url (Alphabet).
            byte b = c < alphabet.Length ? alphabet[c] : (byte)0;
            if (b == 0) throw new MalformedRequestException($"GET path has a character that is not base64: 0x{c:X2}");
            chars[n++] = b;
        }
        var text = chars[..n];
        while (!text.IsEmpty && text[^1] == '=') text = text[..^1]; // padding is optional; re-added below
        if (text.IsEmpty) throw new MalformedRequestException("GET path holds no request");
        if (text.Length % 4 == 1) throw new MalformedRequestException("GET path is not valid base64 (bad length)");
        if (text.Length > MaxPathLength) throw new MalformedRequestException("GET path is too long");

        int padded = (text.Length + 3) / 4 * 4;
        var buffer = chars[..padded];
        buffer[text.Length..].Fill((byte)'=');
        int max = Base64.GetMaxDecodedFromUtf8Length(padded);
        Span<byte> output = max <= 1024 ? stackalloc byte[max] : new byte[max];
        var status = Base64.DecodeFromUtf8(buffer, output, out _, out int written);
        if (status != System.Buffers.OperationStatus.Done || written == 0)
            throw new MalformedRequestException("GET path is not valid base64");
        return output[..written].ToArray();
    }

    /// <summary>What a path character stands for in base64 (0: not base64); the tolerated variants mapped to the standard alphabet.</summary>
    private static readonly byte[] Alphabet = BuildAlphabet();

    private static byte[] BuildAlphabet()
    {
        var map = new byte[128];
        for (int c = 0; c < map.Length; c++)
            if (char.IsAsciiLetterOrDigit((char)c) || c is '+' or '/' or '=') map[c] = (byte)c;
        map[' '] = (byte)'+';
        map['-'] = (byte)'+';
        map['_'] = (byte)'/';
        return map;
    }

    /// <summary>Decodes and parses in one step.</summary>
    public static OcspRequest DecodeRequest(ReadOnlySpan<char> path) => OcspRequest.Decode(Decode(path).AsMemory());

    /// <summary>The path segment a client appends to the AIA URL: base64, percent-encoded (RFC 5019 Appendix A).</summary>
    public static string Encode(ReadOnlySpan<byte> requestDer) => Uri.EscapeDataString(Convert.ToBase64String(requestDer));

    private static int Hex(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
