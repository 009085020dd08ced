using System.Diagnostics;
using System.Globalization;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// The two source changes of the <c>freshness</c> benchmark, made as an operator makes them while a refresh runs: a
/// revocation (keyCompromise, a line in the local-revocations file: the operator's "local CRL") of an issued serial
/// the CRL does not revoke, and a new issuance (a line appended to the issued-serials list). Then
/// <see cref="PollAsync"/> asks the real server about both about every second until it answers each correctly.
/// </summary>
public sealed class FreshnessChanges(ServeProbe serve, string issuedPath, string localRevocationsPath, Stopwatch clock)
{
    public SerialNumber Revoked { get; private set; }
    public DateTimeOffset RevocationTime { get; private set; }
    /// <summary>What the server answered for <see cref="Revoked"/> just before: whether the bulk load had signed it yet.</summary>
    public string RevokedBefore { get; private set; } = "";
    public TimeSpan RevokedAt { get; private set; }
    public TimeSpan? RevokedServedAt { get; private set; }

    public SerialNumber Issued { get; private set; }
    public TimeSpan IssuedAt { get; private set; }
    public TimeSpan? IssuedServedAt { get; private set; }

    public bool Made { get; private set; }

    public bool Served => RevokedServedAt is not null && IssuedServedAt is not null;

    public async Task MakeAsync(TimeSpan at, CancellationToken cancellationToken)
    {
        var wait = at - clock.Elapsed;
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);

        // Prefer a serial the bulk load already signed and published (the server answers good: the revocation must
        // replace a live response); else the first candidate, not yet signed. Every 10th list line is in the CRL.
        var candidates = File.ReadLines(issuedPath).Where(l => l.Length > 0 && l[0] != '#').Take(400)
            .Where((_, i) => i % 10 != 0).Select(l => SerialNumber.ParseHex(l.Split(',')[0])).Take(24).ToList();
        Revoked = candidates[0];
        RevokedBefore = "";
        foreach (var candidate in candidates)
        {
            var (status, text) = await serve.QueryAsync(candidate, cancellationToken);
            if (status is { Kind: CertStatusKind.Good })
            {
                (Revoked, RevokedBefore) = (candidate, "signed and served good");
                break;
            }
            if (RevokedBefore.Length == 0) RevokedBefore = $"not yet signed (answer: {text})";
        }

        var now = DateTimeOffset.UtcNow;
        RevocationTime = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        await File.AppendAllTextAsync(localRevocationsPath,
            $"{Revoked} {RevocationTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)} keyCompromise\n", cancellationToken);
        RevokedAt = clock.Elapsed;

        var bytes = new byte[16];
        TestPki.FillSerial(bytes, new Random());
        Issued = SerialNumber.ParseHex(Convert.ToHexString(bytes));
        string expiry = now.AddYears(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        await File.AppendAllTextAsync(issuedPath, $"{Issued},{expiry}\n", cancellationToken);
        IssuedAt = clock.Elapsed;
        Made = true;
        Console.WriteLine($"+{RevokedAt.TotalSeconds,6:F1} s  revoked {Revoked} (keyCompromise, local-revocations file); it was {RevokedBefore}");
        Console.WriteLine($"+{IssuedAt.TotalSeconds,6:F1} s  issued  {Issued} (appended to the issued-serials list)");
    }

    /// <summary>Polls until both are answered correctly, printing every change in what the server answers.</summary>
    public async Task PollAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        string lastRevoked = "", lastIssued = "";
        while (!Served)
        {
            var tick = clock.Elapsed;
            if (RevokedServedAt is null)
            {
                var (status, text) = await serve.QueryAsync(Revoked, cancellationToken);
                bool correct = status is { Kind: CertStatusKind.Revoked, Reason: RevocationReason.KeyCompromise } s && s.RevocationTime == RevocationTime;
                if (correct) RevokedServedAt = clock.Elapsed;
                if (text != lastRevoked) Console.WriteLine($"+{clock.Elapsed.TotalSeconds,6:F1} s  serve answers the revoked serial: {text}{(correct ? " <- correct" : "")}");
                lastRevoked = text;
            }
            if (IssuedServedAt is null)
            {
                var (status, text) = await serve.QueryAsync(Issued, cancellationToken);
                bool correct = status is { Kind: CertStatusKind.Good };
                if (correct) IssuedServedAt = clock.Elapsed;
                if (text != lastIssued) Console.WriteLine($"+{clock.Elapsed.TotalSeconds,6:F1} s  serve answers the new serial: {text}{(correct ? " <- correct" : "")}");
                lastIssued = text;
            }
            var rest = interval - (clock.Elapsed - tick);
            if (!Served && rest > TimeSpan.Zero) await Task.Delay(rest, cancellationToken);
        }
    }
}
