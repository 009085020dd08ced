using System.Globalization;
using System.Text;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Hosting;
using OcspFunctions.Hosting.Publishing;
using OcspFunctions.Tests.Azure;
using OcspFunctions.Tests.Pki;
using OcspResponder.Cli;

namespace OcspFunctions.Tests.Publishing;

/// <summary>
/// <c>Publish:IssuedSerials = certutil</c>: the verb runs a fake <c>certutil</c> (a shell script printing what certutil prints
/// for the documented arguments, CSV or text form, UTF-16 as on Windows) for the serials of a real openssl CA; the list
/// arrives in the Text format with expiries and the responder's refresh answers from it.
/// </summary>
[Collection("pki")]
public sealed class PublishCertutilTests(TestPki pki, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A script that records its arguments and prints <paramref name="output"/> byte for byte, exiting with <paramref name="exitCode"/>.</summary>
    private static string FakeCertutil(string directory, byte[] output, int exitCode = 0)
    {
        string data = Path.Combine(directory, "certutil-output.bin");
        File.WriteAllBytes(data, output);
        string script = Path.Combine(directory, "certutil");
        File.WriteAllText(script,
            $"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{directory}/certutil-args.txt'\ncat '{data}'\n" +
            (exitCode == 0 ? "" : $"echo 'CertUtil: -view command FAILED: 0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)' >&2\n") + $"exit {exitCode}\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    private static string Date(DateTime utc) => utc.ToString("M/d/yyyy h:mm tt", CultureInfo.InvariantCulture);

    /// <summary>certutil -view ... csv: a header of localized column names, then one quoted row per certificate.</summary>
    private static string Csv(TestCa ca) =>
        "\"Serial Number\",\"Certificate Expiration Date\"\r\n"
        + string.Concat(ca.Leaves.Select(l => $"\"{l.SerialHex.ToLowerInvariant()}\",\"{Date(l.Certificate.NotAfter.ToUniversalTime())} GMT\"\r\n"));

    /// <summary>certutil -view without csv: the schema, then "Row n:" blocks, then the totals.</summary>
    private static string TextForm(TestCa ca)
    {
        var text = new StringBuilder("Schema:\r\n  Column Name                   Localized Name                Type    MaxLength\r\n" +
                                     "  ----------------------------  ----------------------------  ------  ---------\r\n" +
                                     "  SerialNumber                  Serial Number                 String  128 -- Indexed\r\n" +
                                     "  NotAfter                      Certificate Expiration Date   Date    8 -- Indexed\r\n\r\n");
        int row = 0;
        foreach (var l in ca.Leaves)
            text.Append(CultureInfo.InvariantCulture, $"Row {++row}:\r\n  Serial Number: \"{l.SerialHex.ToLowerInvariant()}\"\r\n" +
                                                     $"  Certificate Expiration Date: {Date(l.Certificate.NotAfter.ToUniversalTime())} GMT\r\n\r\n");
        text.Append(CultureInfo.InvariantCulture, $"Maximum Row Index: {row}\r\n\r\n{row} Rows\r\n  {2 * row} Row Properties, Total Size = 0, Max Size = 0, Ave Size = 0\r\n");
        text.Append("CertUtil: -view command completed successfully.\r\n");
        return text.ToString();
    }

    private static byte[] Utf16(string text) => [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(text)];

    public static TheoryData<string> Forms => ["csv-utf16", "csv-utf8", "text-utf16"];

    [Theory]
    [MemberData(nameof(Forms))]
    public async Task Certutil_output_is_published_with_expiries_and_the_refresh_answers_good(string form)
    {
        var ca = pki.EcCa;
        string dir = pki.NewWorkDir("certutil-" + form);
        byte[] output = form switch
        {
            "csv-utf16" => Utf16(Csv(ca)),
            "csv-utf8" => Encoding.UTF8.GetBytes(Csv(ca)),
            _ => Utf16(TextForm(ca)),
        };
        string script = FakeCertutil(dir, output);
        // The CSV/UTF-16 case finds "certutil" on PATH, as on Windows; the others name the script.
        bool onPath = form == "csv-utf16";
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-certutil",
            onPath
                ? new { IssuedSerials = "certutil", Certutil = (object)new { Config = @"ca01.example.com\Example Issuing CA" } }
                : new { IssuedSerials = "certutil", Certutil = (object)new { Path = script, Config = @"ca01.example.com\Example Issuing CA" } }, ca);

        var text = new StringWriter();
        string? path = Environment.GetEnvironmentVariable("PATH");
        // Prepending a directory that holds only "certutil" cannot change what other tests run.
        if (onPath) Environment.SetEnvironmentVariable("PATH", dir + Path.PathSeparator + path);
        try
        {
            Assert.True(await PublishCommand.RunAsync(s.ConfigPath, false, text, text, None) == 0, text.ToString());
        }
        finally
        {
            if (onPath) Environment.SetEnvironmentVariable("PATH", path);
        }
        Assert.Equal(["-config", @"ca01.example.com\Example Issuing CA", "-view", "-gmt", "-restrict", "Disposition>=20,Disposition<=21",
            "-out", "SerialNumber,NotAfter", "csv"], await File.ReadAllLinesAsync(Path.Combine(dir, "certutil-args.txt")));

        var uploaded = IssuedSerialsParser.ParseText(await s.TextAsync("issued.txt"), "uploaded");
        Assert.Equal(ca.Leaves.Count, uploaded.Serials.Count);
        foreach (var leaf in ca.Leaves)
        {
            var expiry = uploaded.Serials[OcspFunctions.Protocol.SerialNumber.ParseHex(leaf.SerialHex)];
            var notAfter = leaf.Certificate.NotAfter.ToUniversalTime();
            Assert.Equal(new DateTimeOffset(notAfter.Year, notAfter.Month, notAfter.Day, notAfter.Hour, notAfter.Minute, 0, TimeSpan.Zero), expiry);
        }

        // No CRL published here: the refresh reads the CA's CRL from its own file, and answers from the published list.
        var config = ConfigLoader.Load(s.ConfigPath, new Dictionary<string, string?> { ["Ocsp:Issuers:0:Crls:0"] = ca.CrlPemPath });
        var refreshOut = new StringWriter();
        Assert.True(await RefreshCommand.RunAsync(Composition.Validated(config, refreshOut), false, refreshOut, refreshOut, None, terminal: false) == 0,
            refreshOut.ToString());
        Assert.Contains($"good {ca.Good.Count()}", refreshOut.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_certutil_or_a_row_without_expiry_uploads_nothing()
    {
        string dir = pki.NewWorkDir("certutil-fail");
        var s = await PublishScenario.CreateAsync(pki, azurite, "publish-certutil-fail",
            new { IssuedSerials = "certutil", Certutil = new { Path = FakeCertutil(dir, Utf16(Csv(pki.EcCa)), exitCode: 1) } });
        var text = new StringWriter();
        Assert.Equal(1, await PublishCommand.RunAsync(s.ConfigPath, false, text, text, None));
        Assert.Contains("exited with code 1: CertUtil: -view command FAILED", text.ToString(), StringComparison.Ordinal);
        Assert.Null(await s.ETagAsync("issued.txt"));

        var csv = Csv(pki.EcCa) + "\"0badc0de\",\"EMPTY\"\r\n";
        FakeCertutil(dir, Utf16(csv));
        text = new StringWriter();
        Assert.Equal(1, await PublishCommand.RunAsync(s.ConfigPath, false, text, text, None));
        Assert.Contains("'EMPTY' is not a date", text.ToString(), StringComparison.Ordinal);
        Assert.Null(await s.ETagAsync("issued.txt"));
    }

    [Fact]
    public void Certutil_output_is_read_strictly()
    {
        Assert.Contains("expected 2 fields", Assert.Throws<SourceException>(() =>
            CertutilOutput.Parse(Encoding.UTF8.GetBytes("\"Serial Number\",\"Certificate Expiration Date\"\n\"01\",\"1/31/2027 12:00 PM\",\"x\"\n"), "c")).Message,
            StringComparison.Ordinal);
        Assert.Contains("not a hexadecimal serial", Assert.Throws<SourceException>(() =>
            CertutilOutput.Parse(Encoding.UTF8.GetBytes("\"Serial Number\",\"Certificate Expiration Date\"\n\"xyz\",\"1/31/2027 12:00 PM\"\n"), "c")).Message,
            StringComparison.Ordinal);
        Assert.Contains("unbalanced quotes", Assert.Throws<SourceException>(() =>
            CertutilOutput.Parse(Encoding.UTF8.GetBytes("\"Serial Number\",\"Certificate Expiration Date\"\n\"01,\"1/31/2027 12:00 PM\n"), "c")).Message,
            StringComparison.Ordinal);
        Assert.Contains("no issued certificates", Assert.Throws<SourceException>(() =>
            CertutilOutput.Parse(Encoding.UTF8.GetBytes("\"Serial Number\",\"Certificate Expiration Date\"\n"), "c")).Message, StringComparison.Ordinal);
        Assert.Contains("has no readable 'Certificate Expiration Date'", Assert.Throws<SourceException>(() =>
            CertutilOutput.Parse(Encoding.UTF8.GetBytes("Row 1:\n  Serial Number: \"01\"\n  Certificate Expiration Date: 31.01.2027 12:00\n"), "c")).Message,
            StringComparison.Ordinal);

        // BOM-less UTF-16LE, as Out-File -Encoding Unicode can write it; GMT suffix; 24-hour form.
        var parsed = CertutilOutput.Parse(Encoding.Unicode.GetBytes("\"Serial Number\",\"Certificate Expiration Date\"\r\n\"01 ab\",\"1/31/2027 13:05 GMT\"\r\n"), "c");
        Assert.Equal(new DateTimeOffset(2027, 1, 31, 13, 5, 0, TimeSpan.Zero), parsed.Serials[OcspFunctions.Protocol.SerialNumber.ParseHex("01AB")]);
        Assert.Equal("# issued serials (OcspFunctions publish): SERIAL[, NotAfter]\n01AB, 2027-01-31T13:05:00Z\n",
            Encoding.UTF8.GetString(IssuedSerialsText.Write(parsed)));
    }
}
