using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// Parses the operator's hand-entered revocations (like the Windows Online Responder's local CRL): one per line,
/// <c>SERIAL TIME [REASON]</c> separated by whitespace or commas, e.g. <c>01AB23 2026-11-20T10:00:00Z keyCompromise</c>.
/// SERIAL is hex without spaces (':' allowed); TIME is ISO 8601 with 'T' (no offset = UTC); REASON is an RFC 5280 name
/// (case-insensitive: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation,
/// certificateHold, removeFromCRL, privilegeWithdrawn, aACompromise) or its number. '#' starts a comment.
/// </summary>
public static class LocalRevocationsParser
{
    private static readonly char[] Separators = [' ', '\t', ','];

    public static List<Revocation> Parse(TextReader reader, string sourceName)
    {
        var result = new List<Revocation>();
        int lineNumber = 0;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNumber++;
            int hash = line.IndexOf('#');
            var fields = (hash >= 0 ? line[..hash] : line).Split(Separators, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0) continue;
            if (fields.Length is < 2 or > 3)
                throw SourceSupport.LineError(sourceName, lineNumber, $"expected SERIAL TIME [REASON], found {fields.Length} fields");

            if (!SerialNumber.TryParseHex(fields[0], out var serial))
                throw SourceSupport.LineError(sourceName, lineNumber, $"'{fields[0]}' is not a hexadecimal serial number");
            if (!SourceSupport.TryParseIso8601(fields[1], out var time))
                throw SourceSupport.LineError(sourceName, lineNumber, $"'{fields[1]}' is not an ISO 8601 time (e.g. 2026-11-20T10:00:00Z)");
            RevocationReason? reason = null;
            if (fields.Length == 3)
            {
                if (!SourceSupport.TryParseReason(fields[2], out var parsed))
                    throw SourceSupport.LineError(sourceName, lineNumber, $"unknown revocation reason '{fields[2]}'");
                reason = parsed;
            }
            result.Add(new Revocation(serial, time, reason));
        }
        return result;
    }
}
