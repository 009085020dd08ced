using System.Security.Cryptography;

namespace OcspFunctions.Protocol.Signing;

/// <summary>
/// Signs with a private key from a PEM file (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY") or a
/// DER PKCS#8 file: RSA ≥ 2048 with PKCS#1 v1.5 (or PSS) over SHA-256, ECDSA P-256 / P-384. Key objects are
/// pooled so concurrent signing never shares one native context.
/// </summary>
public sealed class LocalKeySigner : IOcspSigner, IDisposable
{
    private readonly byte[] _pkcs8;
    /// <summary>Room for a key per concurrent signer even with Ocsp:SigningConcurrency above the cores: a key not kept is imported again.</summary>
    private readonly SlotPool<AsymmetricAlgorithm> _pool = new(Math.Max(64, SlotPool<AsymmetricAlgorithm>.DefaultSlots));
    private readonly byte[] _subjectPublicKeyInfo;

    private LocalKeySigner(AsymmetricAlgorithm key, SignatureAlgorithm algorithm)
    {
        Algorithm = algorithm;
        _pkcs8 = key.ExportPkcs8PrivateKey();
        _subjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
        _pool.TryReturn(key);
    }

    public SignatureAlgorithm Algorithm { get; }

    public static LocalKeySigner FromFile(string path, bool usePss = false, string? password = null)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read responder key file '{path}': {e.Message}", e);
        }
        return FromBytes(bytes, usePss, password, path);
    }

    public static LocalKeySigner FromBytes(byte[] keyFile, bool usePss = false, string? password = null, string source = "key")
    {
        var key = LoadKey(keyFile, password, source);
        return FromKey(key, usePss, source);
    }

    /// <summary>Takes ownership of <paramref name="key"/>.</summary>
    public static LocalKeySigner FromKey(AsymmetricAlgorithm key, bool usePss = false, string source = "key")
    {
        switch (key)
        {
            case RSA rsa when rsa.KeySize < 2048:
                throw new ArgumentException($"{source}: RSA key of {rsa.KeySize} bits is too small (CA/B Forum BR §6.1.5: at least 2048)");
            case RSA:
                return new LocalKeySigner(key, usePss ? SignatureAlgorithm.PS256 : SignatureAlgorithm.RS256);
            case ECDsa ec:
                var algorithm = ec.KeySize switch
                {
                    256 => SignatureAlgorithm.ES256,
                    384 => SignatureAlgorithm.ES384,
                    _ => throw new ArgumentException($"{source}: EC key of {ec.KeySize} bits is not supported (use P-256 or P-384)"),
                };
                return new LocalKeySigner(key, algorithm);
            default:
                throw new ArgumentException($"{source}: unsupported key type {key.GetType().Name}");
        }
    }

    private static AsymmetricAlgorithm LoadKey(byte[] keyFile, string? password, string source)
    {
        string? pem = LooksLikePem(keyFile) ? System.Text.Encoding.ASCII.GetString(keyFile) : null;
        var errors = new List<string>();
        foreach (var candidate in new Func<AsymmetricAlgorithm>[] { RSA.Create, ECDsa.Create })
        {
            var key = candidate();
            try
            {
                if (pem is not null && password is not null) key.ImportFromEncryptedPem(pem, password);
                else if (pem is not null) key.ImportFromPem(pem);
                else if (password is not null) key.ImportEncryptedPkcs8PrivateKey(password, keyFile, out _);
                else key.ImportPkcs8PrivateKey(keyFile, out _);
                return key;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                errors.Add(e.Message);
                key.Dispose();
            }
        }
        throw new ArgumentException($"{source}: not a readable RSA or EC private key ({string.Join("; ", errors)})");
    }

    private static bool LooksLikePem(byte[] bytes) =>
        bytes.AsSpan().IndexOf("-----BEGIN"u8) >= 0;

    public ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Sign(data.Span));
    }

    /// <summary>Synchronous signing: the local key never waits on I/O.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var key = Rent();
        try
        {
            return key switch
            {
                RSA rsa => rsa.SignData(data, Algorithm.HashAlgorithm, Algorithm.RsaPadding),
                ECDsa ec => SignEc(ec, data),
                _ => throw new InvalidOperationException(),
            };
        }
        finally
        {
            if (!_pool.TryReturn(key)) key.Dispose();
        }
    }

    /// <summary>
    /// ECDSA as r‖s into a stack buffer, then DER: the same signature as <c>Rfc3279DerSequence</c>, without the ~1.4 KB
    /// .NET allocates per signature to re-encode it (half of what a refresh allocated per response).
    /// </summary>
    private byte[] SignEc(ECDsa ec, ReadOnlySpan<byte> data)
    {
        Span<byte> raw = stackalloc byte[2 * Algorithm.EcFieldSize];
        if (!ec.TrySignData(data, raw, Algorithm.HashAlgorithm, DSASignatureFormat.IeeeP1363FixedFieldConcatenation, out int written) || written != raw.Length)
            throw new CryptographicException($"ECDSA signature of an unexpected size ({written} bytes)");
        return EcdsaSignature.RawToDer(raw, Algorithm.EcFieldSize);
    }

    public ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(_subjectPublicKeyInfo);

    private AsymmetricAlgorithm Rent()
    {
        if (_pool.TryTake() is { } key) return key;
        AsymmetricAlgorithm fresh = Algorithm.KeyType == SignatureKeyType.Rsa ? RSA.Create() : ECDsa.Create();
        switch (fresh)
        {
            case RSA r: r.ImportPkcs8PrivateKey(_pkcs8, out _); break;
            case ECDsa e: e.ImportPkcs8PrivateKey(_pkcs8, out _); break;
        }
        return fresh;
    }

    public void Dispose()
    {
        foreach (var key in _pool.Drain()) key.Dispose();
    }
}
