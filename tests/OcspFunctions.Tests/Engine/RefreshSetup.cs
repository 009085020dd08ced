using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>A CA workspace, its configuration and a directory store, with helpers to run the refresh and read what it published.</summary>
internal sealed class RefreshSetup
{
    public required CaWorkspace Ca { get; init; }
    public required string StoreDir { get; init; }
    public required OcspOptions Options { get; init; }
    public required FileSystemObjectStore Store { get; init; }
    public OcspIssuer Issuer => new(X509CertificateLoader.LoadCertificateFromFile(Ca.CaCertPath));

    public Task<RefreshReport> RunAsync(DateTimeOffset? now = null) => Engine(now).RunAsync(CancellationToken.None);

    public RefreshEngine Engine(DateTimeOffset? now = null) => new(Options, Store,
        new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(),
        now is { } t ? new FixedTime(t) : TimeProvider.System, NullLogger<RefreshEngine>.Instance);

    public string IssuerId => Issuer.KeyHashHex;

    public Task<StoredResponse?> FindAsync(string serialHex, CertIdHashAlgorithm algorithm = CertIdHashAlgorithm.Sha1) =>
        StoredResponses.FindAsync(Store, Issuer, serialHex, algorithm);

    /// <summary>The stored response as a file for <c>openssl ocsp -respin</c>; fails the test when there is none.</summary>
    public Task<string> ResponseFileAsync(string serialHex, CertIdHashAlgorithm algorithm = CertIdHashAlgorithm.Sha1) =>
        StoredResponses.FileAsync(Store, Issuer, serialHex, Ca.Directory, algorithm);

    public IssuerIndex Index() => ShardedIndexStore.ReadAllAsync(Store, IssuerId, CancellationToken.None).GetAwaiter().GetResult();

    public IssuerManifest Manifest() => IssuerManifest.Parse(File.ReadAllBytes(Path.Combine(StoreDir, StoreLayout.Manifest(IssuerId))), "manifest");

    public string PackPath(string pack) => Path.Combine(StoreDir, StoreLayout.Pack(IssuerId, pack));

    /// <summary>The packs stored for the issuer, by name.</summary>
    public string[] PackNames()
    {
        string dir = Path.Combine(StoreDir, StoreLayout.Packs(IssuerId));
        return Directory.Exists(dir) ? [.. Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)] : [];
    }

    /// <summary>
    /// Every stored file's bytes (index, packs) by store name, except the manifests (which record each run, errors
    /// included) and the lease file.
    /// </summary>
    public Dictionary<string, byte[]> Snapshot() => Directory.GetFiles(StoreDir, "*", SearchOption.AllDirectories)
        .Select(f => (Name: Path.GetRelativePath(StoreDir, f).Replace('\\', '/'), Path: f))
        .Where(f => !f.Name.StartsWith("locks/", StringComparison.Ordinal)
                    && !(f.Name.StartsWith("issuers/", StringComparison.Ordinal) && f.Name.EndsWith("/manifest.json", StringComparison.Ordinal)
                         && f.Name.Count(c => c == '/') == 2))
        .ToDictionary(f => f.Name, f => File.ReadAllBytes(f.Path));

    public StoreResponseSource Source(TimeSpan indexReloadInterval)
    {
        Options.Serve.IndexReloadInterval = indexReloadInterval;
        return new StoreResponseSource([Issuer], Store, Options, TimeProvider.System, NullLogger.Instance);
    }

    public static RefreshSetup Create(TestPki pki, string hint, TestCa? source = null, bool withIssuedList = true)
    {
        var ca = new CaWorkspace(pki, source ?? pki.RsaCa, hint);
        string storeDir = Path.Combine(ca.Directory, "store");
        var options = ca.Options(hint);
        if (!withIssuedList) options.Issuers[0].IssuedSerials = null;
        return new RefreshSetup { Ca = ca, StoreDir = storeDir, Options = options, Store = new FileSystemObjectStore(storeDir) };
    }

    /// <summary><c>openssl ocsp -respin</c> on a stored response: checks the signature and returns what openssl prints.</summary>
    public string OpenSslStatus(string responsePath, string serialHex)
    {
        var result = OpenSsl.Run(Ca.Directory, ["ocsp", "-respin", responsePath, "-issuer", Ca.CaCertPath, "-CAfile", Ca.CaCertPath,
            "-serial", "0x" + serialHex, "-no_nonce"], check: false);
        Assert.Contains("Response verify OK", result.Output, StringComparison.Ordinal);
        return result.StdOut;
    }
}
