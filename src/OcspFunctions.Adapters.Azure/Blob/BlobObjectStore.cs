using System.Globalization;
using System.Runtime.CompilerServices;
using System.Xml.Linq;
using Azure;
using Azure.Core;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Adapters.Azure.Blob;

/// <summary>
/// The store in one Blob container, over the REST API (Put Blob is atomic: a reader sees the old or the new block
/// blob). Conditional writes use If-Match / If-None-Match: *; the refresh lease is a Blob lease on a small blob,
/// renewed in the background while held, so a crashed holder's lease lapses within a minute. The container is
/// created by the first write that finds it missing (a read-only identity never needs to create it).
/// </summary>
public sealed class BlobObjectStore : IObjectStore
{
    private readonly BlobConnection _connection;

    public BlobObjectStore(BlobConnection connection, string container)
    {
        BlobConnection.ValidateContainer(container);
        _connection = connection;
        Container = container;
    }

    public string Container { get; }

    public async Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken)
    {
        CheckName(name);
        using var message = _connection.CreateMessage(RequestMethod.Get, Container, name);
        var response = await SendAsync(message, "read", name, cancellationToken).ConfigureAwait(false);
        if (response.Status == 404) return null;
        if (response.Status != 200) throw Failure("read", name, response);
        return new StoredObject(response.Content.ToArray(), BlobConnection.Header(response, "ETag") ?? "",
            BlobConnection.LastModified(response) ?? DateTimeOffset.UnixEpoch);
    }

    public async Task<byte[]?> GetRangeAsync(string name, long offset, int length, CancellationToken cancellationToken)
    {
        CheckName(name);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        using var message = _connection.CreateMessage(RequestMethod.Get, Container, name);
        // x-ms-range (Specifying the range header for Blob service operations): both ends inclusive.
        message.Request.Headers.SetValue("x-ms-range", string.Create(CultureInfo.InvariantCulture, $"bytes={offset}-{offset + length - 1}"));
        var response = await SendAsync(message, "read", name, cancellationToken).ConfigureAwait(false);
        if (response.Status == 404) return null;
        if (response.Status != 206) throw Failure("ranged read", name, response); // 416: the range starts past the end
        var content = response.Content.ToArray();
        if (content.Length != length)
            throw new StoreException($"Blob ranged read '{name}' in container '{Container}': {content.Length} bytes at {offset} instead of {length} (past its end)");
        return content;
    }

    public async Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var message = await WriteAsync(() => PutMessage(name, content, null), "write", name, cancellationToken).ConfigureAwait(false);
        if (message.Response.Status != 201) throw Failure("write", name, message.Response);
    }

    public async Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken)
    {
        using var message = await WriteAsync(() => PutMessage(name, content, condition), "write", name, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        // 412 ConditionNotMet (If-Match), 409 BlobAlreadyExists (If-None-Match: *): another writer got there first.
        if (response.Status is 412 or 409) return null;
        if (response.Status != 201) throw Failure("write", name, response);
        return BlobConnection.Header(response, "ETag") ?? throw new StoreException($"Blob write '{name}': no ETag in the response");
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        CheckName(name);
        using var message = _connection.CreateMessage(RequestMethod.Delete, Container, name);
        var response = await SendAsync(message, "delete", name, cancellationToken).ConfigureAwait(false);
        if (response.Status == 404) return false;
        if (response.Status != 202) throw Failure("delete", name, response);
        return true;
    }

    public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) =>
        ListAsync(prefix, directChildrenOnly: false, missingContainerIsEmpty: true, cancellationToken);

    /// <summary>List Blobs, page by page (maxresults ≤ 5000, following NextMarker); with a '/' delimiter for direct children only.</summary>
    internal async IAsyncEnumerable<string> ListAsync(string prefix, bool directChildrenOnly, bool missingContainerIsEmpty,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? marker = null;
        do
        {
            var (names, next) = await ListPageAsync(prefix, directChildrenOnly, missingContainerIsEmpty, marker, cancellationToken).ConfigureAwait(false);
            foreach (var name in names) yield return name;
            marker = next;
        }
        while (marker is not null);
    }

    private async Task<(List<string> Names, string? NextMarker)> ListPageAsync(string prefix, bool directChildrenOnly,
        bool missingContainerIsEmpty, string? marker, CancellationToken cancellationToken)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"restype=container&comp=list&maxresults={_connection.ListPageSize}");
        if (prefix.Length > 0) query += "&prefix=" + Uri.EscapeDataString(prefix);
        if (directChildrenOnly) query += "&delimiter=%2F";
        if (marker is not null) query += "&marker=" + Uri.EscapeDataString(marker);
        using var message = _connection.CreateMessage(RequestMethod.Get, Container, null, query);
        var response = await SendAsync(message, "list", prefix, cancellationToken).ConfigureAwait(false);
        if (response.Status == 404 && missingContainerIsEmpty && BlobConnection.ErrorCode(response) == "ContainerNotFound") return ([], null);
        if (response.Status != 200) throw Failure("list", prefix, response);
        try
        {
            var root = XDocument.Load(response.Content.ToStream()).Root!;
            var names = root.Element("Blobs")?.Elements("Blob").Select(b => (string?)b.Element("Name")).OfType<string>().ToList() ?? [];
            string? next = (string?)root.Element("NextMarker");
            return (names, string.IsNullOrEmpty(next) ? null : next);
        }
        catch (System.Xml.XmlException e)
        {
            throw new StoreException($"Blob list '{prefix}': the service returned malformed XML: {e.Message}", e);
        }
    }

    public async Task<IAsyncDisposable?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken)
    {
        // The lease blob must exist: create it if absent (someone else creating it first is fine).
        await PutAsync(name, "refresh lease\n"u8.ToArray(), PutCondition.Absent, cancellationToken).ConfigureAwait(false);

        // A Blob lease lasts 15–60 s; it is renewed every third of that while held, so a holder that dies without
        // releasing it blocks the next one for at most a minute (the requested duration only caps that).
        int seconds = (int)Math.Clamp(duration.TotalSeconds, 15, 60);
        using var message = LeaseMessage(name, "acquire", null, seconds);
        var response = await SendAsync(message, "lease", name, cancellationToken).ConfigureAwait(false);
        if (response.Status == 409) return null; // LeaseAlreadyPresent
        if (response.Status != 201) throw Failure("lease", name, response);
        string leaseId = BlobConnection.Header(response, "x-ms-lease-id") ?? throw new StoreException($"Blob lease '{name}': no lease id returned");
        return new Lease(this, name, leaseId, TimeSpan.FromSeconds(seconds / 3.0));
    }

    private sealed class Lease : IAsyncDisposable
    {
        private readonly BlobObjectStore _store;
        private readonly string _name;
        private readonly string _id;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewals;
        private int _disposed;

        public Lease(BlobObjectStore store, string name, string id, TimeSpan renewEvery)
        {
            _store = store;
            _name = name;
            _id = id;
            _renewals = RenewAsync(renewEvery);
        }

        private async Task RenewAsync(TimeSpan every)
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(every, _stop.Token).ConfigureAwait(false);
                    await _store.LeaseActionAsync(_name, "renew", _id, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (StoreException)
                {
                    // Tried again at the next tick; the writes stay conditional if the lease is lost meanwhile.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewals.ConfigureAwait(false);
            _stop.Dispose();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _store.LeaseActionAsync(_name, "release", _id, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is StoreException or OperationCanceledException)
            {
                // Not released: it lapses by itself within a minute.
            }
        }
    }

    private async Task LeaseActionAsync(string name, string action, string leaseId, CancellationToken cancellationToken)
    {
        using var message = LeaseMessage(name, action, leaseId, null);
        var response = await SendAsync(message, "lease " + action, name, cancellationToken).ConfigureAwait(false);
        if (response.Status != 200) throw Failure("lease " + action, name, response);
    }

    private HttpMessage LeaseMessage(string name, string action, string? leaseId, int? seconds)
    {
        CheckName(name);
        var message = _connection.CreateMessage(RequestMethod.Put, Container, name, "comp=lease");
        message.Request.Headers.SetValue("x-ms-lease-action", action);
        if (leaseId is not null) message.Request.Headers.SetValue("x-ms-lease-id", leaseId);
        if (seconds is { } s) message.Request.Headers.SetValue("x-ms-lease-duration", s.ToString(CultureInfo.InvariantCulture));
        return message;
    }

    private HttpMessage PutMessage(string name, ReadOnlyMemory<byte> content, PutCondition? condition)
    {
        CheckName(name);
        var message = _connection.CreateMessage(RequestMethod.Put, Container, name);
        var request = message.Request;
        request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        request.Headers.SetValue("Content-Type", "application/octet-stream");
        if (condition is { IfNoneExists: true }) request.Headers.SetValue("If-None-Match", "*");
        else if (condition?.IfMatch is { } etag) request.Headers.SetValue("If-Match", etag);
        request.Content = RequestContent.Create(content);
        return message;
    }

    /// <summary>Sends a write; when the container does not exist yet, creates it and sends the write once more.</summary>
    private async Task<HttpMessage> WriteAsync(Func<HttpMessage> create, string operation, string name, CancellationToken cancellationToken)
    {
        var message = create();
        try
        {
            var response = await SendAsync(message, operation, name, cancellationToken).ConfigureAwait(false);
            if (response.Status != 404 || BlobConnection.ErrorCode(response) != "ContainerNotFound") return message;
            message.Dispose();
            await CreateContainerAsync(cancellationToken).ConfigureAwait(false);
            message = create();
            await SendAsync(message, operation, name, cancellationToken).ConfigureAwait(false);
            return message;
        }
        catch
        {
            message.Dispose();
            throw;
        }
    }

    private async Task CreateContainerAsync(CancellationToken cancellationToken)
    {
        using var message = _connection.CreateMessage(RequestMethod.Put, Container, null, "restype=container");
        var response = await SendAsync(message, "create container", Container, cancellationToken).ConfigureAwait(false);
        if (response.Status is not (201 or 409)) throw Failure("create container", Container, response); // 409: created meanwhile
    }

    private async Task<Response> SendAsync(HttpMessage message, string operation, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _connection.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (BlobConnection.IsTransportFailure(e, cancellationToken))
        {
            throw new StoreException($"Blob {operation} '{name}' in container '{Container}' failed: {e.Message}", e);
        }
    }

    private StoreException Failure(string operation, string name, Response response) =>
        new($"Blob {operation} '{name}' in container '{Container}' failed: {BlobConnection.Describe(response)}");

    private static void CheckName(string name)
    {
        if (name.Length == 0 || name.Length > 1024 || name.Contains("..", StringComparison.Ordinal) || name.StartsWith('/') || name.Contains('\\'))
            throw new ArgumentException($"bad store name '{name}'");
    }
}
