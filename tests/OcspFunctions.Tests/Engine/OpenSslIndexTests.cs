using System.Diagnostics;
using System.Globalization;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

/// <summary>Parses an index.txt written by a real <c>openssl ca</c> and checks it against <c>openssl x509</c>.</summary>
public sealed class OpenSslIndexTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ocsp-openssl-ca-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RealOpenSslCaDatabase()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "ca.cnf"), """
            [ ca ]
            default_ca = test_ca

            [ test_ca ]
            dir             = .
            database        = $dir/index.txt
            new_certs_dir   = $dir/newcerts
            certificate     = $dir/ca.crt
            private_key     = $dir/ca.key
            serial          = $dir/serial
            rand_serial     = yes
            default_md      = sha256
            default_days    = 30
            policy          = policy_any
            unique_subject  = no

            [ policy_any ]
            commonName = supplied
            """);
        await File.WriteAllTextAsync(Path.Combine(_dir, "index.txt"), "");
        Directory.CreateDirectory(Path.Combine(_dir, "newcerts"));

        await OpenSsl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-subj", "/CN=Test Issuing CA", "-days", "60");
        var serials = new List<SerialNumber>();
        var expiries = new List<DateTimeOffset>();
        for (int i = 1; i <= 3; i++)
        {
            await OpenSsl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", $"leaf{i}.key",
                "-out", $"leaf{i}.csr", "-subj", $"/CN=leaf {i}");
            await OpenSsl("ca", "-config", "ca.cnf", "-batch", "-notext", "-in", $"leaf{i}.csr", "-out", $"leaf{i}.crt");
            var serialLine = (await OpenSsl("x509", "-in", $"leaf{i}.crt", "-noout", "-serial")).Trim();
            serials.Add(SerialNumber.ParseHex(serialLine["serial=".Length..]));
            var endLine = (await OpenSsl("x509", "-in", $"leaf{i}.crt", "-noout", "-enddate")).Trim();
            expiries.Add(DateTimeOffset.ParseExact(endLine["notAfter=".Length..].Replace("  ", " "), "MMM d HH:mm:ss yyyy 'GMT'",
                CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal));
        }
        var beforeRevoke = DateTimeOffset.UtcNow.AddSeconds(-2);
        await OpenSsl("ca", "-config", "ca.cnf", "-revoke", "leaf2.crt", "-crl_reason", "keyCompromise");
        await OpenSsl("ca", "-config", "ca.cnf", "-revoke", "leaf3.crt", "-crl_compromise", "20261101000000Z");
        var afterRevoke = DateTimeOffset.UtcNow.AddSeconds(2);

        var content = await File.ReadAllBytesAsync(Path.Combine(_dir, "index.txt"));
        Assert.Equal(IssuedSerialsFormat.OpenSslIndex, IssuedSerialsParser.Detect(System.Text.Encoding.ASCII.GetString(content)));
        var result = IssuedSerialsParser.Parse(content, IssuedSerialsFormat.Auto, "index.txt");

        Assert.Equal(serials.Order(), result.Serials.Keys.Order());
        for (int i = 0; i < 3; i++) Assert.Equal(expiries[i], result.Serials[serials[i]]);

        Assert.Equal(2, result.Revocations.Count);
        var keyCompromise = Assert.Single(result.Revocations, r => r.Serial == serials[1]);
        Assert.Equal(RevocationReason.KeyCompromise, keyCompromise.Reason);
        Assert.InRange(keyCompromise.RevocationTime, beforeRevoke, afterRevoke);
        var keyTime = Assert.Single(result.Revocations, r => r.Serial == serials[2]);
        Assert.Equal(RevocationReason.KeyCompromise, keyTime.Reason);
        Assert.DoesNotContain(result.Revocations, r => r.Serial == serials[0]);
    }

    private async Task<string> OpenSsl(params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', args)} failed: {await stderr}");
        return await stdout;
    }
}
