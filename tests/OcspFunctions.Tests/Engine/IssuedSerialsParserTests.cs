using System.Text;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

public class IssuedSerialsParserTests
{
    private static SerialNumber S(string hex) => SerialNumber.ParseHex(hex);

    private static IssuedSerials Text(string text) => IssuedSerialsParser.ParseText(text, "serials.txt");

    [Fact]
    public void Text_AcceptsCaseSeparatorsCommentsBlankLinesAndExpiry()
    {
        var result = Text(
            "# issued by Contoso Issuing CA 1\n" +
            "\n" +
            "01:AB:CD, 2027-01-31T00:00:00Z\n" +
            "  6100000002b8b4d1c1c1c6a4b0000000000002   # trailing comment\n" +
            "0a 0b 0c\t2026-06-30T12:30:00+02:00\n" +
            "0x00FF\n" +
            "   \n" +
            "7F,2028-02-29\n");

        Assert.Equal(5, result.Serials.Count);
        Assert.Equal(new DateTimeOffset(2027, 1, 31, 0, 0, 0, TimeSpan.Zero), result.Serials[S("01ABCD")]);
        Assert.Null(result.Serials[S("6100000002B8B4D1C1C1C6A4B0000000000002")]);
        Assert.Equal(new DateTimeOffset(2026, 6, 30, 10, 30, 0, TimeSpan.Zero), result.Serials[S("0A0B0C")]);
        Assert.Equal(TimeSpan.Zero, result.Serials[S("0A0B0C")]!.Value.Offset);
        Assert.True(result.Serials.ContainsKey(S("FF")));
        Assert.Equal(new DateTimeOffset(2028, 2, 29, 0, 0, 0, TimeSpan.Zero), result.Serials[S("7F")]);
        Assert.Empty(result.Revocations);
    }

    /// <summary>A large list: every serial, in file order, and the right line numbers.</summary>
    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void Text_LargeListKeepsEverySerialAndTheFirstBadLinesNumber(string newline)
    {
        const int lines = 60_000; // ~2.4 MB
        var sb = new StringBuilder("# big list").Append(newline);
        for (int i = 1; i < lines; i++) sb.Append($"{i:X8}{i:X8},2030-01-{1 + i % 28:D2}T00:00:00Z").Append(newline);
        string text = sb.ToString();
        Assert.True(text.Length > 2 << 20);

        var result = Text(text);
        Assert.Equal(lines - 1, result.Serials.Count);
        Assert.Equal(Enumerable.Range(1, lines - 1).Select(i => S($"{i:X8}{i:X8}")), result.Serials.Keys);
        Assert.Equal(new DateTimeOffset(2030, 1, 1 + 59_999 % 28, 0, 0, 0, TimeSpan.Zero), result.Serials[S($"{59_999:X8}{59_999:X8}")]);

        foreach (int bad in new[] { 2, lines / 2 + 7, lines - 1 })
        {
            var broken = text.Split(newline);
            broken[bad - 1] = "ZZ";
            var e = Assert.Throws<SourceException>(() => Text(string.Join(newline, broken)));
            Assert.StartsWith($"serials.txt line {bad}: 'ZZ'", e.Message);
        }
        // Two bad lines: the first one in the file is reported.
        var twice = text.Split(newline);
        twice[lines - 2] = "bad-late";
        twice[9] = "bad-early";
        Assert.StartsWith("serials.txt line 10: ", Assert.Throws<SourceException>(() => Text(string.Join(newline, twice))).Message);
    }

    /// <summary>
    /// Repeats far apart in a large list: the serial keeps its first place, the last known expiry wins, and a later line
    /// without one does not erase it.
    /// </summary>
    [Fact]
    public void Text_RepeatsFarApartKeepFirstPlaceAndLastKnownExpiry()
    {
        const int lines = 60_000;
        var sb = new StringBuilder("0A,2030-01-01T00:00:00Z\n0B\n");
        for (int i = 1; i < lines; i++) sb.Append($"{i:X8}{i:X8}\n");
        sb.Append("0A\n0B,2031-01-01T00:00:00Z\n0C\n");
        for (int i = 1; i < lines; i++) sb.Append($"{i:X8}{i:X8},2030-01-{1 + i % 28:D2}T00:00:00Z\n");
        sb.Append("0A,2032-01-01T00:00:00Z\n0B\n0C\n");
        var result = Text(sb.ToString());

        Assert.Equal(lines + 2, result.Serials.Count);
        Assert.Equal(new[] { S("0A"), S("0B") }.Concat(Enumerable.Range(1, lines - 1).Select(i => S($"{i:X8}{i:X8}"))).Append(S("0C")), result.Serials.Keys);
        Assert.Equal(new DateTimeOffset(2032, 1, 1, 0, 0, 0, TimeSpan.Zero), result.Serials[S("0A")]);
        Assert.Equal(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero), result.Serials[S("0B")]);
        Assert.Null(result.Serials[S("0C")]);
        Assert.Equal(new DateTimeOffset(2030, 1, 1 + 77 % 28, 0, 0, 0, TimeSpan.Zero), result.Serials[S($"{77:X8}{77:X8}")]);
    }

    /// <summary>
    /// A UTF-8 Text list is parsed from its bytes, without a string of the whole file: every input reads as the string path
    /// reads it — same serials in the same order, same expiries, same error on the same line.
    /// </summary>
    [Theory]
    [InlineData("01:AB, 2027-01-31T00:00:00Z\n0x00FF\n")]
    [InlineData("\uFEFF# with a BOM\n01\r\n02\r03")]
    [InlineData("# café, naïve — non-ASCII comments\n01 # ünïcode\u2028 02\n\u00A001AB\u3000, 2027-01-31\n")]
    [InlineData("01\n\n   \n02 # \f 03\r\n04\u00850B\n")]
    [InlineData("01\n02,notadate\n")]
    [InlineData("01\n\u00E9\n")]
    [InlineData("  \n\n")]
    [InlineData("")]
    [InlineData("V\tnot index: a Text list whose first line starts so\n")]
    public void Text_FromUtf8BytesReadsAsTheStringPath(string text)
    {
        var bytes = text.StartsWith('\uFEFF') ? Encoding.UTF8.GetBytes(text) : new UTF8Encoding(false).GetBytes(text);
        string decoded = text.TrimStart('\uFEFF');
        Assert.Equal(Outcome(() => IssuedSerialsParser.ParseText(decoded, "serials.txt")),
            Outcome(() => IssuedSerialsParser.Parse(bytes, IssuedSerialsFormat.Text, "serials.txt")));
        if (!decoded.StartsWith('V'))
            Assert.Equal(Outcome(() => IssuedSerialsParser.ParseText(decoded, "serials.txt")),
                Outcome(() => IssuedSerialsParser.Parse(bytes, IssuedSerialsFormat.Auto, "serials.txt")));
    }

    [Fact]
    public void Text_FromUtf8BytesLargeListReportsTheFirstBadLine()
    {
        var sb = new StringBuilder("# big list, é\r\n");
        for (int i = 1; i < 60_000; i++) sb.Append($"{i:X8}{i:X8},2030-01-{1 + i % 28:D2}T00:00:00Z").Append(i % 3 == 0 ? "\r\n" : i % 3 == 1 ? "\n" : "\r");
        string text = sb.ToString();
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(Outcome(() => IssuedSerialsParser.ParseText(text, "serials.txt")), Outcome(() => IssuedSerialsParser.Parse(bytes, IssuedSerialsFormat.Auto, "serials.txt")));
        var broken = text.Replace("0000EA600000EA60", "0000EA600000EA6Z", StringComparison.Ordinal).Replace("0000C3500000C350", "Z", StringComparison.Ordinal);
        var error = Outcome(() => IssuedSerialsParser.Parse(Encoding.UTF8.GetBytes(broken), IssuedSerialsFormat.Text, "serials.txt"));
        Assert.StartsWith("serials.txt line 50001: 'Z'", error);
        Assert.Equal(Outcome(() => IssuedSerialsParser.ParseText(broken, "serials.txt")), error);
    }

    /// <summary>The published Text list: in the source's order, expiries in UTC, and read back to the same serials in that order.</summary>
    [Fact]
    public void Text_WrittenListKeepsTheSourceOrderAndReadsBack()
    {
        var random = new Random(3);
        var issued = new IssuedSerials();
        for (int i = 0; i < 3_000; i++)
        {
            var bytes = new byte[1 + random.Next(i % 10 == 0 ? 40 : 20)];
            random.NextBytes(bytes);
            issued.Serials[SerialNumber.FromMagnitude(bytes)] = i % 3 == 0 ? null
                : new DateTimeOffset(2027, 1, 31, 12, 0, 0, TimeSpan.FromHours(i % 5)).AddSeconds(random.Next(100_000_000));
        }
        var expected = new StringBuilder("# issued serials (OcspFunctions publish): SERIAL[, NotAfter]\n");
        foreach (var (serial, expiry) in issued.Serials) // the source's order (issuance order: newest last)
        {
            expected.Append(serial.ToString());
            if (expiry is { } e) expected.Append(", ").Append(e.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            expected.Append('\n');
        }
        var written = IssuedSerialsText.Write(issued);
        Assert.Equal(expected.ToString(), Encoding.UTF8.GetString(written));
        var back = IssuedSerialsParser.Parse(written, IssuedSerialsFormat.Auto, "written");
        Assert.Equal(issued.Serials, back.Serials);
    }

    /// <summary>Serials and expiries in order, or the error's message.</summary>
    private static string Outcome(Func<IssuedSerials> parse)
    {
        try
        {
            return string.Join("\n", parse().Serials.Select(p => $"{p.Key} {p.Value:O}"));
        }
        catch (SourceException e)
        {
            return e.Message;
        }
    }

    /// <summary>Lines end at \r\n, \n or \r only (as TextReader.ReadLine): a U+2028 or form feed inside a comment does not start a serial.</summary>
    [Fact]
    public void Text_LinesEndOnlyAtCarriageReturnOrLineFeed()
    {
        var result = Text("01 # note\u2028 02\r03 # \f 04\r\n05 # \u0085 06\n");
        Assert.Equal([S("01"), S("03"), S("05")], result.Serials.Keys);
        var e = Assert.Throws<SourceException>(() => Text("07\n08\u2028 09\n")); // U+2028 is not a line end, nor part of a serial
        Assert.StartsWith("serials.txt line 2: ", e.Message);
    }

    /// <summary>The hand-parsed yyyy-MM-ddTHH:mm:ssZ form accepts and refuses what the general ISO 8601 path does.</summary>
    [Theory]
    [InlineData("0001-01-01T00:00:00Z", true)]
    [InlineData("9999-12-31T23:59:59Z", true)]
    [InlineData("2028-02-29T12:00:00Z", true)]
    [InlineData("2027-02-29T12:00:00Z", false)]
    [InlineData("2027-13-01T00:00:00Z", false)]
    [InlineData("2027-01-01T24:00:00Z", false)]
    [InlineData("2027-01-01T23:60:00Z", false)]
    [InlineData("2027-01-01T23:59:60Z", false)]
    [InlineData("2027-01-01T2a:00:00Z", false)]
    [InlineData("2027-01-01T+1:00:00Z", false)]
    [InlineData("0000-01-01T00:00:00Z", false)]
    public void Text_ExpiryFastPathMatchesTheGeneralParser(string expiry, bool valid)
    {
        if (valid)
        {
            var parsed = Assert.Single(Text($"0A,{expiry}\n").Serials).Value;
            Assert.Equal(DateTimeOffset.Parse(expiry, System.Globalization.CultureInfo.InvariantCulture), parsed);
            Assert.Equal(TimeSpan.Zero, parsed!.Value.Offset);
        }
        else
        {
            Assert.Throws<SourceException>(() => Text($"0A,{expiry}\n"));
        }
    }

    [Fact]
    public void Text_ToleratesDuplicatesAndKeepsAKnownExpiry()
    {
        var result = Text("01ab, 2027-01-01T00:00:00Z\n01:AB\n0001AB\n");
        var only = Assert.Single(result.Serials);
        Assert.Equal(S("01AB"), only.Key);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), only.Value);
    }

    [Theory]
    [InlineData("01AB\n02CD\nnot-hex\n", 3, "'not-hex'")]
    [InlineData("# header\n\n01AB, 31/01/2027\n", 3, "'31/01/2027'")]
    [InlineData("01AB\r\n\r\nZZ\r\n", 3, "'ZZ'")]
    [InlineData("01AB 2027-01-31\n", 1, "'01AB 2027-01-31'")]
    [InlineData("01AB,2027-13-01T00:00:00Z\n", 1, "2027-13-01")]
    public void Text_BadLine_NamesSourceAndOneBasedLine(string text, int line, string detail)
    {
        var e = Assert.Throws<SourceException>(() => Text(text));
        Assert.StartsWith($"serials.txt line {line}: ", e.Message);
        Assert.Contains(detail, e.Message);
    }

    [Fact]
    public void Text_OnlyComments_Fails()
    {
        var e = Assert.Throws<SourceException>(() => Text("# nothing yet\n\n"));
        Assert.Contains("serials.txt", e.Message);
    }

    // What `certutil -view -restrict "Disposition=20" -out "SerialNumber,NotAfter"` prints on an en-US CA.
    private const string CertutilOutput =
        "Schema:\r\n" +
        "  Column Name                   Localized Name                Type    MaxLength\r\n" +
        "  ----------------------------  ----------------------------  ------  ---------\r\n" +
        "  SerialNumber                  Serial Number                 String  128 -- Indexed\r\n" +
        "  NotAfter                      Certificate Expiration Date   Date    8\r\n" +
        "\r\n" +
        "Row 1:\r\n" +
        "  Serial Number: \"6100000002b8b4d1c1c1c6a4b0000000000002\"\r\n" +
        "  Certificate Expiration Date: 1/31/2027 12:00 PM\r\n" +
        "\r\n" +
        "Row 2:\r\n" +
        "  Serial Number: \"61000000035d1e2f8e0c4a77e2000000000003\"\r\n" +
        "  Certificate Expiration Date: 11/5/2026 9:07 AM\r\n" +
        "\r\n" +
        "Row 3:\r\n" +
        "  Serial Number: \"1a00000004aabbccdd\"\r\n" +
        "  Certificate Expiration Date: EMPTY\r\n" +
        "\r\n" +
        "Maximum Row Index: 3\r\n" +
        "\r\n" +
        "3 Rows\r\n" +
        "   6 Row Properties, Total Size = 172, Max Size = 38, Ave Size = 28\r\n" +
        "   0 Request Attributes, Total Size = 0, Max Size = 0, Ave Size = 0\r\n" +
        "   0 Certificate Extensions, Total Size = 0, Max Size = 0, Ave Size = 0\r\n" +
        "   6 Total Fields, Total Size = 172, Max Size = 38, Ave Size = 28\r\n" +
        "CertUtil: -view command completed successfully.\r\n";

    [Fact]
    public void Certutil_WindowsPowerShellRedirect_Utf16WithBom_IsDetectedAndParsed()
    {
        // Windows PowerShell 5.1: certutil -view ... > serials.txt writes UTF-16LE with a BOM.
        var bytes = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(CertutilOutput)).ToArray();

        var result = IssuedSerialsParser.Parse(bytes, IssuedSerialsFormat.Auto, "certutil.txt");

        Assert.Equal(3, result.Serials.Count);
        Assert.Equal(new DateTimeOffset(2027, 1, 31, 12, 0, 0, TimeSpan.Zero), result.Serials[S("6100000002B8B4D1C1C1C6A4B0000000000002")]);
        Assert.Equal(new DateTimeOffset(2026, 11, 5, 9, 7, 0, TimeSpan.Zero), result.Serials[S("61000000035D1E2F8E0C4A77E2000000000003")]);
        Assert.Null(result.Serials[S("1A00000004AABBCCDD")]);
    }

    [Fact]
    public void Certutil_Utf8AndBomlessUtf16_AreParsedToo()
    {
        Assert.Equal(3, IssuedSerialsParser.Parse(Encoding.UTF8.GetBytes(CertutilOutput), IssuedSerialsFormat.Auto, "a").Serials.Count);
        Assert.Equal(3, IssuedSerialsParser.Parse(Encoding.Unicode.GetBytes(CertutilOutput), IssuedSerialsFormat.Certutil, "b").Serials.Count);
    }

    [Fact]
    public void Certutil_SerialOnlyOutput_WithoutRowHeaders()
    {
        var result = IssuedSerialsParser.ParseCertutil(new StringReader(
            "  Serial Number: \"01ab\"\n  Serial Number: \"02cd\"\n  Certificate Expiration Date: 2/3/2030 4:05 PM\n"), "c");
        Assert.Null(result.Serials[S("01AB")]);
        Assert.Equal(new DateTimeOffset(2030, 2, 3, 16, 5, 0, TimeSpan.Zero), result.Serials[S("02CD")]);
    }

    [Fact]
    public void Certutil_NoSerialLines_Fails()
    {
        var e = Assert.Throws<SourceException>(() =>
            IssuedSerialsParser.ParseCertutil(new StringReader("Schema:\n  SerialNumber   Serial Number   String\n\n0 Rows\n"), "certutil.txt"));
        Assert.Contains("certutil.txt", e.Message);
    }

    [Fact]
    public void Certutil_BadSerial_NamesLine()
    {
        var e = Assert.Throws<SourceException>(() =>
            IssuedSerialsParser.ParseCertutil(new StringReader("Row 1:\n  Serial Number: \"01ab\"\n\nRow 2:\n  Serial Number: \"xyz\"\n"), "c.txt"));
        Assert.StartsWith("c.txt line 5: ", e.Message);
    }

    [Fact]
    public void OpenSslIndex_AllStatusesAndRevocationForms()
    {
        var index = string.Join("\n",
            "V\t270131120000Z\t\t01\tunknown\t/CN=valid",
            "E\t200101000000Z\t\t02\tunknown\t/CN=expired",
            "R\t270131120000Z\t261120100000Z,keyCompromise\t0A3F\tunknown\t/CN=kc",
            "R\t270131120000Z\t261120100000Z\t0B\tunknown\t/CN=no reason",
            "R\t20510101000000Z\t261121000000Z,holdInstruction,holdInstructionReject\t0C\tunknown\t/CN=hold",
            "R\t270131120000Z\t261122000000Z,keyTime,20261101000000Z\t0D\tunknown\t/CN=keytime",
            "R\t270131120000Z\t261123000000Z,CAkeyTime,20261001000000Z\t0E\tunknown\t/CN=cakeytime",
            "R\t270131120000Z\t261124000000Z,CACompromise\t0F\tunknown\t/CN=ca",
            "R\t270131120000Z\t261125000000Z,removeFromCRL\t10\tunknown\t/CN=remove",
            "R\t270131120000Z\t261126000000Z,superseded\t11\tunknown\t/CN=superseded",
            "R\t270131120000Z\t261127000000Z,cessationOfOperation\t12\tunknown\t/CN=cessation",
            "") + "\n";

        var result = IssuedSerialsParser.Parse(Encoding.ASCII.GetBytes(index), IssuedSerialsFormat.Auto, "index.txt");

        Assert.Equal(11, result.Serials.Count);
        Assert.Equal(new DateTimeOffset(2027, 1, 31, 12, 0, 0, TimeSpan.Zero), result.Serials[S("01")]);
        Assert.Equal(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), result.Serials[S("02")]);
        Assert.Equal(new DateTimeOffset(2051, 1, 1, 0, 0, 0, TimeSpan.Zero), result.Serials[S("0C")]);

        var revocations = result.Revocations.ToDictionary(r => r.Serial);
        Assert.Equal(9, revocations.Count);
        Assert.Equal(new Revocation(S("0A3F"), new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero), RevocationReason.KeyCompromise), revocations[S("0A3F")]);
        Assert.Null(revocations[S("0B")].Reason);
        Assert.Equal(RevocationReason.CertificateHold, revocations[S("0C")].Reason);
        Assert.Equal(RevocationReason.KeyCompromise, revocations[S("0D")].Reason);
        Assert.Equal(RevocationReason.CaCompromise, revocations[S("0E")].Reason);
        Assert.Equal(RevocationReason.CaCompromise, revocations[S("0F")].Reason);
        Assert.Equal(RevocationReason.RemoveFromCrl, revocations[S("10")].Reason);
        Assert.Equal(RevocationReason.Superseded, revocations[S("11")].Reason);
        Assert.Equal(RevocationReason.CessationOfOperation, revocations[S("12")].Reason);
    }

    [Fact]
    public void OpenSslIndex_UtcTimeCenturyRule()
    {
        var result = IssuedSerialsParser.ParseOpenSslIndex(new StringReader(
            "V\t491231235959Z\t\t01\tunknown\t/CN=a\nV\t500101000000Z\t\t02\tunknown\t/CN=b\n"), "i");
        Assert.Equal(2049, result.Serials[S("01")]!.Value.Year);
        Assert.Equal(1950, result.Serials[S("02")]!.Value.Year);
    }

    [Theory]
    [InlineData("X\t270131120000Z\t\t03\tunknown\t/CN=c", "status 'X'")]
    [InlineData("V\t270131120000Z\t03\tunknown\t/CN=c", "found 5")]
    [InlineData("V\t2027-01-31\t\t03\tunknown\t/CN=c", "expiry")]
    [InlineData("V\t270131120000Z\t\t0G\tunknown\t/CN=c", "serial '0G'")]
    [InlineData("V\t270131120000Z\t\t\tunknown\t/CN=c", "serial ''")]
    [InlineData("R\t270131120000Z\t\t03\tunknown\t/CN=c", "revocation time ''")]
    [InlineData("R\t270131120000Z\t261120100000Z,stolen\t03\tunknown\t/CN=c", "'stolen'")]
    [InlineData("R\t270131120000Z\t261120100000Z,1\t03\tunknown\t/CN=c", "'1'")]
    [InlineData("R\t270131120000Z\t261120100000Z,keyTime\t03\tunknown\t/CN=c", "keyTime")]
    [InlineData("R\t270131120000Z\t261120100000Z,holdInstruction\t03\tunknown\t/CN=c", "holdInstruction")]
    public void OpenSslIndex_MalformedLine_NamesLine(string badLine, string detail)
    {
        var text = "V\t270131120000Z\t\t01\tunknown\t/CN=a\nR\t270131120000Z\t261120100000Z,superseded\t02\tunknown\t/CN=b\n" + badLine + "\n";
        var e = Assert.Throws<SourceException>(() => IssuedSerialsParser.ParseOpenSslIndex(new StringReader(text), "index.txt"));
        Assert.StartsWith("index.txt line 3: ", e.Message);
        Assert.Contains(detail, e.Message);
    }

    [Fact]
    public void WindowsDirectory_FileNamesAreSerials()
    {
        var result = IssuedSerialsParser.FromFileNames(
            ["6100000002b8b4d1c1c1c6a4b0000000000002", "1A00000004AABBCCDD", "0abc.txt", "desktop.ini", "Thumbs.db", "readme"], "C:\\Serials");

        Assert.Equal(3, result.Serials.Count);
        Assert.Contains(S("6100000002B8B4D1C1C1C6A4B0000000000002"), result.Serials.Keys);
        Assert.Contains(S("0ABC"), result.Serials.Keys);
        Assert.All(result.Serials.Values, Assert.Null);
        Assert.Equal(3, result.IgnoredNames);
    }

    [Fact]
    public void WindowsDirectory_NoValidName_Fails()
    {
        var e = Assert.Throws<SourceException>(() => IssuedSerialsParser.FromFileNames(["desktop.ini", "notes"], "C:\\Serials"));
        Assert.Contains("2 other entries", e.Message);
        Assert.Throws<SourceException>(() => IssuedSerialsParser.FromFileNames([], "C:\\Serials"));
    }

    [Theory]
    [InlineData("V\t270131120000Z\t\t01\tunknown\t/CN=a\n", IssuedSerialsFormat.OpenSslIndex)]
    [InlineData("\n\nR\t270131120000Z\t261120100000Z\t01\tunknown\t/CN=a\n", IssuedSerialsFormat.OpenSslIndex)]
    [InlineData("# V\t\n01AB\n", IssuedSerialsFormat.Text)]
    [InlineData("Row 1:\n  Serial Number: \"01ab\"\n", IssuedSerialsFormat.Certutil)]
    [InlineData("01AB\n02CD\n", IssuedSerialsFormat.Text)]
    [InlineData("E0 12\n", IssuedSerialsFormat.Text)]
    [InlineData("", IssuedSerialsFormat.Text)]
    public void Detect_FollowsTheDocumentedRules(string text, IssuedSerialsFormat expected) =>
        Assert.Equal(expected, IssuedSerialsParser.Detect(text));

    [Fact]
    public void Parse_AutoText_WithUtf8Bom()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("01AB\r\n02CD, 2027-01-31T00:00:00Z\r\n")).ToArray();
        var result = IssuedSerialsParser.Parse(bytes, IssuedSerialsFormat.Auto, "s");
        Assert.Equal([S("01AB"), S("02CD")], result.Serials.Keys.Order());
    }

    [Fact]
    public void Parse_WindowsDirectoryFormatForContent_IsAnArgumentError() =>
        Assert.Throws<ArgumentException>(() => IssuedSerialsParser.Parse([0x30], IssuedSerialsFormat.WindowsDirectory, "s"));
}
