using System.Formats.Asn1;

namespace OcspFunctions.Tests.Pki;

/// <summary>Structure-aware mutations of DER (bit flips, inserts, truncations, broken tags and lengths) for property tests.</summary>
public static class DerMutator
{
    /// <summary>One to three mutations of <paramref name="input"/>, aimed partly at its real tag and length octets.</summary>
    public static byte[] Mutate(byte[] input, Random random) => Mutate(input, random, Headers(input));

    /// <summary>Offsets of every tag and length octet in a DER blob (recursing into constructed values), for targeted mutations.</summary>
    public static List<(int TagOffset, int LengthOffset, int HeaderEnd)> Headers(byte[] der)
    {
        var result = new List<(int, int, int)>();
        Walk(der, 0, der.Length);
        return result;

        void Walk(byte[] data, int start, int end)
        {
            int pos = start;
            while (pos < end)
            {
                int tagOffset = pos;
                byte tag = data[pos++];
                if ((tag & 0x1F) == 0x1F) while (data[pos++] >= 0x80) { }
                int lengthOffset = pos;
                int first = data[pos++];
                int length = first;
                if (first >= 0x80)
                {
                    length = 0;
                    for (int i = 0; i < (first & 0x7F); i++) length = length << 8 | data[pos++];
                }
                result.Add((tagOffset, lengthOffset, pos));
                if ((tag & 0x20) != 0) Walk(data, pos, pos + length);
                else if (tag == 0x04 && length > 2 && data[pos] == 0x30)
                {
                    // an OCTET STRING holding DER (extnValue): walk into it too when it parses
                    try
                    {
                        AsnDecoder.ReadEncodedValue(data.AsSpan(pos, length), AsnEncodingRules.DER, out _, out _, out int consumed);
                        if (consumed == length) Walk(data, pos, pos + length);
                    }
                    catch (AsnContentException)
                    {
                    }
                }
                pos += length;
            }
        }
    }

    public static byte[] Mutate(byte[] input, Random random, List<(int TagOffset, int LengthOffset, int HeaderEnd)> headers)
    {
        var data = new List<byte>(input);
        int rounds = random.Next(1, 4);
        for (int r = 0; r < rounds; r++)
        {
            if (data.Count == 0) data.Add((byte)random.Next(256));
            int at = random.Next(data.Count);
            switch (random.Next(12))
            {
                case 0: // bit flip
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1: // random byte
                    data[at] = (byte)random.Next(256);
                    break;
                case 2: // insert
                    data.InsertRange(at, Enumerable.Range(0, random.Next(1, 4)).Select(_ => (byte)random.Next(256)));
                    break;
                case 3: // delete
                    data.RemoveRange(at, Math.Min(random.Next(1, 4), data.Count - at));
                    break;
                case 4: // truncate
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 5: // append
                    data.AddRange(Enumerable.Range(0, random.Next(1, 8)).Select(_ => (byte)random.Next(256)));
                    break;
                case 6 or 7: // a length octet of a real TLV: random, off by one, long forms, indefinite
                {
                    if (r > 0 || headers.Count == 0) goto case 0; // offsets are only valid on the unmutated input
                    var (_, lengthOffset, _) = headers[random.Next(headers.Count)];
                    byte old = data[lengthOffset];
                    data[lengthOffset] = random.Next(6) switch
                    {
                        0 => (byte)(old + 1),
                        1 => (byte)(old - 1),
                        2 => 0x80,
                        3 => (byte)(0x81 + random.Next(8)),
                        4 => 0xFF,
                        _ => (byte)random.Next(256),
                    };
                    break;
                }
                case 8: // a tag octet of a real TLV
                {
                    if (r > 0 || headers.Count == 0) goto case 1;
                    var (tagOffset, _, _) = headers[random.Next(headers.Count)];
                    data[tagOffset] = random.Next(3) switch
                    {
                        0 => (byte)(data[tagOffset] ^ 0x20),     // primitive <-> constructed
                        1 => (byte)(data[tagOffset] ^ 0x80),     // class
                        _ => (byte)random.Next(256),
                    };
                    break;
                }
                case 9: // duplicate a slice
                {
                    int len = random.Next(1, Math.Min(40, data.Count - at) + 1);
                    data.InsertRange(random.Next(data.Count + 1), data.GetRange(at, len));
                    break;
                }
                case 10: // wholly random bytes, random length
                {
                    int len = random.Next(0, 300);
                    data.Clear();
                    data.AddRange(Enumerable.Range(0, len).Select(_ => (byte)random.Next(256)));
                    if (len > 0 && random.Next(2) == 0) data[0] = 0x30;
                    break;
                }
                default: // zero a run
                {
                    int len = Math.Min(random.Next(1, 8), data.Count - at);
                    for (int i = 0; i < len; i++) data[at + i] = 0;
                    break;
                }
            }
        }
        return [.. data];
    }}
