namespace OcspFunctions.Protocol;

/// <summary>DER definite-length octets (X.690 §8.1.3, §10.1), for the few encoders that write DER straight into an array.</summary>
internal static class DerLength
{
    /// <summary>Octets the length takes: one below 128, else one more than its big-endian bytes.</summary>
    public static int Size(int length) => length < 0x80 ? 1 : length <= 0xFF ? 2 : length <= 0xFFFF ? 3 : length <= 0xFFFFFF ? 4 : 5;

    public static void Write(byte[] der, ref int pos, int length)
    {
        int size = Size(length);
        if (size == 1)
        {
            der[pos++] = (byte)length;
            return;
        }
        der[pos++] = (byte)(0x80 | (size - 1));
        for (int shift = 8 * (size - 2); shift >= 0; shift -= 8) der[pos++] = (byte)(length >> shift);
    }
}
