using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Serving;

/// <summary>
/// A POST body the client fails to deliver is the client's fault (issue 10 item 3): raw sockets against the real serve
/// process, then its counters and its captured log.
/// </summary>
[Collection("pki")]
public sealed class ClientBodyTests(TestPki pki)
{
    private static readonly HttpClient Http = new();

    private static string Head(int contentLength) =>
        $"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: {contentLength}\r\n\r\n";

    /// <summary>What the server sent before closing (or until <paramref name="timeout"/>); empty when it just closed.</summary>
    private static async Task<string> ReadAnswerAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                received.Write(buffer, 0, n);
                if (Encoding.ASCII.GetString(received.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal)) break;
            }
        }
        catch (SocketException)
        {
            // reset by the server: nothing more to read
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    [Fact]
    public async Task A_short_dripped_or_reset_post_body_is_a_client_error_not_an_internal_error_and_logs_no_stack_trace()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "client-body");
        var options = ca.Options("client-body");
        Assert.True((await RunningResponder.RefreshAsync(options, ca.StorePath)).Succeeded);
        using var serve = await ServeProcess.StartAsync(ServeProcess.WriteConfig(ca, "client-body"));
        var request = pki.MakeRequest("-issuer", ca.CaCertPath, "-cert", ca.Source.Good.First().CertPath, "-no_nonce");

        // 1. Shorter than its Content-Length: the client half-closes after half the body → the server closes, no answer.
        using (var socket = await ConnectAsync(serve.Port))
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(Head(request.Length)).Concat(request.Take(request.Length / 2)).ToArray());
            socket.Shutdown(SocketShutdown.Send);
            string answer = await ReadAnswerAsync(socket, TimeSpan.FromSeconds(20));
            Assert.Equal("", answer);
        }

        // 2. Dripped, then nothing: below the minimum body rate (240 B/s after a 5 s grace) → closed within seconds, no answer.
        using (var socket = await ConnectAsync(serve.Port))
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(Head(request.Length)));
            for (int i = 0; i < 3; i++)
            {
                await socket.SendAsync(request.AsMemory(i, 1));
                await Task.Delay(300);
            }
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            string answer = await ReadAnswerAsync(socket, TimeSpan.FromSeconds(30));
            Assert.Equal("", answer);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"closed only after {stopwatch.Elapsed}");
        }

        // 3. Reset mid-body (RST, not FIN): nobody left to answer.
        using (var socket = await ConnectAsync(serve.Port))
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(Head(request.Length)).Concat(request.Take(10)).ToArray());
            await Task.Delay(200);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }

        // A complete request on a new connection still gets its signed answer.
        using (var ok = await Http.PostAsync(serve.Url + "/", new ByteArrayContent(request)))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        JsonElement counters = default;
        for (int attempt = 0; attempt < 50; attempt++)
        {
            // The reset is noticed asynchronously: wait until all three are counted.
            using var health = await Http.GetAsync(serve.Url + "/health");
            counters = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("counters").Clone();
            if (counters.GetProperty("clientError").GetInt64() >= 3) break;
            await Task.Delay(100);
        }
        Assert.Equal(3, counters.GetProperty("clientError").GetInt64());
        Assert.Equal(0, counters.GetProperty("internalError").GetInt64());
        Assert.Equal(1, counters.GetProperty("served").GetInt64());

        string log = serve.Log;
        foreach (var forbidden in new[] { "   at ", "Exception", "Store failure", "fail:" })
            Assert.False(log.Contains(forbidden, StringComparison.Ordinal), $"'{forbidden}' in the log:\n{log}"); // no stack trace, no error
    }

    [Fact]
    public async Task An_oversized_post_gets_malformed_request_without_its_body_being_read()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "client-oversized");
        await using var r = await RunningResponder.StartAsync(ca, "client-oversized");
        using var socket = await ConnectAsync(new Uri(r.Url).Port);
        // Announces 1 MB, sends none of it: the answer comes from the Content-Length alone.
        await socket.SendAsync(Encoding.ASCII.GetBytes(Head(1_000_000)));
        string answer = await ReadAnswerAsync(socket, TimeSpan.FromSeconds(20));
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 5", answer, StringComparison.Ordinal); // 30 03 0A 01 01: malformedRequest
        Assert.Contains("no-store", answer, StringComparison.Ordinal);
    }
}
