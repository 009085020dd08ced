using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;

namespace OcspFunctions.Hosting;

/// <summary>
/// The configuration bound once: the engine's options, the host's HTTP settings, and each registered adapter's own
/// settings (bound from the same sections), with the adapter each issuer's responder settings selected.
/// </summary>
public sealed class OcspConfiguration
{
    public required OcspOptions Options { get; init; }

    public HttpServeOptions Serve { get; init; } = new();

    /// <summary>Every registered store adapter with its settings from <c>Ocsp:Store</c>.</summary>
    public IReadOnlyList<(IStoreAdapter Adapter, object Settings)> Stores { get; init; } = [];

    /// <summary>Per issuer (by position): the signer adapters its <c>Responder</c> settings select (exactly one when valid).</summary>
    public IReadOnlyList<IReadOnlyList<(ISignerAdapter Adapter, object Settings)>> IssuerSigners { get; init; } = [];

    /// <summary>Settings a signer adapter reads outside the issuers (<see cref="ISignerAdapter.SharedOptionsType"/>).</summary>
    public IReadOnlyDictionary<ISignerAdapter, object?> SignerShared { get; init; } = new Dictionary<ISignerAdapter, object?>();

    /// <summary>Per issuer (by position): its <c>Publish</c> section for the CA-side <c>publish</c> verb, or null.</summary>
    public IReadOnlyList<Publishing.PublishOptions?> Publish { get; init; } = [];

    /// <summary>
    /// Configuration made in code (tests, tools): the engine options, responder key files, and <paramref name="store"/> — the
    /// settings object of a registered store adapter (e.g. <see cref="FileSystemStoreOptions"/>), or none.
    /// </summary>
    public static OcspConfiguration ForOptions(OcspOptions options, object? store = null, HttpServeOptions? serve = null)
    {
        var local = Registrations.Signers.OfType<LocalKeySignerAdapter>().Single();
        return new OcspConfiguration
        {
            Options = options,
            Serve = serve ?? new HttpServeOptions(),
            Stores = store is null ? [] : [(Registrations.Stores.Single(s => s.OptionsType == store.GetType()), store)],
            IssuerSigners = options.Issuers.Select(i => (IReadOnlyList<(ISignerAdapter, object)>)[(local, i.Responder)]).ToList(),
        };
    }

    /// <summary>Errors and warnings of the whole configuration: the engine's rules, then which key signs for each issuer.</summary>
    public (List<string> Errors, List<string> Warnings) Validate()
    {
        var (errors, warnings) = OcspOptionsValidator.Validate(Options,
            i => i < IssuerSigners.Count && IssuerSigners[i].Count == 1 && IssuerSigners[i][0].Adapter.SuppliesCertificate(IssuerSigners[i][0].Settings));
        if (Serve.MaxAgeCap < TimeSpan.Zero) errors.Add("Ocsp:Serve:MaxAgeCap must not be negative");
        if (Serve.MaxRequestBytes <= 0) errors.Add("Ocsp:Serve:MaxRequestBytes must be positive");
        if (!(Serve.AuditSampleRate is >= 0 and <= 1)) errors.Add("Ocsp:Serve:AuditSampleRate must be between 0 (off) and 1 (every answer)");
        for (int i = 0; i < IssuerSigners.Count && i < Options.Issuers.Count; i++)
        {
            if (IssuerSigners[i].Count == 1) continue;
            errors.Add($"Ocsp:Issuers:{i}:Responder: set exactly one of {string.Join(" and ", Registrations.Signers.Select(s => s.SelectedBy))}");
        }
        return (errors, warnings);
    }
}
