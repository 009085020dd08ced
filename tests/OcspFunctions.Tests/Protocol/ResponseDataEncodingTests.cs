using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcspFunctions.Protocol;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Tests.Protocol;

/// <summary>
/// The direct ResponseData encoder against System.Formats.Asn1's AsnWriter (the encoder it replaced, kept here as the
/// reference): the same bytes for every status, reason, serial length and top bit, CertID hash, time (fractions dropped),
/// several SingleResponses, with and without the extended-revoke extension, and lengths across the 127/128 boundary.
/// </summary>
public sealed class ResponseDataEncodingTests
{
    private static readonly Asn1Tag Ctx0 = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag Ctx1 = new(TagClass.ContextSpecific, 1, isConstructed: true);
    private static readonly Asn1Tag Ctx2 = new(TagClass.ContextSpecific, 2, isConstructed: true);

    [Fact]
    public void Direct_encoding_is_byte_identical_to_AsnWriter()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=responder", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var signer = LocalKeySigner.FromKey(key);
        var writer = new OcspResponseWriter(certificate, signer);
        var random = new Random(4242);
        var algorithms = new[] { CertIdHashAlgorithm.Sha1, CertIdHashAlgorithm.Sha256, CertIdHashAlgorithm.Sha384, CertIdHashAlgorithm.Sha512 };
        var reasons = Enum.GetValues<RevocationReason>();
        int longForms = 0;
        for (int i = 0; i < 3000; i++)
        {
            var responses = new List<SingleResponse>();
            // Mostly one (as the refresh writes), sometimes up to 6: a responses list over 255 octets.
            for (int n = random.Next(4) == 0 ? random.Next(2, 7) : 1; n > 0; n--)
            {
                var algorithm = algorithms[random.Next(algorithms.Length)];
                int size = algorithm switch { CertIdHashAlgorithm.Sha1 => 20, CertIdHashAlgorithm.Sha256 => 32, CertIdHashAlgorithm.Sha384 => 48, _ => 64 };
                var serial = new byte[random.Next(1, 21)];
                random.NextBytes(serial);
                if (random.Next(3) == 0) serial[0] |= 0x80;
                if (serial.Length == 1 && random.Next(4) == 0) serial[0] = 0; // the serial 0
                var certId = new CertId(algorithm, RandomBytes(random, size), RandomBytes(random, size), SerialNumber.FromMagnitude(serial));
                var thisUpdate = RandomTime(random);
                var status = random.Next(3) switch
                {
                    0 => CertStatus.Good,
                    1 => CertStatus.Revoked(RandomTime(random), random.Next(3) == 0 ? null : reasons[random.Next(reasons.Length)]),
                    _ => new CertStatus(CertStatusKind.Unknown, default, null),
                };
                responses.Add(new SingleResponse(certId, status, thisUpdate, thisUpdate + TimeSpan.FromSeconds(random.Next(1, 10_000_000))));
            }
            var producedAt = RandomTime(random);
            bool extendedRevoke = random.Next(2) == 0;

            byte[] direct = writer.EncodeResponseData(responses, producedAt, extendedRevoke);
            byte[] reference = Reference(writer.ResponderKeyHash, responses, producedAt, extendedRevoke);
            Assert.Equal(reference, direct);
            if (direct[1] >= 0x81) longForms++;
        }
        Assert.True(longForms > 1000, $"only {longForms} encodings took the long length form");
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A time from 1950 to 2100, with fractions of a second (which the encoding drops).</summary>
    private static DateTimeOffset RandomTime(Random random) =>
        new DateTimeOffset(1950, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks((long)(random.NextDouble() * 150 * TimeSpan.TicksPerDay * 365))
            .ToOffset(TimeSpan.FromHours(random.Next(-12, 13)));

    /// <summary>The AsnWriter encoding the writer used before: byKey ResponderID, producedAt, responses, extensions.</summary>
    private static byte[] Reference(byte[] responderKeyHash, List<SingleResponse> responses, DateTimeOffset producedAt, bool extendedRevoke)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.PushSequence();
        w.PushSequence(Ctx2);
        w.WriteOctetString(responderKeyHash);
        w.PopSequence(Ctx2);
        WriteTime(w, producedAt);
        w.PushSequence();
        foreach (var single in responses)
        {
            w.PushSequence();
            single.CertId.Encode(w);
            switch (single.Status.Kind)
            {
                case CertStatusKind.Good:
                    w.WriteNull(new Asn1Tag(TagClass.ContextSpecific, 0));
                    break;
                case CertStatusKind.Revoked:
                    var revoked = new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true);
                    w.PushSequence(revoked);
                    WriteTime(w, single.Status.RevocationTime);
                    if (single.Status.Reason is { } reason)
                    {
                        w.PushSequence(Ctx0);
                        w.WriteEnumeratedValue(reason);
                        w.PopSequence(Ctx0);
                    }
                    w.PopSequence(revoked);
                    break;
                default:
                    w.WriteNull(new Asn1Tag(TagClass.ContextSpecific, 2));
                    break;
            }
            WriteTime(w, single.ThisUpdate);
            w.PushSequence(Ctx0);
            WriteTime(w, single.NextUpdate!.Value);
            w.PopSequence(Ctx0);
            w.PopSequence();
        }
        w.PopSequence();
        if (extendedRevoke)
        {
            w.PushSequence(Ctx1);
            w.PushSequence();
            w.PushSequence();
            w.WriteObjectIdentifier("1.3.6.1.5.5.7.48.1.9");
            w.WriteOctetString([0x05, 0x00]);
            w.PopSequence();
            w.PopSequence();
            w.PopSequence(Ctx1);
        }
        w.PopSequence();
        return w.Encode();
    }

    private static void WriteTime(AsnWriter w, DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        w.WriteGeneralizedTime(utc.AddTicks(-(utc.Ticks % TimeSpan.TicksPerSecond)), omitFractionalSeconds: true);
    }
}
