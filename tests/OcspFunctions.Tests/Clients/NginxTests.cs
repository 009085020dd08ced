using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Clients;

/// <summary>nginx in front of the responder (caching reverse proxy) and as a stapling TLS server (fetched and file-based staples).</summary>
[Collection("pki")]
public sealed class NginxTests(TestPki pki)
{
    [Fact]
    public async Task Nginx_caching_proxy_serves_the_second_get_from_its_cache()
    {
        string curl = ExternalTool.Curl;
        await using var aia = await AiaPki.StartAsync(pki, "nginx-cache");
        string dir = Path.Combine(aia.Directory, "nginx");
        int port = ExternalTool.FreePort();
        using var nginx = await NginxProcess.StartAsync(dir, $$"""
                proxy_cache_path {{dir}}/cache levels=1:2 keys_zone=ocsp:1m;
                server {
                    listen 127.0.0.1:{{port}};
                    location / {
                        proxy_pass http://127.0.0.1:{{aia.Port}};
                        proxy_cache ocsp;
                        add_header X-Cache-Status $upstream_cache_status always;
                    }
                }
            """, port);

        string request = Path.Combine(aia.Directory, "req.der");
        OpenSsl.Run(aia.Directory, "ocsp", "-issuer", aia.CaCertPath, "-cert", aia.Good.PemPath, "-no_nonce", "-reqout", request);
        string url = $"http://127.0.0.1:{port}/" + Convert.ToBase64String(File.ReadAllBytes(request));

        long before = await aia.CounterAsync("served");
        var statuses = new List<string>();
        var bodies = new List<byte[]>();
        for (int i = 0; i < 2; i++)
        {
            string headers = Path.Combine(aia.Directory, $"h{i}.txt"), body = Path.Combine(aia.Directory, $"r{i}.der");
            var get = ExternalTool.Run(curl, aia.Directory, "-sS", "--fail", "--path-as-is", "-D", headers, "-o", body, url);
            Assert.True(get.ExitCode == 0, get + nginx.Log);
            string cacheStatus = File.ReadAllLines(headers).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Equals("X-Cache-Status", StringComparison.OrdinalIgnoreCase))
                .Select(p => p[1].Trim()).SingleOrDefault() ?? "(none)";
            statuses.Add(cacheStatus);
            bodies.Add(File.ReadAllBytes(body));
            var verify = OpenSsl.Run(aia.Directory, ["ocsp", "-respin", body, "-CAfile", aia.CaCertPath, "-issuer", aia.CaCertPath, "-cert", aia.Good.PemPath], check: false);
            Assert.True(verify.Output.Contains("Response verify OK", StringComparison.Ordinal) && verify.StdOut.Contains(": good", StringComparison.Ordinal), verify.ToString());
        }
        Assert.Equal(["MISS", "HIT"], statuses);
        Assert.Equal(bodies[0], bodies[1]);
        Assert.Equal(1, await aia.CounterAsync("served") - before);
    }

    [Fact]
    public async Task Nginx_ssl_stapling_fetches_from_the_aia_responder_and_staples_good()
    {
        await using var aia = await AiaPki.StartAsync(pki, "nginx-stapling");
        string dir = Path.Combine(aia.Directory, "nginx");
        int fromAia = ExternalTool.FreePort(), fromDirective = ExternalTool.FreePort();
        long before = await aia.CounterAsync("served");
        using var nginx = await NginxProcess.StartAsync(dir, $$"""
                ssl_certificate {{aia.Good.PemPath}};
                ssl_certificate_key {{aia.LeafKeyPath}};
                ssl_stapling on;
                ssl_stapling_verify on;
                ssl_trusted_certificate {{aia.CaCertPath}};
                server {
                    listen 127.0.0.1:{{fromAia}} ssl;
                    server_name localhost;
                    location / { return 200 "aia\n"; }
                }
                server {
                    listen 127.0.0.1:{{fromDirective}} ssl;
                    server_name localhost;
                    ssl_stapling_responder http://127.0.0.1:{{aia.Port}}/;
                    location / { return 200 "directive\n"; }
                }
            """, fromAia, fromDirective);

        foreach (int port in new[] { fromAia, fromDirective })
        {
            // nginx fetches the staple on the first handshake that needs it and staples from the next one on.
            var handshake = await HandshakeUntilStapledAsync(aia, port);
            Assert.True(handshake.StdOut.Contains("OCSP Response Status: successful (0x0)", StringComparison.Ordinal), handshake + nginx.Log);
            Assert.Contains("Cert Status: good", handshake.StdOut, StringComparison.Ordinal);
            Assert.Contains("Verify return code: 0 (ok)", handshake.StdOut, StringComparison.Ordinal);
        }
        Assert.True(await aia.CounterAsync("served") - before >= 2, "nginx did not fetch from the responder\n" + nginx.Log);
        Assert.DoesNotContain("OCSP response not successful", nginx.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nginx_ssl_stapling_file_written_by_the_staple_verb_is_stapled()
    {
        await using var aia = await AiaPki.StartAsync(pki, "nginx-staple-file");
        string staple = Path.Combine(aia.Directory, "staple.der");
        var verb = RunStapleVerb(aia.Directory, "staple", "--config", aia.WriteConfig(), "--cert", aia.Good.PemPath, "--out", staple);
        Assert.True(verb.ExitCode == 0, verb.ToString());

        // The responder is stopped: every staple must come from the file.
        await aia.StopResponderAsync();
        string dir = Path.Combine(aia.Directory, "nginx");
        int port = ExternalTool.FreePort();
        using var nginx = await NginxProcess.StartAsync(dir, $$"""
                server {
                    listen 127.0.0.1:{{port}} ssl;
                    server_name localhost;
                    ssl_certificate {{aia.Good.PemPath}};
                    ssl_certificate_key {{aia.LeafKeyPath}};
                    ssl_stapling on;
                    ssl_stapling_file {{staple}};
                    location / { return 200 "file\n"; }
                }
            """, port);

        var handshake = SClient(aia, port); // the file is loaded at startup: stapled on the very first handshake
        Assert.True(handshake.StdOut.Contains("OCSP Response Status: successful (0x0)", StringComparison.Ordinal), handshake + nginx.Log);
        Assert.Contains("Cert Status: good", handshake.StdOut, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", handshake.StdOut, StringComparison.Ordinal);
    }

    private static OpenSslResult SClient(AiaPki aia, int port) => OpenSsl.Run(aia.Directory,
        ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-status", "-CAfile", aia.CaCertPath, "-verify_hostname", "localhost"],
        check: false);

    private static async Task<OpenSslResult> HandshakeUntilStapledAsync(AiaPki aia, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var result = SClient(aia, port);
            if (result.StdOut.Contains("Cert Status:", StringComparison.Ordinal) || DateTime.UtcNow > deadline) return result;
            await Task.Delay(200);
        }
    }

    private static ToolResult RunStapleVerb(string workingDirectory, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "OcspResponder.dll");
        return ExternalTool.Run("dotnet", workingDirectory, [dll, .. args], TimeSpan.FromSeconds(60));
    }
}
