using System.Formats.Asn1;

namespace OcspFunctions.Protocol.Crl;

/// <summary>
/// The issuingDistributionPoint CRL extension (RFC 5280 §5.2.5): the CRL's scope. Two CRLs of one issuer cover the
/// same scope exactly when their extensions are equal (both absent: the whole CA). Read strictly as DER:
/// <code>
/// IssuingDistributionPoint ::= SEQUENCE {
///   distributionPoint          [0] DistributionPointName OPTIONAL,
///   onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
///   onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
///   onlySomeReasons            [3] ReasonFlags OPTIONAL,
///   indirectCRL                [4] BOOLEAN DEFAULT FALSE,
///   onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
/// </code>
/// Fields in order, each at most once, a DEFAULT FALSE boolean never written FALSE, at most one of the three "only
/// contains" booleans TRUE, and not an empty SEQUENCE.
/// </summary>
public sealed class IssuingDistributionPoint
{
    private IssuingDistributionPoint(byte[] encoded) => Encoded = encoded;

    /// <summary>The extension value (DER): equal bytes, equal scope.</summary>
    public byte[] Encoded { get; }

    /// <summary>The URIs of distributionPoint fullName (what a partitioned CRL is named by), in order.</summary>
    public IReadOnlyList<string> Uris { get; private set; } = [];

    /// <summary>True when distributionPoint is present (fullName or nameRelativeToCRLIssuer).</summary>
    public bool HasDistributionPoint { get; private set; }

    public bool OnlyContainsUserCerts { get; private set; }

    public bool OnlyContainsCACerts { get; private set; }

    public bool OnlyContainsAttributeCerts { get; private set; }

    public bool IndirectCrl { get; private set; }

    /// <summary>onlySomeReasons as its DER BIT STRING contents (unused-bits octet first), or null when absent.</summary>
    public byte[]? OnlySomeReasons { get; private set; }

    /// <summary>A short description for messages: "distribution point http://… (user certificates only)".</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (Uris.Count > 0) parts.Add("distribution point " + string.Join(", ", Uris));
        else if (HasDistributionPoint) parts.Add("a distribution point without a URI");
        if (OnlyContainsUserCerts) parts.Add("user certificates only");
        if (OnlyContainsCACerts) parts.Add("CA certificates only");
        if (OnlyContainsAttributeCerts) parts.Add("attribute certificates only");
        if (OnlySomeReasons is not null) parts.Add("some reasons only");
        return Printable.Escape(string.Join("; ", parts));
    }

    private static readonly Asn1Tag[] FieldTags = [.. Enumerable.Range(0, 6).Select(n => new Asn1Tag(TagClass.ContextSpecific, n, n == 0))];

    /// <summary>Reads the extension value; every deviation from the DER structure above is a <see cref="CrlException"/>.</summary>
    public static IssuingDistributionPoint Decode(ReadOnlyMemory<byte> extensionValue)
    {
        const AsnEncodingRules der = AsnEncodingRules.DER;
        var idp = new IssuingDistributionPoint(extensionValue.ToArray());
        try
        {
            var outer = new AsnReader(extensionValue, der);
            var seq = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            if (!seq.HasData) throw new CrlException("issuingDistributionPoint is an empty SEQUENCE (RFC 5280 §5.2.5)");
            int next = 0;
            while (seq.HasData)
            {
                var tag = seq.PeekTag();
                int field = tag.TagClass == TagClass.ContextSpecific ? tag.TagValue : -1;
                if (field < next || field > 5 || tag.IsConstructed != (field == 0))
                    throw new CrlException($"issuingDistributionPoint has an unexpected or out-of-order field {tag}");
                next = field + 1;
                switch (field)
                {
                    case 0:
                        idp.ReadDistributionPoint(seq.ReadSequence(FieldTags[0]));
                        break;
                    case 3:
                        var reasons = seq.ReadBitString(out int unused, FieldTags[3]);
                        idp.OnlySomeReasons = [(byte)unused, .. reasons];
                        break;
                    default:
                        // DER: a DEFAULT FALSE boolean is omitted, never written FALSE (X.690 §11.5).
                        if (!seq.ReadBoolean(FieldTags[field]))
                            throw new CrlException($"issuingDistributionPoint field [{field}] is an encoded FALSE (DER omits a DEFAULT)");
                        if (field == 1) idp.OnlyContainsUserCerts = true;
                        else if (field == 2) idp.OnlyContainsCACerts = true;
                        else if (field == 4) idp.IndirectCrl = true;
                        else idp.OnlyContainsAttributeCerts = true;
                        break;
                }
            }
        }
        catch (AsnContentException e)
        {
            throw new CrlException($"malformed issuingDistributionPoint: {e.Message}", e);
        }
        if ((idp.OnlyContainsUserCerts ? 1 : 0) + (idp.OnlyContainsCACerts ? 1 : 0) + (idp.OnlyContainsAttributeCerts ? 1 : 0) > 1)
            throw new CrlException("issuingDistributionPoint asserts more than one of onlyContainsUserCerts, onlyContainsCACerts and onlyContainsAttributeCerts (RFC 5280 §5.2.5)");
        return idp;
    }

    /// <summary>DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] RelativeDistinguishedName }.</summary>
    private void ReadDistributionPoint(AsnReader choice)
    {
        HasDistributionPoint = true;
        var tag = choice.PeekTag();
        if (tag == new Asn1Tag(TagClass.ContextSpecific, 0, true))
        {
            var names = choice.ReadSequence(tag);
            if (!names.HasData) throw new CrlException("issuingDistributionPoint fullName is empty (GeneralNames needs at least one name)");
            var uris = new List<string>();
            var uri = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (names.HasData)
            {
                var name = names.PeekTag();
                if (name.TagClass != TagClass.ContextSpecific || name.TagValue > 8)
                    throw new CrlException($"issuingDistributionPoint fullName holds a value {name} that is not a GeneralName");
                if (name == uri) uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uri));
                else names.ReadEncodedValue();
            }
            Uris = uris;
        }
        else if (tag == new Asn1Tag(TagClass.ContextSpecific, 1, true))
        {
            choice.ReadSetOf(tag);
        }
        else
        {
            throw new CrlException($"issuingDistributionPoint distributionPoint is neither fullName nor nameRelativeToCRLIssuer ({tag})");
        }
        choice.ThrowIfNotEmpty();
    }
}
