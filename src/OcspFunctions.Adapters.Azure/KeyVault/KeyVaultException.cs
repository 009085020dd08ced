namespace OcspFunctions.Adapters.Azure.KeyVault;

/// <summary>A Key Vault call that failed for good: a non-retryable answer, or retries used up.</summary>
public sealed class KeyVaultException : Exception
{
    public KeyVaultException(string message, int? status = null, string? errorCode = null, Exception? inner = null) : base(message, inner)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    /// <summary>The last HTTP status, when there was an answer.</summary>
    public int? Status { get; }

    /// <summary>Key Vault's error.code (Forbidden, KeyNotFound, Throttled, …), when it sent one.</summary>
    public string? ErrorCode { get; }
}
