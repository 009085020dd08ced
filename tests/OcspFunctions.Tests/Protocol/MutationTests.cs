using System.Formats.Asn1;
using System.Text;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Protocol;

/// <summary>
/// Property tests with fixed seeds: mutated requests (DER and GET path) either decode or throw exactly
/// <see cref="MalformedRequestException"/>. Any other exception is a bug in the reader; the failure names the input.
/// </summary>
[Collection("pki")]
public sealed class MutationTests
{
    private const int Iterations = 5_000;

    private readonly List<byte[]> _seeds;

    public MutationTests(TestPki pki)
    {
        var rsa = pki.RsaCa;
        var ec = pki.EcCa;
        _seeds =
        [
            pki.MakeRequest("-issuer", rsa.CertPath, "-cert", rsa.Leaves[0].CertPath, "-no_nonce"),
            pki.MakeRequest("-issuer", ec.CertPath, "-cert", ec.Leaves[0].CertPath),
            pki.MakeRequest("-issuer", rsa.CertPath, "-sha256", "-cert", rsa.Leaves[1].CertPath, "-cert", rsa.Leaves[2].CertPath),
            pki.MakeRequest("-issuer", ec.CertPath, "-cert", ec.Leaves[1].CertPath, "-signer", ec.ResponderCertPath, "-signkey", ec.ResponderKeyPath),
            OcspRequest.Encode([new OcspIssuer(ec.Certificate).CertIdFor(SerialNumber.ParseHex("01"), CertIdHashAlgorithm.Sha512)], [0x04, 0x01]),
        ];
        foreach (var seed in _seeds) OcspRequest.Decode(seed.AsMemory()); // every seed is valid to start with
    }



    private static bool TryDecode(byte[] input, string what, out OcspRequest? request)
    {
        request = null;
        try
        {
            request = OcspRequest.Decode(input.AsMemory());
            return true;
        }
        catch (MalformedRequestException)
        {
            return false;
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{what}: {e.GetType().FullName} instead of MalformedRequestException for input\n" +
                $"{Convert.ToHexString(input)}\n{e}");
        }
    }

    private static void AssertSane(OcspRequest request, byte[] input)
    {
        string hex = Convert.ToHexString(input);
        Assert.True(request.Requests.Count >= 1, hex);
        Assert.True(request.Nonce is null || request.Nonce.Length is >= 1 and <= OcspRequest.MaxNonceLength, hex);
        foreach (var r in request.Requests)
        {
            Assert.False(r.CertId.SerialNumber.IsDefault, hex);
            Assert.True(r.CertId.SerialNumber.Bytes.Length >= 1, hex);
            Assert.True(r.CertId.SerialNumber.Bytes.Length == 1 || r.CertId.SerialNumber.Bytes[0] != 0, hex);
        }
    }

    [Fact]
    public void Mutated_der_requests_decode_or_are_malformed()
    {
        var random = new Random(20240611);
        var headers = _seeds.Select(DerMutator.Headers).ToList();
        int accepted = 0;
        for (int i = 0; i < Iterations; i++)
        {
            int s = random.Next(_seeds.Count);
            byte[] input = DerMutator.Mutate(_seeds[s], random, headers[s]);
            if (TryDecode(input, $"iteration {i}", out var request))
            {
                accepted++;
                AssertSane(request!, input);
            }
        }
        // Both outcomes must occur, or the mutations are not probing anything.
        Assert.InRange(accepted, Iterations / 100, Iterations - Iterations / 10);
    }

    [Fact]
    public void Random_bytes_and_random_lengths_are_malformed()
    {
        var random = new Random(7);
        for (int i = 0; i < Iterations; i++)
        {
            int length = random.Next(4) switch
            {
                0 => random.Next(0, 8),
                1 => random.Next(0, 200),
                2 => random.Next(9_990, 10_010),
                _ => random.Next(0, 3_000),
            };
            var input = new byte[length];
            random.NextBytes(input);
            if (length > 0 && random.Next(2) == 0) input[0] = 0x30;
            if (length > 1 && random.Next(2) == 0) input[1] = (byte)(0x80 | random.Next(0, 6));
            TryDecode(input, $"random {i}", out _);
        }
    }

    [Fact]
    public void Every_truncation_and_every_single_bit_flip_of_each_seed()
    {
        foreach (var seed in _seeds)
        {
            for (int n = 0; n < seed.Length; n++)
                Assert.False(TryDecode(seed[..n], $"truncation to {n}", out _), $"truncation to {n} accepted: {Convert.ToHexString(seed[..n])}");
            for (int bit = 0; bit < seed.Length * 8; bit++)
            {
                byte[] input = (byte[])seed.Clone();
                input[bit / 8] ^= (byte)(0x80 >> (bit % 8));
                if (TryDecode(input, $"bit {bit}", out var request)) AssertSane(request!, input);
            }
        }
    }

    private const string PathAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_% ";

    private static string MutatePath(string path, Random random)
    {
        var sb = new StringBuilder(path);
        int rounds = random.Next(1, 4);
        for (int r = 0; r < rounds; r++)
        {
            if (sb.Length == 0) sb.Append('A');
            int at = random.Next(sb.Length);
            switch (random.Next(10))
            {
                case 0: sb[at] = PathAlphabet[random.Next(PathAlphabet.Length)]; break;
                case 1: sb.Insert(at, PathAlphabet[random.Next(PathAlphabet.Length)]); break;
                case 2: sb.Remove(at, Math.Min(random.Next(1, 4), sb.Length - at)); break;
                case 3: sb.Length = at; break;
                case 4: sb.Insert(at, $"%{random.Next(256):X2}"); break;
                case 5: sb.Insert(at, "%" + PathAlphabet[random.Next(PathAlphabet.Length)] + PathAlphabet[random.Next(PathAlphabet.Length)]); break;
                case 6: sb[at] = (char)random.Next(0, 0x10000); break;              // any UTF-16 unit, surrogates included
                case 7: sb.Insert(0, new string('/', random.Next(1, 4))); break;
                case 8: sb[at] = char.IsUpper(sb[at]) ? char.ToLowerInvariant(sb[at]) : char.ToUpperInvariant(sb[at]); break;
                default: sb.Append('=', random.Next(1, 4)); break;
            }
        }
        return sb.ToString();
    }

    private static bool TryDecodePath(string path, string what)
    {
        try
        {
            var request = OcspGetPath.DecodeRequest(path);
            Assert.True(request.Requests.Count >= 1);
            return true;
        }
        catch (MalformedRequestException)
        {
            return false;
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{what}: {e.GetType().FullName} instead of MalformedRequestException for path\n" +
                $"\"{path}\" (UTF-16 hex {Convert.ToHexString(Encoding.Unicode.GetBytes(path))})\n{e}");
        }
    }

    [Fact]
    public void Mutated_get_paths_decode_or_are_malformed()
    {
        var random = new Random(5019);
        var bases = _seeds.SelectMany(d => new[]
        {
            Convert.ToBase64String(d),
            OcspGetPath.Encode(d),
            "//" + Convert.ToBase64String(d).Replace('+', '-').Replace('/', '_').TrimEnd('='),
            Convert.ToBase64String(d).Replace('+', ' '),
        }).ToList();
        foreach (var b in bases) Assert.True(TryDecodePath(b, "base"), b);

        int accepted = 0;
        for (int i = 0; i < Iterations; i++)
        {
            string path = MutatePath(bases[random.Next(bases.Count)], random);
            if (TryDecodePath(path, $"iteration {i}")) accepted++;
        }
        Assert.InRange(accepted, 1, Iterations - Iterations / 10);
    }

    [Fact]
    public void Random_paths_are_malformed()
    {
        var random = new Random(6960);
        for (int i = 0; i < Iterations; i++)
        {
            int length = random.Next(3) switch { 0 => random.Next(0, 10), 1 => random.Next(0, 400), _ => random.Next(14_000, 16_000) };
            var chars = new char[length];
            bool ascii = random.Next(2) == 0;
            for (int k = 0; k < length; k++)
                chars[k] = ascii ? PathAlphabet[random.Next(PathAlphabet.Length)] : (char)random.Next(0, 0x10000);
            TryDecodePath(new string(chars), $"random path {i}");
            // Decode alone must obey the same rule.
            try
            {
                OcspGetPath.Decode(new string(chars));
            }
            catch (MalformedRequestException)
            {
            }
        }
    }
}
