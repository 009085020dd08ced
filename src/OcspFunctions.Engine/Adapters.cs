using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol.Signing;

namespace OcspFunctions.Engine;

/// <summary>
/// A kind of store (a directory, a Blob container). It owns its settings: the host binds <see cref="OptionsType"/> from
/// <c>Ocsp:Store</c>, accepts its properties as known keys, and builds the store of the first adapter the settings select.
/// </summary>
public interface IStoreAdapter
{
    /// <summary>Bound from <c>Ocsp:Store</c>; its public properties are the settings this adapter declares.</summary>
    Type OptionsType { get; }

    /// <summary>The settings that select this store, for the message when none is set (e.g. "Path (a directory)").</summary>
    string SelectedBy { get; }

    /// <summary>Relative file locations in the settings are relative to the configuration file.</summary>
    void ResolvePaths(object options, Func<string, string> resolve)
    {
    }

    bool Selects(object options);

    IObjectStore CreateStore(object options);

    /// <summary>Where the store is, for messages (a directory, a container); never a secret.</summary>
    string Describe(object options);

    /// <summary>
    /// False when the store certainly holds nothing yet (a directory that does not exist): the read verbs then say so
    /// instead of creating an empty store under a misspelt setting.
    /// </summary>
    bool MayHoldResponses(object options) => true;

    /// <summary>A reader of inputs kept next to the store (Blob: <c>blob:CONTAINER/NAME</c>), or null.</summary>
    ISourceReader? CreateSourceReader(object options) => null;
}

/// <summary>
/// A kind of responder key (a key file, a key held by a remote service). It owns its settings in each issuer's
/// <c>Responder</c> section; each issuer's settings must select exactly one signer adapter.
/// </summary>
public interface ISignerAdapter
{
    /// <summary>Bound from <c>Ocsp:Issuers:N:Responder</c>; its public properties are the settings this adapter declares.</summary>
    Type OptionsType { get; }

    /// <summary>The setting that selects this kind of key, for messages (e.g. "Key (a key file)").</summary>
    string SelectedBy { get; }

    bool Selects(object options);

    /// <summary>
    /// One factory per configuration (state shared by the issuers it signs for, such as a rate limiter, lives in it);
    /// <paramref name="sharedOptions"/> is an instance of <see cref="SharedOptionsType"/> bound from its section, or null.
    /// </summary>
    IResponderKeyFactory CreateFactory(object? sharedOptions);

    /// <summary>Settings outside the issuers this adapter reads (bound from <see cref="SharedSection"/>), or null.</summary>
    Type? SharedOptionsType => null;

    /// <summary>The section under <c>Ocsp</c> the shared settings are bound from.</summary>
    string? SharedSection => null;

    /// <summary>Whether these settings bring the responder certificate with the key (<see cref="IResponderCertificateSource"/>).</summary>
    bool SuppliesCertificate(object options) => false;
}

/// <summary>Creates the signer of one issuer from its bound adapter settings.</summary>
public interface IResponderKeyFactory
{
    Task<IOcspSigner> CreateAsync(IssuerOptions issuer, object options, CancellationToken cancellationToken);
}

/// <summary>A typed <see cref="ISignerAdapter"/>.</summary>
public abstract class SignerAdapter<TOptions> : ISignerAdapter where TOptions : class
{
    public Type OptionsType => typeof(TOptions);

    public abstract string SelectedBy { get; }

    public bool Selects(object options) => Selects((TOptions)options);

    protected abstract bool Selects(TOptions options);

    public abstract IResponderKeyFactory CreateFactory(object? sharedOptions);

    public virtual Type? SharedOptionsType => null;

    public virtual string? SharedSection => null;

    public bool SuppliesCertificate(object options) => SuppliesCertificate((TOptions)options);

    protected virtual bool SuppliesCertificate(TOptions options) => false;
}

/// <summary>A typed <see cref="IStoreAdapter"/>.</summary>
public abstract class StoreAdapter<TOptions> : IStoreAdapter where TOptions : class
{
    public Type OptionsType => typeof(TOptions);

    public abstract string SelectedBy { get; }

    public void ResolvePaths(object options, Func<string, string> resolve) => ResolvePaths((TOptions)options, resolve);

    public bool Selects(object options) => Selects((TOptions)options);

    public IObjectStore CreateStore(object options) => CreateStore((TOptions)options);

    public ISourceReader? CreateSourceReader(object options) => CreateSourceReader((TOptions)options);

    public string Describe(object options) => Describe((TOptions)options);

    public bool MayHoldResponses(object options) => MayHoldResponses((TOptions)options);

    protected abstract string Describe(TOptions options);

    protected virtual bool MayHoldResponses(TOptions options) => true;

    protected virtual void ResolvePaths(TOptions options, Func<string, string> resolve)
    {
    }

    protected abstract bool Selects(TOptions options);

    protected abstract IObjectStore CreateStore(TOptions options);

    protected virtual ISourceReader? CreateSourceReader(TOptions options) => null;
}

/// <summary>The embedded default key: <see cref="ResponderOptions.Key"/>, a PEM or DER file (<see cref="LocalKeySignerFactory"/>).</summary>
public sealed class LocalKeySignerAdapter : SignerAdapter<ResponderOptions>, IResponderKeyFactory
{
    public override string SelectedBy => "Key (a key file)";

    protected override bool Selects(ResponderOptions options) => !string.IsNullOrWhiteSpace(options.Key);

    public override IResponderKeyFactory CreateFactory(object? sharedOptions) => this;

    public Task<IOcspSigner> CreateAsync(IssuerOptions issuer, object options, CancellationToken cancellationToken) =>
        new LocalKeySignerFactory().CreateAsync(issuer, cancellationToken);
}
