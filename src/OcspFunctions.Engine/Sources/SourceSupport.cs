using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Sources;

/// <summary>Pieces shared by the readers and parsers: capped reads, safe display of locations, text decoding, times and reasons.</summary>
internal static partial class SourceSupport
{
    /// <summary>Reads a stream to its end, failing as soon as it passes <paramref name="maxBytes"/> (the length may be unknown or lie).</summary>
    public static async Task<byte[]> ReadCappedAsync(Stream stream, long maxBytes, string shownLocation, long? lengthHint, CancellationToken cancellationToken)
    {
        int capacity = lengthHint is long hint and >= 0 ? (int)Math.Min(Math.Min(hint, maxBytes), Array.MaxLength) : 0;
        using var buffer = new MemoryStream(capacity);
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw new SourceException($"{shownLocation} exceeds the {maxBytes}-byte cap");
            buffer.Write(chunk, 0, read);
        }
        // When the hint was exact the buffer is already the right size: hand it over without a copy.
        return buffer.TryGetBuffer(out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : buffer.ToArray();
    }

    /// <summary>A location fit for messages and logs: URL user info and query (e.g. a SAS token) are left out.</summary>
    public static string Display(string location)
    {
        int schemeEnd = location.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0 || location.StartsWith("file:", StringComparison.OrdinalIgnoreCase)) return location;
        // Plain string work: Uri escapes '?' for schemes it knows without queries (ftp), which would let a token through.
        int queryStart = location.IndexOfAny(['?', '#'], schemeEnd);
        var shown = queryStart >= 0 ? location[..queryStart] + "?…" : location;
        int authorityStart = schemeEnd + 3;
        int authorityEnd = shown.IndexOf('/', authorityStart);
        int at = shown.LastIndexOf('@', authorityEnd >= 0 ? authorityEnd - 1 : shown.Length - 1);
        return at >= authorityStart ? shown[..authorityStart] + shown[(at + 1)..] : shown;
    }

    /// <summary>Decodes a text source: BOM-detected UTF-8/UTF-16 (Windows PowerShell 5.1 '>' writes UTF-16LE), else UTF-8.</summary>
    public static string Decode(byte[] content)
    {
        // BOM-less UTF-16LE (e.g. Out-File -Encoding Unicode without preamble): ASCII text leaves every odd byte zero.
        var fallback = content.Length >= 2 && content[0] != 0 && content[1] == 0 ? Encoding.Unicode : Encoding.UTF8;
        using var reader = new StreamReader(new MemoryStream(content), fallback, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    public static SourceException LineError(string sourceName, int lineNumber, string message) =>
        new($"{sourceName} line {lineNumber}: {message}");

    /// <summary>
    /// ISO 8601 date or date-time: <c>2027-01-31</c>, <c>2027-01-31T00:00:00Z</c>, <c>2027-01-31T02:00:00+02:00</c>;
    /// no offset means UTC. Returned in UTC.
    /// </summary>
    public static bool TryParseIso8601(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        // The common form by hand first: a million-line list spent most of its parse time in the general parser.
        if (text.Length == 20 && text[4] == '-' && text[7] == '-' && text[10] == 'T' && text[13] == ':' && text[16] == ':' && text[19] == 'Z')
        {
            if (!TryDigits(text[..4], out int year) || !TryDigits(text[5..7], out int month) || !TryDigits(text[8..10], out int day)
                || !TryDigits(text[11..13], out int hour) || !TryDigits(text[14..16], out int minute) || !TryDigits(text[17..19], out int second)
                || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
                return false;
            value = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero);
            return true;
        }
        if (!Iso8601().IsMatch(text)) return false;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) return false;
        value = parsed.ToUniversalTime();
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> digits, out int value) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Iso8601();

    /// <summary>An ASN.1 time as OpenSSL stores it: UTCTime <c>YYMMDDHHMMSSZ</c> (RFC 5280 §4.1.2.5.1 century rule) or GeneralizedTime <c>YYYYMMDDHHMMSSZ</c>.</summary>
    public static bool TryParseAsn1Time(string text, out DateTimeOffset value)
    {
        value = default;
        string full;
        if (text.Length == 13 && text[12] == 'Z' && !text.AsSpan(0, 12).ContainsAnyExceptInRange('0', '9'))
        {
            int yy = (text[0] - '0') * 10 + (text[1] - '0');
            full = (yy >= 50 ? "19" : "20") + text[..12];
        }
        else if (text.Length == 15 && text[14] == 'Z' && !text.AsSpan(0, 14).ContainsAnyExceptInRange('0', '9'))
        {
            full = text[..14];
        }
        else
        {
            return false;
        }
        return DateTimeOffset.TryParseExact(full, "yyyyMMddHHmmss", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>An RFC 5280 CRLReason by name (case-insensitive, e.g. <c>keyCompromise</c>) or number (0–10 but 7).</summary>
    public static bool TryParseReason(string text, out RevocationReason reason)
    {
        reason = default;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int code))
        {
            if (code is < 0 or > 10 or 7) return false;
            reason = (RevocationReason)code;
            return true;
        }
        RevocationReason? named = text.ToLowerInvariant() switch
        {
            "unspecified" => RevocationReason.Unspecified,
            "keycompromise" => RevocationReason.KeyCompromise,
            "cacompromise" => RevocationReason.CaCompromise,
            "affiliationchanged" => RevocationReason.AffiliationChanged,
            "superseded" => RevocationReason.Superseded,
            "cessationofoperation" => RevocationReason.CessationOfOperation,
            "certificatehold" => RevocationReason.CertificateHold,
            "removefromcrl" => RevocationReason.RemoveFromCrl,
            "privilegewithdrawn" => RevocationReason.PrivilegeWithdrawn,
            "aacompromise" => RevocationReason.AaCompromise,
            _ => null,
        };
        if (named is null) return false;
        reason = named.Value;
        return true;
    }
}
