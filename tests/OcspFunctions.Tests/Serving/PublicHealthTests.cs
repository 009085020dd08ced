using System.Net;
using System.Text.Json;
using OcspFunctions.Engine.Store;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Hosting;

namespace OcspFunctions.Tests.Serving;

/// <summary>/health is anonymous on the internet (issue 10 item 4): states and counts, never paths, error text or configuration.</summary>
[Collection("pki")]
public sealed class PublicHealthTests(TestPki pki)
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task After_a_refresh_that_failed_with_a_path_in_its_error_health_shows_failing_and_no_path_or_text()
    {
        const string name = "health-private-name";
        await using var r = await RunningResponder.StartAsync(pki, name);
        using (var fresh = await Http.GetAsync(r.Url + "/health"))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
            var issuer = JsonDocument.Parse(await fresh.Content.ReadAsStringAsync()).RootElement.GetProperty("issuers")[0];
            Assert.Equal("fresh", issuer.GetProperty("state").GetString());
            // A count, never the text (the fixture's two-day responder certificate draws an expiry warning).
            Assert.Equal(JsonValueKind.Number, issuer.GetProperty("warnings").ValueKind);
            Assert.True(issuer.GetProperty("warnings").GetInt32() >= 1);
            // The responder certificate is one of the CA's issued serials, so it is counted among the good.
            Assert.Equal(r.Ca.Source.Good.Count() + 1, issuer.GetProperty("good").GetInt32());
            Assert.Equal(0, issuer.GetProperty("backlog").GetInt32()); // a number, never text
        }

        File.Delete(r.Ca.CrlPath);
        Assert.False((await RunningResponder.RefreshAsync(r.Options, r.Ca.StorePath)).Succeeded);
        // The failure's text does name the path: in the manifest (for `status` and the log), not on /health.
        var manifest = IssuerManifest.Parse((await File.ReadAllBytesAsync(Path.Combine(r.Ca.StorePath, "issuers", r.Issuer.KeyHashHex, "manifest.json"))),
            "manifest");
        string error = Assert.Single(manifest.Errors);
        Assert.Contains(r.Ca.Directory, error, StringComparison.Ordinal);

        using var failing = await Http.GetAsync(r.Url + "/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
        string body = await failing.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("unhealthy", root.GetProperty("status").GetString());
        var failed = root.GetProperty("issuers")[0];
        Assert.Equal("failing", failed.GetProperty("state").GetString());
        Assert.Equal(1, failed.GetProperty("errors").GetInt32());
        Assert.Equal(JsonValueKind.Number, failed.GetProperty("errors").ValueKind);
        Assert.Equal(JsonValueKind.Number, failed.GetProperty("warnings").ValueKind);

        string json = body.Replace("\\/", "/", StringComparison.Ordinal);
        foreach (var secret in new[] { r.Ca.Directory, r.Ca.StorePath, r.Ca.CrlPath, "crl.pem", r.Ca.ResponderKeyPath, name, error })
            Assert.DoesNotContain(secret, json, StringComparison.Ordinal);
        Assert.DoesNotContain("/tmp", json, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), json, StringComparison.Ordinal);
    }

    [Fact]
    public void The_state_is_stale_beats_failing_beats_fresh()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.Equal("stale", ResponderHost.HealthState(null, now));
        var ok = new IssuerManifest { LastRunSucceeded = true, OldestNextUpdate = now.AddDays(1), NextRefreshDue = now.AddHours(1) };
        Assert.Equal("fresh", ResponderHost.HealthState(ok, now));
        ok.LastRunSucceeded = false;
        Assert.Equal("failing", ResponderHost.HealthState(ok, now));
        ok.NextRefreshDue = now - ResponderHost.StaleAfterDue - TimeSpan.FromMinutes(1);
        Assert.Equal("stale", ResponderHost.HealthState(ok, now));
        var expired = new IssuerManifest { LastRunSucceeded = true, OldestNextUpdate = now, NextRefreshDue = now };
        Assert.Equal("stale", ResponderHost.HealthState(expired, now));
    }
}
