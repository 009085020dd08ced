using System.Security.Cryptography.X509Certificates;

namespace OcspFunctions.Protocol;

/// <summary>
/// A CA certificate seen as CertID material (RFC 6960 §4.1.1): issuerNameHash is the hash of the subject
/// Name's DER, issuerKeyHash the hash of the subjectPublicKey BIT STRING value. Hashes are computed once.
/// </summary>
public sealed class OcspIssuer
{
    private readonly Dictionary<CertIdHashAlgorithm, (byte[] Name, byte[] Key)> _hashes = [];

    public OcspIssuer(X509Certificate2 certificate)
    {
        Certificate = certificate;
        SubjectPublicKey = certificate.PublicKey.EncodedKeyValue.RawData;
        foreach (var algorithm in CertIdHashAlgorithms.All)
            _hashes[algorithm] = (algorithm.Hash(certificate.SubjectName.RawData), algorithm.Hash(SubjectPublicKey));
        KeyHashHex = Convert.ToHexString(KeyHash(CertIdHashAlgorithm.Sha1));
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>The subjectPublicKey BIT STRING value (no tag, length or unused-bits octet).</summary>
    public byte[] SubjectPublicKey { get; }

    public byte[] NameHash(CertIdHashAlgorithm algorithm) => _hashes[algorithm].Name;

    public byte[] KeyHash(CertIdHashAlgorithm algorithm) => _hashes[algorithm].Key;

    /// <summary>SHA-1 of the key: the CA's usual key identifier, and a stable directory name for the store.</summary>
    public string KeyHashHex { get; }

    public CertId CertIdFor(SerialNumber serial, CertIdHashAlgorithm algorithm) =>
        new(algorithm, NameHash(algorithm), KeyHash(algorithm), serial);

    /// <summary>
    /// True when the CertID names this issuer. The key hash decides (same key, not just same name: RFC 6960
    /// §4.2.2.2); certutil sends an empty issuerKeyHash when it lacks the issuer, then the name hash alone decides.
    /// </summary>
    public bool Matches(CertId certId)
    {
        if (certId.HashAlgorithm == CertIdHashAlgorithm.Unsupported) return false;
        var (name, key) = _hashes[certId.HashAlgorithm];
        bool nameMatches = certId.IssuerNameHash.AsSpan().SequenceEqual(name);
        return certId.IssuerKeyHash.Length == 0 ? nameMatches : nameMatches && certId.IssuerKeyHash.AsSpan().SequenceEqual(key);
    }
}

/// <summary>Finds the issuer a CertID names among several (a deployment serves several CAs and CA keys).</summary>
public sealed class IssuerDirectory
{
    // Keyed by the hash bytes themselves: a lookup (every request) formats no hex string.
    private readonly Dictionary<(CertIdHashAlgorithm, byte[]), OcspIssuer> _byKeyHash = new(KeyHashComparer.Instance);
    private readonly List<OcspIssuer> _issuers = [];

    public IssuerDirectory(IEnumerable<OcspIssuer> issuers)
    {
        foreach (var issuer in issuers)
        {
            _issuers.Add(issuer);
            foreach (var algorithm in CertIdHashAlgorithms.All)
                _byKeyHash[(algorithm, issuer.KeyHash(algorithm))] = issuer;
        }
    }

    public IReadOnlyList<OcspIssuer> Issuers => _issuers;

    /// <summary>The issuer whose name and key the CertID names, or null (the answer is then unauthorized).</summary>
    public OcspIssuer? Find(CertId certId)
    {
        if (certId.HashAlgorithm == CertIdHashAlgorithm.Unsupported) return null;
        if (certId.IssuerKeyHash.Length > 0)
        {
            return _byKeyHash.TryGetValue((certId.HashAlgorithm, certId.IssuerKeyHash), out var issuer)
                   && issuer.Matches(certId) ? issuer : null;
        }
        // Empty key hash: only an unambiguous name match is an answer.
        var byName = _issuers.Where(i => i.Matches(certId)).Take(2).ToList();
        return byName.Count == 1 ? byName[0] : null;
    }
}

/// <summary>An (algorithm, key hash) pair compared by the bytes of the hash.</summary>
internal sealed class KeyHashComparer : IEqualityComparer<(CertIdHashAlgorithm Algorithm, byte[] Hash)>
{
    public static readonly KeyHashComparer Instance = new();

    public bool Equals((CertIdHashAlgorithm Algorithm, byte[] Hash) x, (CertIdHashAlgorithm Algorithm, byte[] Hash) y) =>
        x.Algorithm == y.Algorithm && x.Hash.AsSpan().SequenceEqual(y.Hash);

    public int GetHashCode((CertIdHashAlgorithm Algorithm, byte[] Hash) key)
    {
        var hash = new HashCode();
        hash.Add(key.Algorithm);
        hash.AddBytes(key.Hash);
        return hash.ToHashCode();
    }
}
