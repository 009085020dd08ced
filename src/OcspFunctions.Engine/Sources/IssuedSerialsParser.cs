using System.Globalization;
using System.Text.RegularExpressions;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// Parses the lists of serials a CA issued (pure, no I/O). Formats:
/// <list type="bullet">
/// <item><b>Text</b>: one hex serial per line (any case, ':' or spaces between digits, optional 0x); '#' starts a comment;
/// blank lines skipped; optional expiry after ',' or a tab, ISO 8601 (<c>01:AB:CD, 2027-01-31T00:00:00Z</c>; no offset = UTC).</item>
/// <item><b>Certutil</b>: <c>certutil -view … -out "SerialNumber,NotAfter"</c> output; every <c>Serial Number: "…"</c> line, plus
/// <c>Certificate Expiration Date: 1/31/2027 12:00 PM</c> (en-US, read as UTC) in the same row when present and parseable.</item>
/// <item><b>OpenSSL index</b>: the <c>openssl ca</c> database, tab-separated status (V|R|E), expiry, revocation
/// (<c>time[,reason[,extra]]</c>), serial, file, subject.</item>
/// <item><b>Windows directory</b> (KB 2960124): files named by hex serial; an extension is ignored, other names are counted.</item>
/// </list>
/// Every format fails with <see cref="SourceException"/> when it yields no serial: an empty list would make every
/// certificate "non-issued".
/// </summary>
public static partial class IssuedSerialsParser
{
    /// <summary>
    /// Parses bytes (UTF-8, or UTF-16 as Windows PowerShell writes). <see cref="IssuedSerialsFormat.Auto"/>: OpenSSL index when
    /// the first non-blank line starts with V, R or E and a tab; certutil when any line holds <c>Serial Number: "</c>; else Text.
    /// </summary>
    public static IssuedSerials Parse(byte[] content, IssuedSerialsFormat format, string sourceName)
    {
        if (format is IssuedSerialsFormat.Auto or IssuedSerialsFormat.Text && Utf8Start(content) is { } start)
        {
            if (format == IssuedSerialsFormat.Auto) format = Detect(content.AsSpan(start));
            if (format == IssuedSerialsFormat.Text) return ParseTextUtf8(content.AsSpan(start), sourceName);
        }
        var text = SourceSupport.Decode(content);
        if (format == IssuedSerialsFormat.Auto) format = Detect(text);
        using var reader = new StringReader(text);
        return format switch
        {
            IssuedSerialsFormat.Text => ParseText(text, sourceName),
            IssuedSerialsFormat.Certutil => ParseCertutil(reader, sourceName),
            IssuedSerialsFormat.OpenSslIndex => ParseOpenSslIndex(reader, sourceName),
            IssuedSerialsFormat.WindowsDirectory => throw new ArgumentException("the Windows layout is a directory: use FromFileNames", nameof(format)),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
    }

    /// <summary>The format of file content (never <see cref="IssuedSerialsFormat.WindowsDirectory"/> or Auto).</summary>
    public static IssuedSerialsFormat Detect(string text)
    {
        using var reader = new StringReader(text);
        string? line;
        while ((line = reader.ReadLine()) is not null && string.IsNullOrWhiteSpace(line))
        {
        }
        if (line is null) return IssuedSerialsFormat.Text;
        if (line.Length > 1 && line[0] is 'V' or 'R' or 'E' && line[1] == '\t') return IssuedSerialsFormat.OpenSslIndex;
        return text.Contains(CertutilSerialMarker, StringComparison.Ordinal) ? IssuedSerialsFormat.Certutil : IssuedSerialsFormat.Text;
    }

    private const string CertutilSerialMarker = "Serial Number: \"";

    /// <summary>
    /// One hex serial per line; see the class remarks. One pass straight into the compact map: parsing in parallel chunks
    /// (as before the map) held every serial twice until merged and, with the merge serial, was no faster on 2 cores.
    /// </summary>
    public static IssuedSerials ParseText(string text, string sourceName)
    {
        var result = WithCapacity(text.AsSpan().Count('\n') + 1);
        int lineNumber = 0;
        // Spans, not strings: a million lines would otherwise make millions of strings.
        foreach (var line in Lines(text))
        {
            lineNumber++;
            if (ParseTextLine(line, result.Serials) is { } error) throw SourceSupport.LineError(sourceName, lineNumber, error);
        }
        return RequireSerials(result, sourceName);
    }

    /// <summary>A list sized for <paramref name="lines"/> serials of 16 bytes, the usual length (RFC 5280 allows 20).</summary>
    private static IssuedSerials WithCapacity(int lines)
    {
        var result = new IssuedSerials();
        result.Serials.EnsureCapacity(lines, lines * 16L);
        return result;
    }

    /// <summary>
    /// Lines ended by "\r\n", "\n" or "\r", as <see cref="TextReader.ReadLine"/> splits them (unlike
    /// <see cref="MemoryExtensions.EnumerateLines(ReadOnlySpan{char})"/>, which also ends a line at U+2028, U+0085 or a form
    /// feed: a comment holding one must not turn its rest into a serial). A trailing line end starts no further line.
    /// </summary>
    private static LineSplitter<char> Lines(ReadOnlySpan<char> text) => new(text, '\r', '\n');

    /// <summary>Lines of UTF-8 bytes, split as <see cref="Lines"/> splits characters.</summary>
    private static LineSplitter<byte> Utf8Lines(ReadOnlySpan<byte> text) => new(text, (byte)'\r', (byte)'\n');

    /// <summary>Lines of characters or of UTF-8 bytes: one splitter for both, ends at CR, LF or CR LF only.</summary>
    private ref struct LineSplitter<T>(ReadOnlySpan<T> text, T cr, T lf) where T : unmanaged, IEquatable<T>
    {
        private ReadOnlySpan<T> _rest = text;
        private bool _done = text.IsEmpty;

        public ReadOnlySpan<T> Current { get; private set; }

        public readonly LineSplitter<T> GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_done) return false;
            int end = _rest.IndexOfAny(cr, lf);
            if (end < 0)
            {
                Current = _rest;
                _done = true;
                return true;
            }
            Current = _rest[..end];
            int next = end + (_rest[end].Equals(cr) && end + 1 < _rest.Length && _rest[end + 1].Equals(lf) ? 2 : 1);
            _rest = _rest[next..];
            _done = _rest.IsEmpty;
            return true;
        }
    }

    /// <summary>Adds one Text line's serial and expiry (none for a blank or comment line); the error, or null.</summary>
    private static string? ParseTextLine(ReadOnlySpan<char> line, SerialExpiryMap serials)
    {
        int hash = line.IndexOf('#');
        var content = (hash >= 0 ? line[..hash] : line).Trim();
        if (content.Length == 0) return null;

        int separator = content.IndexOfAny(',', '\t');
        var serialText = (separator >= 0 ? content[..separator] : content).Trim();
        Span<byte> buffer = stackalloc byte[64];
        scoped ReadOnlySpan<byte> canonical;
        // The common form, an even number of bare hex digits, without a SerialNumber made per line.
        if (serialText.Length % 2 == 0 && serialText.Length / 2 <= buffer.Length && serialText.Length > 0
            && Convert.FromHexString(serialText, buffer, out _, out int written) == System.Buffers.OperationStatus.Done)
        {
            int start = 0;
            while (start < written - 1 && buffer[start] == 0) start++;
            canonical = buffer[start..written];
        }
        else if (SerialNumber.TryParseHex(serialText, out var serial)) canonical = serial.Bytes;
        else return $"'{serialText}' is not a hexadecimal serial number";

        DateTimeOffset? expiry = null;
        var expiryText = separator >= 0 ? content[(separator + 1)..].Trim() : [];
        if (expiryText.Length > 0)
        {
            if (!SourceSupport.TryParseIso8601(expiryText, out var parsed)) return $"'{expiryText}' is not an ISO 8601 expiry (e.g. 2027-01-31T00:00:00Z)";
            expiry = parsed;
        }
        Add(serials, canonical, expiry);
        return null;
    }

    /// <summary><c>certutil -view</c> output; see the class remarks.</summary>
    public static IssuedSerials ParseCertutil(TextReader reader, string sourceName)
    {
        var result = new IssuedSerials();
        SerialNumber? pendingSerial = null;
        DateTimeOffset? pendingExpiry = null;

        void Flush()
        {
            if (pendingSerial is { } s) Add(result, s, pendingExpiry);
            pendingSerial = null;
            pendingExpiry = null;
        }

        int lineNumber = 0;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNumber++;
            if (CertutilRow().IsMatch(line))
            {
                Flush();
                continue;
            }
            var serialMatch = CertutilSerial().Match(line);
            if (serialMatch.Success)
            {
                // Without "Row n:" headers each serial starts its own row.
                if (pendingSerial is not null) Flush();
                var value = serialMatch.Groups[1].Value;
                if (!SerialNumber.TryParseHex(value, out var serial))
                    throw SourceSupport.LineError(sourceName, lineNumber, $"'{value}' is not a hexadecimal serial number");
                pendingSerial = serial;
                continue;
            }
            var expiryMatch = CertutilExpiry().Match(line);
            // Optional and locale-dependent: an expiry we cannot read is left unknown rather than failing the list.
            if (expiryMatch.Success && TryParseCertutilDate(expiryMatch.Groups[1].Value, out var expiry)) pendingExpiry = expiry;
        }
        Flush();
        if (result.Serials.Count == 0) throw new SourceException($"{sourceName}: no 'Serial Number: \"…\"' lines (is this certutil -view output?)");
        return result;
    }

    [GeneratedRegex(@"^\s*Row \d+:\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex CertutilRow();

    [GeneratedRegex(@"Serial Number:\s*""([^""]*)""", RegexOptions.CultureInvariant)]
    private static partial Regex CertutilSerial();

    [GeneratedRegex(@"Certificate Expiration Date:\s*(.+?)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex CertutilExpiry();

    private static readonly string[] CertutilDateFormats =
        ["M/d/yyyy h:mm tt", "M/d/yyyy h:mm:ss tt", "M/d/yyyy H:mm", "M/d/yyyy H:mm:ss"];

    internal static bool TryParseCertutilDate(string text, out DateTimeOffset value)
    {
        // Newer Windows builds put a narrow no-break space before AM/PM.
        var normalized = text.Replace('\u202F', ' ').Replace('\u00A0', ' ').Trim();
        // certutil -gmt appends " GMT" (the time is then UTC, as it is read anyway).
        if (normalized.EndsWith(" GMT", StringComparison.Ordinal)) normalized = normalized[..^4].TrimEnd();
        return DateTimeOffset.TryParseExact(normalized, CertutilDateFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>
    /// The <c>openssl ca</c> database (index.txt), as apps/ca.c writes it: six tab-separated fields — status V (valid),
    /// R (revoked) or E (expired); expiry as UTCTime <c>YYMMDDHHMMSSZ</c> or GeneralizedTime; revocation
    /// <c>time[,reason[,extra]]</c> for R (reason: an RFC 5280 name as OpenSSL spells it, or <c>holdInstruction,OID</c> →
    /// certificateHold, <c>keyTime,GeneralizedTime</c> → keyCompromise, <c>CAkeyTime,GeneralizedTime</c> → cACompromise);
    /// serial in hex; file name; subject. Every line is an issued serial; R lines are also revocations.
    /// </summary>
    public static IssuedSerials ParseOpenSslIndex(TextReader reader, string sourceName)
    {
        var result = new IssuedSerials();
        int lineNumber = 0;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line) || line.StartsWith('#')) continue;
            var fields = line.Split('\t');
            // A subject may carry an escaped tab; only the first four fields matter.
            if (fields.Length < 6)
                throw SourceSupport.LineError(sourceName, lineNumber, $"expected 6 tab-separated fields, found {fields.Length}");

            var status = fields[0];
            if (status is not ("V" or "R" or "E"))
                throw SourceSupport.LineError(sourceName, lineNumber, $"status '{status}' is not V, R or E");
            if (!SourceSupport.TryParseAsn1Time(fields[1], out var expiry))
                throw SourceSupport.LineError(sourceName, lineNumber, $"expiry '{fields[1]}' is not YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ");
            if (fields[3].Length == 0 || fields[3].AsSpan().ContainsAnyExcept(HexDigits) || !SerialNumber.TryParseHex(fields[3], out var serial))
                throw SourceSupport.LineError(sourceName, lineNumber, $"serial '{fields[3]}' is not hexadecimal");

            Add(result, serial, expiry);
            // V and E lines carry no revocation (OpenSSL leaves the field empty).
            if (status == "R") result.Revocations.Add(ParseIndexRevocation(fields[2], serial, sourceName, lineNumber));
        }
        return RequireSerials(result, sourceName);
    }

    private static readonly System.Buffers.SearchValues<char> HexDigits =
        System.Buffers.SearchValues.Create("0123456789ABCDEFabcdef");

    private static Revocation ParseIndexRevocation(string field, SerialNumber serial, string sourceName, int lineNumber)
    {
        var parts = field.Split(',');
        if (!SourceSupport.TryParseAsn1Time(parts[0], out var time))
            throw SourceSupport.LineError(sourceName, lineNumber, $"revocation time '{parts[0]}' is not YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ");
        if (parts.Length == 1) return new Revocation(serial, time, null);
        if (parts.Length > 3)
            throw SourceSupport.LineError(sourceName, lineNumber, $"revocation field '{field}' has more than time, reason and one argument");

        var name = parts[1];
        var extra = parts.Length == 3 ? parts[2] : null;
        // OpenSSL's pseudo reasons carry an argument (apps/ca.c unpack_revinfo).
        RevocationReason reason;
        switch (name.ToLowerInvariant())
        {
            case "holdinstruction":
                if (string.IsNullOrEmpty(extra))
                    throw SourceSupport.LineError(sourceName, lineNumber, "holdInstruction without its instruction OID");
                reason = RevocationReason.CertificateHold;
                break;
            case "keytime":
            case "cakeytime":
                if (extra is null || !SourceSupport.TryParseAsn1Time(extra, out _))
                    throw SourceSupport.LineError(sourceName, lineNumber, $"{name} without a valid compromise time");
                reason = name.Equals("keyTime", StringComparison.OrdinalIgnoreCase) ? RevocationReason.KeyCompromise : RevocationReason.CaCompromise;
                break;
            default:
                // OpenSSL writes names only; a number here is not its format.
                if (name.Length == 0 || char.IsAsciiDigit(name[0]) || !SourceSupport.TryParseReason(name, out reason))
                    throw SourceSupport.LineError(sourceName, lineNumber, $"unknown revocation reason '{name}'");
                break;
        }
        return new Revocation(serial, time, reason);
    }

    /// <summary>
    /// The Windows layout (KB 2960124): a directory of files named by the hex serial. An extension is ignored; names that are
    /// not hex are skipped and counted in <see cref="IssuedSerials.IgnoredNames"/>. No serial at all fails.
    /// </summary>
    public static IssuedSerials FromFileNames(IEnumerable<string> names, string sourceName)
    {
        var result = new IssuedSerials();
        int ignored = 0;
        // A directory listing has no issuance order (and differs between file systems): sorted, so a listing gives one list.
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            var stem = Path.GetFileNameWithoutExtension(name);
            if (stem.Length > 0 && !stem.AsSpan().ContainsAnyExcept(HexDigits) && SerialNumber.TryParseHex(stem, out var serial))
                Add(result, serial, null);
            else
                ignored++;
        }
        result.IgnoredNames = ignored;
        if (result.Serials.Count == 0)
            throw new SourceException($"{sourceName}: no file is named by a hexadecimal serial number ({ignored} other entries)");
        return result;
    }

    private static void Add(IssuedSerials result, SerialNumber serial, DateTimeOffset? expiry) => Add(result.Serials, serial.Bytes, expiry);

    /// <summary>Duplicates are tolerated: the last known expiry wins; a later line without one does not erase it.</summary>
    private static void Add(SerialExpiryMap serials, ReadOnlySpan<byte> canonical, DateTimeOffset? expiry)
    {
        if (expiry is null) serials.TryAdd(canonical, null);
        else serials.Set(canonical, expiry);
    }

    private static IssuedSerials RequireSerials(IssuedSerials result, string sourceName) =>
        result.Serials.Count > 0 ? result : throw new SourceException($"{sourceName}: no serial numbers");
}
