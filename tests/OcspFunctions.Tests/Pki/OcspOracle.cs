using System.Globalization;
using System.Text.RegularExpressions;

namespace OcspFunctions.Tests.Pki;

/// <summary>One certificate's block of <c>openssl ocsp</c>'s summary (print_ocsp_summary).</summary>
public sealed record OpenSslStatus(string Status, string? ThisUpdate, string? NextUpdate, string? Reason, string? RevocationTime);

/// <summary>What to ask <c>openssl ocsp -respin</c> about: a certificate file or a serial, with the CertID digest.</summary>
public sealed record OcspTarget(string Label, bool IsSerial, string Digest = "sha1")
{
    public static OcspTarget Cert(string path, string digest = "sha1") => new(path, false, digest);

    public static OcspTarget Serial(string hex, string digest = "sha1") => new("0x" + hex, true, digest);

    public static OcspTarget Leaf(TestLeaf leaf, string digest = "sha1") => Cert(leaf.CertPath, digest);
}

public sealed class OpenSslOcspResult(OpenSslResult raw, IReadOnlyDictionary<string, OpenSslStatus> statuses)
{
    public OpenSslResult Raw { get; } = raw;

    public IReadOnlyDictionary<string, OpenSslStatus> Statuses { get; } = statuses;

    public bool VerifyOk => Raw.Output.Contains("Response verify OK", StringComparison.Ordinal);

    public OpenSslStatus this[string label] =>
        Statuses.TryGetValue(label, out var s) ? s : throw new Xunit.Sdk.XunitException($"openssl printed no status for {label}:\n{Raw}");

    public OpenSslStatus this[OcspTarget target] => this[target.Label];

    public override string ToString() => Raw.ToString();
}

/// <summary>Runs <c>openssl ocsp -respin</c> on a response and parses its summary.</summary>
public static partial class OcspOracle
{
    /// <summary>ASN1_GENERALIZEDTIME_print's format: <c>Nov 20 15:43:49 2010 GMT</c>, the day padded with a space.</summary>
    public static string Format(DateTimeOffset time)
    {
        var t = time.ToUniversalTime();
        return string.Create(CultureInfo.InvariantCulture, $"{t:MMM} {t.Day,2} {t:HH:mm:ss} {t.Year} GMT");
    }

    public static OpenSslOcspResult Check(TestPki pki, byte[] response, TestCa ca, IEnumerable<OcspTarget> targets,
        IEnumerable<string>? extraArguments = null, bool respText = true)
    {
        string dir = pki.NewWorkDir("resp");
        string respPath = Path.Combine(dir, "resp.der");
        File.WriteAllBytes(respPath, response);
        var args = new List<string> { "ocsp", "-respin", respPath, "-issuer", ca.CertPath, "-CAfile", ca.CertPath, "-no_nonce" };
        if (respText) args.Add("-resp_text");
        foreach (var target in targets)
        {
            args.Add("-" + target.Digest);
            args.Add(target.IsSerial ? "-serial" : "-cert");
            args.Add(target.Label);
        }
        if (extraArguments is not null) args.AddRange(extraArguments);
        var raw = OpenSsl.Run(dir, args, check: false);
        return new OpenSslOcspResult(raw, ParseSummary(raw.StdOut));
    }

    public static OpenSslOcspResult Check(TestPki pki, byte[] response, TestCa ca, params OcspTarget[] targets) =>
        Check(pki, response, ca, targets, null);

    [GeneratedRegex(@"^(?<label>\S.*): (?<status>good|revoked|unknown)$")]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"^\t(?<key>This Update|Next Update|Reason|Revocation Time): (?<value>.*)$")]
    private static partial Regex DetailLine();

    private static Dictionary<string, OpenSslStatus> ParseSummary(string stdout)
    {
        var result = new Dictionary<string, OpenSslStatus>(StringComparer.Ordinal);
        var lines = stdout.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var m = StatusLine().Match(lines[i]);
            if (!m.Success) continue;
            var details = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int j = i + 1; j < lines.Length; j++)
            {
                var d = DetailLine().Match(lines[j]);
                if (!d.Success) break;
                details[d.Groups["key"].Value] = d.Groups["value"].Value;
            }
            result[m.Groups["label"].Value] = new OpenSslStatus(m.Groups["status"].Value,
                details.GetValueOrDefault("This Update"), details.GetValueOrDefault("Next Update"),
                details.GetValueOrDefault("Reason"), details.GetValueOrDefault("Revocation Time"));
        }
        return result;
    }
}
