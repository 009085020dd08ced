using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// The cost of building a signed OCSP response relative to the bare signature primitive over a buffer of the
/// same size as the ResponseData. Ratio = BuildAndSign (or BuildAndSignStoredForm, the refresh's per-response work) time /
/// BareSign time; the target is ≤ 1.176 (≥ 85 % of the rate).
/// </summary>
[MemoryDiagnoser]
public class ResponseSignBenchmark
{
    private AsymmetricAlgorithm _key = null!;
    private LocalKeySigner _signer = null!;
    private OcspResponseWriter _writer = null!;
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _responder = null!;
    private SingleResponse[] _responses = null!;
    private DateTimeOffset _producedAt;
    private byte[] _data = null!;

    [Params("P-256", "RSA-2048")]
    public string Key { get; set; } = "P-256";

    [GlobalSetup]
    public void Setup()
    {
        using var caKey = TestPki.CreateKey(Key);
        _ca = TestPki.CreateCa(caKey);
        _key = TestPki.CreateKey(Key);
        _responder = TestPki.CreateResponder(_ca, _key);
        _signer = LocalKeySigner.FromKey(_key);          // same key object as BareSign uses
        _writer = new OcspResponseWriter(_responder, _signer);

        var issuer = new OcspIssuer(_ca);
        var serial = new byte[16];
        TestPki.FillSerial(serial, new Random(7));
        var now = DateTimeOffset.UtcNow;
        _producedAt = now;
        _responses = [new SingleResponse(issuer.CertIdFor(SerialNumber.FromMagnitude(serial), CertIdHashAlgorithm.Sha1),
            CertStatus.Good, now, now.AddDays(7))];

        // BareSign signs random bytes of exactly the ResponseData size.
        int tbsLength = _writer.EncodeResponseData(_responses, _producedAt).Length;
        _data = new byte[tbsLength];
        new Random(1).NextBytes(_data);
        byte[] response = BuildAndSign();
        Console.WriteLine($"// {Key}: ResponseData {tbsLength} bytes, full OCSPResponse {response.Length} bytes");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _signer.Dispose();
        _ca.Dispose();
        _responder.Dispose();
    }

    [Benchmark(Baseline = true)]
    public byte[] BareSign() => _key switch
    {
        ECDsa ec => ec.SignData(_data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.SignData(_data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>A complete OCSPResponse, responder certificate included (what a server sends).</summary>
    [Benchmark]
    public byte[] BuildAndSign() => _writer.WriteAsync(_responses, _producedAt).GetAwaiter().GetResult();

    /// <summary>The stored form, BasicOCSPResponse without certs: what the refresh builds and stores per response.</summary>
    [Benchmark]
    public byte[] BuildAndSignStoredForm() => _writer.WriteStoredFormAsync(_responses, _producedAt).GetAwaiter().GetResult();
}
