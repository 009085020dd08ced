using OcspFunctions.Engine.Sources;

namespace OcspFunctions.Hosting.Publishing;

/// <summary>
/// <c>Issuers[]:Publish</c>: the CA-side inputs the <c>publish</c> verb reads and validates before uploading them to
/// the issuer's own <c>blob:</c> locations (<c>IssuedSerials</c>, <c>Crls</c>) — the ones the responder reads.
/// </summary>
public sealed class PublishOptions
{
    /// <summary>
    /// <c>certutil</c> (the verb runs <c>certutil -view</c>), or a local path: an OpenSSL index.txt, a directory of files
    /// named by serial (KB 2960124), a Text list or saved certutil output. Uploaded to <c>Issuers[]:IssuedSerials</c>.
    /// </summary>
    public string? IssuedSerials { get; set; }

    /// <summary>The local list's format (a path only); <c>Auto</c> detects it.</summary>
    public IssuedSerialsFormat IssuedSerialsFormat { get; set; } = IssuedSerialsFormat.Auto;

    /// <summary>Full and delta CRLs (files — the ADCS CertEnroll folder — or http(s) URLs), one for each <c>blob:</c> entry of <c>Issuers[]:Crls</c>, in order.</summary>
    public List<string> Crls { get; set; } = [];

    public CertutilOptions Certutil { get; set; } = new();

    /// <summary>The value of <see cref="IssuedSerials"/> that runs certutil.</summary>
    public const string CertutilSource = "certutil";

    public bool RunsCertutil => string.Equals(IssuedSerials, CertutilSource, StringComparison.OrdinalIgnoreCase);
}

/// <summary><c>Issuers[]:Publish:Certutil</c>: how <c>certutil -view</c> is run.</summary>
public sealed class CertutilOptions
{
    /// <summary>The executable (on PATH by default).</summary>
    public string Path { get; set; } = "certutil";

    /// <summary>The <c>-config</c> argument, <c>HOST\CA Name</c>; empty = the local CA.</summary>
    public string? Config { get; set; }

    /// <summary>How long certutil may run.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);
}
