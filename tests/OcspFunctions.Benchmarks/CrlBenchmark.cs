using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;

namespace OcspFunctions.Benchmarks;

/// <summary>Read + decode + verify + enumerate a 1,000,000-entry CRL. Target: ≤ 2 s per operation.</summary>
public class CrlBenchmark
{
    private CrlFiles _files = null!;
    private X509Certificate2 _ca = null!;

    [GlobalSetup]
    public void Setup()
    {
        _files = CrlFixture.Ensure(Console.Out);
        _ca = CrlFixture.LoadCa(_files);
        Console.WriteLine($"// CRL DER {new FileInfo(_files.DerPath).Length:N0} bytes, PEM {new FileInfo(_files.PemPath).Length:N0} bytes");
    }

    [GlobalCleanup]
    public void Cleanup() => _ca.Dispose();

    [Benchmark]
    public long ParseAndVerify1M() => CrlWork.ParseVerifyEnumerate(_files.DerPath, _ca);

    [Benchmark]
    public long ParseAndVerify1M_Pem() => CrlWork.ParseVerifyEnumerate(_files.PemPath, _ca);
}
