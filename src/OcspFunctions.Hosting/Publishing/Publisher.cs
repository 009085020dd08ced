using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Publishing;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Protocol;

namespace OcspFunctions.Hosting.Publishing;

/// <summary>One issuer's outcome: what was uploaded or left alone, or why nothing was.</summary>
public sealed record IssuerPublishResult(string Issuer, IReadOnlyList<string> Uploaded, IReadOnlyList<string> Unchanged, IReadOnlyList<string> Warnings,
    string? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// The CA side of the pipeline: per issuer with a <c>Publish</c> section, reads the local inputs, validates them with
/// the refresh's own checks against what is at the destination now, and only then uploads what changed — each write
/// conditional on the version read before validating. An issuer whose inputs fail uploads nothing.
/// </summary>
public sealed class Publisher(OcspConfiguration configuration, ISourceReader sources, IPublishTarget target, TimeProvider time, ILogger logger)
{
    private sealed record Upload(string What, string Destination, byte[] Content, PublishedObject Current)
    {
        public bool Unchanged => Current.Content is { } old && SHA256.HashData(old).AsSpan().SequenceEqual(SHA256.HashData(Content));
    }

    public async Task<IReadOnlyList<IssuerPublishResult>> RunAsync(CancellationToken cancellationToken)
    {
        var results = new List<IssuerPublishResult>();
        var issuers = configuration.Options.Issuers;
        for (int i = 0; i < issuers.Count; i++)
        {
            if (i >= configuration.Publish.Count || configuration.Publish[i] is not { } publish) continue;
            results.Add(await PublishIssuerAsync(issuers[i], publish, cancellationToken).ConfigureAwait(false));
        }
        return results;
    }

    private async Task<IssuerPublishResult> PublishIssuerAsync(IssuerOptions issuer, PublishOptions publish, CancellationToken cancellationToken)
    {
        string name = Printable.Escape(issuer.Name);
        var warnings = new List<string>();
        List<Upload> plan;
        try
        {
            plan = await PlanAsync(issuer, publish, warnings, cancellationToken).ConfigureAwait(false);
        }
        catch (SourceException e)
        {
            logger.LogError("Publish of issuer {Issuer} refused, nothing uploaded: {Error}", name, e.Message);
            return new IssuerPublishResult(name, [], [], warnings, $"{e.Message}; nothing uploaded");
        }
        foreach (var w in warnings) logger.LogWarning("Publish of issuer {Issuer}: {Warning}", name, w);

        var uploaded = new List<string>();
        var unchanged = new List<string>();
        foreach (var upload in plan)
        {
            string shown = InputChecks.Display(upload.Destination);
            if (upload.Unchanged)
            {
                unchanged.Add(shown);
                continue;
            }
            bool written;
            try
            {
                written = await target.WriteAsync(upload.Destination, upload.Content, upload.Current.ETag, cancellationToken).ConfigureAwait(false);
            }
            catch (SourceException e)
            {
                return Failed(name, uploaded, unchanged, warnings, e.Message);
            }
            if (!written)
                return Failed(name, uploaded, unchanged, warnings,
                    $"{shown} changed since it was read (another publisher?); not overwritten — run again");
            logger.LogInformation("Publish of issuer {Issuer}: uploaded {What} to {Destination} ({Bytes} bytes)", name, upload.What, shown, upload.Content.Length);
            uploaded.Add(shown);
        }
        return new IssuerPublishResult(name, uploaded, unchanged, warnings, null);
    }

    private IssuerPublishResult Failed(string name, List<string> uploaded, List<string> unchanged, List<string> warnings, string error)
    {
        string message = uploaded.Count == 0 ? $"{error}; nothing uploaded" : $"{error}; already uploaded: {string.Join(", ", uploaded)}";
        logger.LogError("Publish of issuer {Issuer} failed: {Error}", name, message);
        return new IssuerPublishResult(name, uploaded, unchanged, warnings, message);
    }

    /// <summary>Reads and validates everything; any failure throws before a single upload.</summary>
    private async Task<List<Upload>> PlanAsync(IssuerOptions issuer, PublishOptions publish, List<string> warnings, CancellationToken cancellationToken)
    {
        long maxBytes = configuration.Options.MaxSourceBytes;
        var now = time.GetUtcNow();
        var plan = new List<Upload>();

        var destinations = issuer.Crls.Where(target.CanWrite).ToList();
        if (publish.Crls.Count > 0)
        {
            var ca = await CertificateFiles.LoadAsync(sources, issuer.Certificate, maxBytes, cancellationToken).ConfigureAwait(false);
            var local = new List<(string Location, byte[] Content)>();
            var published = new List<(string Location, byte[] Content)>();
            for (int c = 0; c < publish.Crls.Count; c++)
            {
                var content = await FetchAsync(publish.Crls[c], cancellationToken).ConfigureAwait(false);
                var current = await target.ReadAsync(destinations[c], maxBytes, cancellationToken).ConfigureAwait(false);
                local.Add((publish.Crls[c], content));
                if (current.Content is { } old) published.Add((destinations[c], old));
                plan.Add(new Upload("CRL", destinations[c], content, current));
            }
            warnings.AddRange(await InputChecks.CheckCrlsAsync(issuer.Name, local, ca, published, now, cancellationToken).ConfigureAwait(false));
            // Full CRLs first: a delta is only accepted with a full CRL of at least its base number.
            plan = [.. plan.OrderBy(u => IsDelta(u.Content))];
        }

        if (!string.IsNullOrEmpty(publish.IssuedSerials))
        {
            var issued = await ReadIssuedSerialsAsync(publish, cancellationToken).ConfigureAwait(false);
            string destination = issuer.IssuedSerials!;
            var current = await target.ReadAsync(destination, maxBytes, cancellationToken).ConfigureAwait(false);
            int? previous = null;
            if (current.Content is { } old)
            {
                try
                {
                    previous = IssuedSerialsParser.Parse(old, issuer.IssuedSerialsFormat, destination).Serials.Count;
                }
                catch (SourceException e)
                {
                    warnings.Add($"the list now at {InputChecks.Display(destination)} cannot be read ({e.Message}); it is replaced without the shrink check");
                }
            }
            InputChecks.EnsureNotShrunk(previous, issued.Serials.Count, issuer.MaxSerialsShrink, InputChecks.Display(publish.IssuedSerials));
            if (issued.Revocations.Count > 0)
                warnings.Add($"{issued.Revocations.Count} revocations in {InputChecks.Display(publish.IssuedSerials)} travel in the CRL, not in the uploaded list");
            plan.Add(new Upload("issued serials", destination, IssuedSerialsText.Write(issued), current));
        }
        return plan;
    }

    private async Task<IssuedSerials> ReadIssuedSerialsAsync(PublishOptions publish, CancellationToken cancellationToken)
    {
        string location = publish.IssuedSerials!;
        if (publish.RunsCertutil)
            return CertutilOutput.Parse(await CertutilRunner.RunAsync(publish.Certutil, cancellationToken).ConfigureAwait(false), "certutil -view");
        bool directory = publish.IssuedSerialsFormat == IssuedSerialsFormat.WindowsDirectory
                         || (publish.IssuedSerialsFormat == IssuedSerialsFormat.Auto && Directory.Exists(location));
        if (directory)
        {
            var names = new List<string>();
            await foreach (var entry in sources.ListAsync(location, cancellationToken).ConfigureAwait(false)) names.Add(entry);
            return IssuedSerialsParser.FromFileNames(names, location);
        }
        var content = await FetchAsync(location, cancellationToken).ConfigureAwait(false);
        return IssuedSerialsParser.Parse(content, publish.IssuedSerialsFormat, location);
    }

    private async Task<byte[]> FetchAsync(string location, CancellationToken cancellationToken)
    {
        var fetch = await sources.FetchAsync(location, null, configuration.Options.MaxSourceBytes, cancellationToken).ConfigureAwait(false);
        return fetch.Content ?? throw new SourceException($"{InputChecks.Display(location)}: no content");
    }

    private static bool IsDelta(byte[] crl)
    {
        try
        {
            return Protocol.Crl.CertificateRevocationList.Decode((byte[])crl.Clone()).IsDelta; // PEM is decoded in place
        }
        catch (CrlException)
        {
            return false;
        }
    }
}
