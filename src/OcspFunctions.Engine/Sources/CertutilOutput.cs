using System.Text;
using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Sources;

/// <summary>
/// What <c>certutil -view -gmt -restrict "Disposition=20" -out "SerialNumber,NotAfter" [csv]</c> prints, read strictly
/// for publishing: every row must carry a serial and a readable expiry (so expiry travels to the responder), and a
/// row that does not parse fails the whole list instead of being skipped. Both the CSV form (a header of localized
/// column names, then one <c>"serial","date"</c> line per row) and the text form (<c>Row n:</c> blocks) are read;
/// UTF-16 (with or without a BOM) as well as UTF-8.
/// </summary>
public static class CertutilOutput
{
    public static IssuedSerials Parse(byte[] content, string sourceName)
    {
        var text = SourceSupport.Decode(content);
        if (text.Contains("Serial Number: \"", StringComparison.Ordinal))
        {
            IssuedSerials parsed;
            using (var reader = new StringReader(text)) parsed = IssuedSerialsParser.ParseCertutil(reader, sourceName);
            foreach (var (serial, expiry) in parsed.Serials)
            {
                if (expiry is null)
                    throw new SourceException($"{sourceName}: serial {serial} has no readable 'Certificate Expiration Date' (run certutil with -gmt -out \"SerialNumber,NotAfter\")");
            }
            return parsed;
        }
        return ParseCsv(text, sourceName);
    }

    /// <summary>The CSV form: a header line, then exactly two quoted fields a line (serial, expiry).</summary>
    public static IssuedSerials ParseCsv(string text, string sourceName)
    {
        var result = new IssuedSerials();
        bool header = true;
        int lineNumber = 0;
        using var reader = new StringReader(text);
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = SplitCsv(line) ?? throw SourceSupport.LineError(sourceName, lineNumber, "not a CSV line (unbalanced quotes)");
            if (fields.Count != 2)
                throw SourceSupport.LineError(sourceName, lineNumber, $"expected 2 fields (SerialNumber, NotAfter), found {fields.Count}");
            if (header)
            {
                header = false;
                continue;
            }
            var serialText = fields[0].Replace(" ", "", StringComparison.Ordinal);
            if (serialText.Length == 0 || !SerialNumber.TryParseHex(serialText, out var serial))
                throw SourceSupport.LineError(sourceName, lineNumber, $"'{fields[0]}' is not a hexadecimal serial number");
            if (!IssuedSerialsParser.TryParseCertutilDate(fields[1], out var expiry))
                throw SourceSupport.LineError(sourceName, lineNumber, $"'{fields[1]}' is not a date certutil prints (M/d/yyyy h:mm tt; run certutil with -gmt)");
            result.Serials[serial] = expiry;
        }
        if (header) throw new SourceException($"{sourceName}: no output (is this certutil -view ... csv?)");
        if (result.Serials.Count == 0) throw new SourceException($"{sourceName}: no issued certificates listed");
        return result;
    }

    /// <summary>Fields of one CSV line: quoted ("" is a quote) or bare; null when a quote is not closed.</summary>
    private static List<string>? SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        int i = 0;
        while (true)
        {
            field.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length) return null;
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    field.Append(line[i++]);
                }
                if (i < line.Length && line[i] != ',') return null;
            }
            else
            {
                while (i < line.Length && line[i] != ',') field.Append(line[i++]);
            }
            fields.Add(field.ToString().Trim());
            if (i >= line.Length) return fields;
            i++; // the comma
        }
    }
}
