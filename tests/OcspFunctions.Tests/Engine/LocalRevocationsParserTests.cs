using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Tests.Engine;

public class LocalRevocationsParserTests
{
    private static List<Revocation> Parse(string text) => LocalRevocationsParser.Parse(new StringReader(text), "local-revocations.txt");

    [Fact]
    public void ParsesSerialTimeReason_WithWhitespaceOrCommas()
    {
        var result = Parse(
            "# serial            time                    reason\n" +
            "01AB23 2026-11-20T10:00:00Z keyCompromise\n" +
            "\n" +
            "0a:0b,2026-11-21T12:00:00+01:00,SUPERSEDED   # replaced\n" +
            "\t7f\t2026-11-22T00:00:00Z\n" +
            "80 2026-11-23T00:00:00Z 9\n" +
            "81, 2026-11-24, cACompromise\n" +
            "82 2026-11-25T00:00:00.5Z aacompromise\n");

        Assert.Equal(6, result.Count);
        Assert.Equal(new Revocation(SerialNumber.ParseHex("01AB23"), new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero), RevocationReason.KeyCompromise), result[0]);
        Assert.Equal(new Revocation(SerialNumber.ParseHex("0A0B"), new DateTimeOffset(2026, 11, 21, 11, 0, 0, TimeSpan.Zero), RevocationReason.Superseded), result[1]);
        Assert.Equal(TimeSpan.Zero, result[1].RevocationTime.Offset);
        Assert.Null(result[2].Reason);
        Assert.Equal(RevocationReason.PrivilegeWithdrawn, result[3].Reason);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero), result[4].RevocationTime);
        Assert.Equal(RevocationReason.CaCompromise, result[4].Reason);
        Assert.Equal(RevocationReason.AaCompromise, result[5].Reason);
        Assert.Equal(500, result[5].RevocationTime.Millisecond);
    }

    [Fact]
    public void AllRfc5280ReasonNames()
    {
        string[] names = ["unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation",
            "certificateHold", "removeFromCRL", "privilegeWithdrawn", "aACompromise"];
        var result = Parse(string.Concat(names.Select((n, i) => $"{i + 1:X2} 2026-01-01T00:00:00Z {n}\n")));
        Assert.Equal(Enum.GetValues<RevocationReason>(), result.Select(r => r.Reason!.Value));
    }

    [Fact]
    public void EmptyOrCommentsOnly_IsEmpty() => Assert.Empty(Parse("# none\n\n   \n"));

    [Theory]
    [InlineData("01AB", "found 1 fields")]
    [InlineData("01AB 2026-11-20T10:00:00Z keyCompromise extra", "found 4 fields")]
    [InlineData("01 AB 2026-11-20T10:00:00Z", "'AB'")]
    [InlineData("XYZ 2026-11-20T10:00:00Z", "'XYZ'")]
    [InlineData("01AB 20/11/2026", "'20/11/2026'")]
    [InlineData("01AB 2026-11-20T10:00:00Z stolen", "'stolen'")]
    [InlineData("01AB 2026-11-20T10:00:00Z 7", "'7'")]
    public void BadLine_NamesLine(string badLine, string detail)
    {
        var e = Assert.Throws<SourceException>(() => Parse("# header\n01 2026-01-01T00:00:00Z\n" + badLine + "\n"));
        Assert.StartsWith("local-revocations.txt line 3: ", e.Message);
        Assert.Contains(detail, e.Message);
    }
}
