namespace OcspFunctions.Protocol.Signing;

/// <summary>
/// Signs the DER of ResponseData (RFC 6960 §4.2.1). Implementations: a local key file, or a remote key
/// (Key Vault) through <see cref="DigestSigner"/>. Must be safe to call concurrently.
/// </summary>
public interface IOcspSigner
{
    SignatureAlgorithm Algorithm { get; }

    /// <summary>Returns the signature as it goes into the BIT STRING: PKCS#1/PSS octets, or DER ECDSA-Sig-Value.</summary>
    ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>The signing key's SubjectPublicKeyInfo DER, to check it matches the responder certificate.</summary>
    ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken);
}
