using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Protocol;

/// <summary>The GET form (RFC 5019 §5 / RFC 9919 §6) of an openssl-written request, as clients and proxies mangle it.</summary>
[Collection("pki")]
public sealed class GetPathTests
{
    private readonly byte[] _der;
    private readonly string _base64;
    private readonly CertId _certId;

    public GetPathTests(TestPki pki)
    {
        // An openssl request whose base64 holds '+', '/' and '=' so every escape rule is exercised (nonces are random: retry).
        for (int attempt = 0; ; attempt++)
        {
            _der = pki.MakeRequest("-issuer", pki.RsaCa.CertPath, attempt % 2 == 0 ? "-sha1" : "-sha256",
                "-cert", pki.RsaCa.Leaves[attempt % pki.RsaCa.Leaves.Count].CertPath);
            _base64 = Convert.ToBase64String(_der);
            if (_base64.Contains('+') && _base64.Contains('/') && _base64.EndsWith('=')) break;
            Assert.True(attempt < 200, "openssl never produced a request whose base64 has '+', '/' and '='");
        }
        _certId = OcspRequest.Decode(_der.AsMemory()).FirstCertId;
    }

    private void AssertDecodes(string path)
    {
        Assert.Equal(Convert.ToHexString(_der), Convert.ToHexString(OcspGetPath.Decode(path)));
        var request = OcspGetPath.DecodeRequest(path);
        Assert.Equal(_certId, request.FirstCertId);
        Assert.NotNull(request.Nonce);
    }

    public static TheoryData<int> Slashes => new() { 0, 1, 2, 3 };

    [Theory]
    [MemberData(nameof(Slashes))]
    public void Raw_base64(int slashes) => AssertDecodes(new string('/', slashes) + _base64);

    [Theory]
    [MemberData(nameof(Slashes))]
    public void Percent_encoded(int slashes)
    {
        string encoded = _base64.Replace("+", "%2B").Replace("/", "%2F").Replace("=", "%3D");
        Assert.Contains("%2B", encoded);
        Assert.Contains("%2F", encoded);
        Assert.Contains("%3D", encoded);
        AssertDecodes(new string('/', slashes) + encoded);
        AssertDecodes(new string('/', slashes) + encoded.Replace("%2B", "%2b").Replace("%2F", "%2f").Replace("%3D", "%3d"));
        AssertDecodes(new string('/', slashes) + Uri.EscapeDataString(_base64));
        Assert.Equal(Uri.EscapeDataString(_base64), OcspGetPath.Encode(_der));
        AssertDecodes(new string('/', slashes) + OcspGetPath.Encode(_der));
    }

    [Theory]
    [MemberData(nameof(Slashes))]
    public void Plus_turned_into_space(int slashes)
    {
        AssertDecodes(new string('/', slashes) + _base64.Replace('+', ' '));
        AssertDecodes(new string('/', slashes) + _base64.Replace("+", "%20"));
    }

    [Theory]
    [MemberData(nameof(Slashes))]
    public void Base64url_and_missing_padding(int slashes)
    {
        string url = _base64.Replace('+', '-').Replace('/', '_');
        AssertDecodes(new string('/', slashes) + url);
        AssertDecodes(new string('/', slashes) + url.TrimEnd('='));
        AssertDecodes(new string('/', slashes) + _base64.TrimEnd('='));
        AssertDecodes(new string('/', slashes) + Uri.EscapeDataString(_base64.TrimEnd('=')));
    }

    [Fact]
    public void Every_character_percent_encoded_and_slashes_percent_encoded()
    {
        AssertDecodes(string.Concat(_base64.Select(c => $"%{(int)c:X2}")));
        AssertDecodes("%2F%2F" + _base64);
    }

    [Fact]
    public void Every_padding_length_decodes()
    {
        // 0, 1 and 2 padding characters, with and without them.
        for (int n = 1; n <= 6; n++)
        {
            byte[] bytes = _der[..(_der.Length - n)];
            string b64 = Convert.ToBase64String(bytes);
            Assert.Equal(bytes, OcspGetPath.Decode(b64));
            Assert.Equal(bytes, OcspGetPath.Decode(b64.TrimEnd('=')));
            Assert.Equal(bytes, OcspGetPath.Decode("//" + OcspGetPath.Encode(bytes)));
        }
    }

    [Theory]
    [InlineData("!!!")]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("///")]
    [InlineData("=")]
    [InlineData("/===")]
    [InlineData("%")]
    [InlineData("%2")]
    [InlineData("%G0")]
    [InlineData("%2G")]
    [InlineData("MEIw%")]
    [InlineData("MEIw%4")]
    [InlineData("MEIw%%41")]
    [InlineData("A")]
    [InlineData("MEIwQ")]       // length % 4 == 1
    [InlineData("MEIwQDA+MDw=Q")]
    [InlineData("MEI=wQDA")]    // padding in the middle
    [InlineData("MEIw\u00e9QDA")]
    [InlineData("MEIw.QDA")]
    [InlineData("MEIw?a=b")]
    [InlineData("MEIw%00")]
    [InlineData("MEIw%C3%A9")]
    public void Garbage_is_malformed(string path)
    {
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.Decode(path));
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.DecodeRequest(path));
    }

    [Fact]
    public void Valid_base64_of_garbage_is_malformed_only_when_parsed()
    {
        Assert.Equal("hello"u8.ToArray(), OcspGetPath.Decode(Convert.ToBase64String("hello"u8)));
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.DecodeRequest(Convert.ToBase64String("hello"u8)));
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.DecodeRequest(Convert.ToBase64String([.. _der, 0x00])));
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.DecodeRequest(Convert.ToBase64String(_der[..^1])));
    }

    [Fact]
    public void Too_long_is_malformed()
    {
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.Decode(new string('A', OcspGetPath.MaxPathLength * 3 + 1)));
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.Decode(new string('A', OcspGetPath.MaxPathLength + 4)));
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.Decode(string.Concat(Enumerable.Repeat("%41", OcspGetPath.MaxPathLength + 4))));
        // Longest accepted path still decodes; its request is over the size cap, so parsing it fails cleanly.
        string longest = new('A', OcspGetPath.MaxPathLength / 4 * 4);
        Assert.Equal(longest.Length / 4 * 3, OcspGetPath.Decode(longest).Length);
        Assert.Throws<MalformedRequestException>(() => OcspGetPath.DecodeRequest(longest));
    }
}
