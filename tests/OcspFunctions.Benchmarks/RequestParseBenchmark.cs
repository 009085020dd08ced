using BenchmarkDotNet.Attributes;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks;

/// <summary>Parsing a typical request: SHA-1 CertID, 16-byte serial, 16-byte nonce (~100 bytes of DER).</summary>
[MemoryDiagnoser]
public class RequestParseBenchmark
{
    private ReadOnlyMemory<byte> _der;
    private string _getPath = "";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var nameHash = new byte[20];
        var keyHash = new byte[20];
        var serial = new byte[16];
        var nonce = new byte[16];
        random.NextBytes(nameHash);
        random.NextBytes(keyHash);
        random.NextBytes(nonce);
        TestPki.FillSerial(serial, random);
        var certId = new CertId(CertIdHashAlgorithm.Sha1, nameHash, keyHash, SerialNumber.FromMagnitude(serial));
        byte[] der = OcspRequest.Encode([certId], nonce);
        _der = der;
        // A GET path as it arrives, with the leading slash and percent-encoded base64.
        _getPath = "/" + OcspGetPath.Encode(der);

        // Sanity: both forms parse to the same request.
        var a = OcspRequest.Decode(_der);
        var b = OcspGetPath.DecodeRequest(_getPath);
        if (!a.FirstCertId.Equals(b.FirstCertId) || a.Nonce is null || !a.Nonce.AsSpan().SequenceEqual(nonce))
            throw new InvalidOperationException("request round-trip failed");
        Console.WriteLine($"// request DER: {der.Length} bytes; GET path: {_getPath.Length} chars");
    }

    [Benchmark(Description = "Decode (DER, POST body)")]
    public OcspRequest DecodeDer() => OcspRequest.Decode(_der);

    [Benchmark(Description = "DecodeRequest (GET path)")]
    public OcspRequest DecodeGetPath() => OcspGetPath.DecodeRequest(_getPath);
}
