namespace OcspFunctions.Protocol.Signing;

/// <summary>
/// Base for signers that are handed a digest and return a raw signature (Key Vault's sign operation, an HSM):
/// hashes locally, then converts ECDSA's raw r‖s into the DER ECDSA-Sig-Value that X.509/OCSP carry.
/// </summary>
public abstract class DigestSigner : IOcspSigner
{
    public abstract SignatureAlgorithm Algorithm { get; }

    /// <summary>Signs a digest; for ECDSA returns r‖s, for RSA the signature octets.</summary>
    protected abstract ValueTask<byte[]> SignDigestAsync(byte[] digest, CancellationToken cancellationToken);

    public abstract ValueTask<byte[]> GetSubjectPublicKeyInfoAsync(CancellationToken cancellationToken);

    public async ValueTask<byte[]> SignAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var algorithm = Algorithm;
        byte[] raw = await SignDigestAsync(algorithm.HashData(data.Span), cancellationToken).ConfigureAwait(false);
        return algorithm.KeyType == SignatureKeyType.Ec ? EcdsaSignature.RawToDer(raw, algorithm.EcFieldSize) : raw;
    }
}
