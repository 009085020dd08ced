using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine.Telemetry;
using OcspFunctions.Hosting;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;
using OcspFunctions.Tests.Serving;

namespace OcspFunctions.Tests.Metrics;

/// <summary>Issue 13 item 2: the OcspFunctions meter read back after real requests to a real Kestrel responder, and /metrics scraped.</summary>
[Collection("pki")]
public sealed class MetricsTests(TestPki pki)
{
    private static readonly HttpClient Http = new();

    private static async Task<HttpResponseMessage> PostAsync(string url, byte[] request)
    {
        var content = new ByteArrayContent(request);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
        return await Http.PostAsync(url, content);
    }

    /// <summary>GET good twice (store read, then cache hit), POST revoked, an unknown issuer, garbage.</summary>
    private async Task<string> AskAsync(MeteredResponder r)
    {
        var good = r.Ca.Source.Good.First();
        var revoked = r.Ca.Source.Revoked.First();
        var goodRequest = pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-cert", good.CertPath, "-no_nonce");
        for (int i = 0; i < 2; i++)
        {
            using var get = await Http.GetAsync(r.Url + "/" + OcspGetPath.Encode(goodRequest));
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        }
        using (var post = await PostAsync(r.Url + "/", pki.MakeRequest("-issuer", r.Ca.CaCertPath, "-cert", revoked.CertPath, "-no_nonce")))
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        // A CertID of the other test CA: an issuer this responder does not serve.
        var other = pki.RsaCa;
        using (var unknown = await PostAsync(r.Url + "/", pki.MakeRequest("-issuer", other.CertPath, "-cert", other.Leaves[0].CertPath, "-no_nonce")))
            Assert.Equal(OcspResponseStatus.Unauthorized, OcspResponse.Decode(await unknown.Content.ReadAsByteArrayAsync()).Status);
        using (var garbage = await Http.GetAsync(r.Url + "/bm90LWFuLW9jc3AtcmVxdWVzdA"))
            Assert.Equal(OcspResponseStatus.MalformedRequest, OcspResponse.Decode(await garbage.Content.ReadAsByteArrayAsync()).Status);
        return good.SerialHex;
    }

    [Fact]
    public async Task After_real_requests_the_meter_holds_answers_by_status_and_method_cache_hits_store_reads_and_the_issuer_gauges()
    {
        await using var r = await MeteredResponder.StartAsync(pki, "metrics-read", new HttpServeOptions());
        using var capture = new MeterCapture(r.Instruments.Meter);
        await AskAsync(r);

        Assert.Equal(2, capture.Sum(OcspInstruments.Answers, ("status", "good"), ("method", "GET")));
        Assert.Equal(1, capture.Sum(OcspInstruments.Answers, ("status", "revoked"), ("method", "POST")));
        Assert.Equal(1, capture.Sum(OcspInstruments.Answers, ("status", "unauthorized"), ("method", "POST")));
        Assert.Equal(1, capture.Sum(OcspInstruments.Answers, ("status", "malformedRequest"), ("method", "GET")));
        Assert.Equal(5, capture.Sum(OcspInstruments.Answers));
        // The first GET read the store, the second was a cache hit; the POST for the revoked serial read the store.
        Assert.Equal(1, capture.Sum(OcspInstruments.CacheHits));
        Assert.Equal(2, capture.Sum(OcspInstruments.StoreReads));
        Assert.Equal(2, capture.Count(OcspInstruments.StoreReadDuration));
        Assert.All(capture.Measurements.Where(m => m.Name == OcspInstruments.StoreReadDuration), m => Assert.InRange(m.Value, 0, 10));
        Assert.True(capture.Sum(OcspInstruments.IndexReloads, ("issuer", new OcspIssuer(r.Ca.Source.Certificate).KeyHashHex)) >= 1);

        capture.Observe();
        string issuer = new OcspIssuer(r.Ca.Source.Certificate).KeyHashHex;
        var freshness = Assert.Single(capture.Measurements, m => m.Name == OcspInstruments.Freshness);
        Assert.Equal(issuer, freshness.Tags["issuer"]);
        // Responses valid for the fixture's validity.
        Assert.InRange(freshness.Value, TimeSpan.FromHours(1).TotalSeconds, TimeSpan.FromDays(4).TotalSeconds);
        var expiry = Assert.Single(capture.Measurements, m => m.Name == OcspInstruments.ResponderDaysToExpiry);
        Assert.InRange(expiry.Value, 19, 21); // the fixture's 20-day responder certificate
        // The refresh finished everything: the manifest's backlog, as the gauge reads it, is 0.
        var backlog = Assert.Single(capture.Measurements, m => m.Name == OcspInstruments.Backlog);
        Assert.Equal(issuer, backlog.Tags["issuer"]);
        Assert.Equal(0, backlog.Value);

        // /health's totals keep working next to the meter.
        using var health = await Http.GetAsync(r.Url + "/health");
        string json = await health.Content.ReadAsStringAsync();
        Assert.Contains("\"served\": 3", json, StringComparison.Ordinal);
        Assert.Contains("\"unauthorized\": 1", json, StringComparison.Ordinal);
        Assert.Contains("\"malformed\": 1", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_published_instrument_names_are_exactly_the_list_the_infrastructure_test_reads()
    {
        using var instruments = new OcspInstruments();
        using var capture = new MeterCapture(instruments.Meter);
        Assert.Equal(OcspInstruments.Names.Order(StringComparer.Ordinal), capture.Published.Order(StringComparer.Ordinal));
        Assert.Equal(OcspInstruments.MeterName, instruments.Meter.Name);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Serve_with_PrometheusMetrics_answers_metrics_text_after_real_requests_and_without_it_metrics_is_an_ocsp_path()
    {
        await using var r = await MeteredResponder.StartAsync(pki, "metrics-prom", new HttpServeOptions { PrometheusMetrics = true });
        await AskAsync(r);
        string issuer = new OcspIssuer(r.Ca.Source.Certificate).KeyHashHex;
        using var scrape = await Http.GetAsync(r.Url + "/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        string text = await scrape.Content.ReadAsStringAsync();
        // Other tests in this process may serve too (the exporter listens by meter name): at least this test's answers.
        Assert.True(Value(text, "ocsp_answers_total", "method=\"GET\"", "status=\"good\"") >= 2, text);
        Assert.True(Value(text, "ocsp_answers_total", "method=\"POST\"", "status=\"revoked\"") >= 1, text);
        Assert.True(Value(text, "ocsp_cache_hits_total") >= 1, text);
        Assert.True(Value(text, "ocsp_store_read_duration_seconds_count") >= 2, text);
        // Buckets in seconds (a store read takes milliseconds), not the SDK's default millisecond boundaries.
        Assert.True(Value(text, "ocsp_store_read_duration_seconds_bucket", "le=\"2.5\"") >= 2, text);
        Assert.True(Value(text, "ocsp_freshness_seconds", $"issuer=\"{issuer}\"") > 3600, text);
        Assert.InRange(Value(text, "ocsp_responder_expiry_days", $"issuer=\"{issuer}\""), 19, 21);

        await using var plain = await MeteredResponder.StartAsync(pki, "metrics-off", new HttpServeOptions());
        using var off = await Http.GetAsync(plain.Url + "/metrics");
        Assert.Equal("application/ocsp-response", off.Content.Headers.ContentType!.MediaType);
        Assert.Equal(OcspResponseStatus.MalformedRequest, OcspResponse.Decode(await off.Content.ReadAsByteArrayAsync()).Status);
    }

    /// <summary>The value of the first sample line of <paramref name="metric"/> carrying every label given.</summary>
    private static double Value(string text, string metric, params string[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            var m = Regex.Match(line, @"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>\S+)");
            if (!m.Success || m.Groups["name"].Value != metric) continue;
            if (!labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal))) continue;
            return double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new Xunit.Sdk.XunitException($"no {metric} {string.Join(",", labels)} in:\n{text}");
    }

    [Fact]
    public async Task Audit_logs_one_structured_event_per_answer_at_rate_1_and_none_at_the_default_0()
    {
        var logs = new CapturingLoggerProvider();
        await using (var r = await MeteredResponder.StartAsync(pki, "audit-all", new HttpServeOptions { AuditSampleRate = 1 }, logs))
        {
            string serial = await AskAsync(r);
            var events = logs.Events.Where(e => e.Category == AnswerAudit.Category && e.EventId.Id == AnswerAudit.AnswerEventId).ToList();
            Assert.Equal(5, events.Count);
            Assert.All(events, e => Assert.Equal("OcspAnswer", e.EventId.Name));
            string issuer = new OcspIssuer(r.Ca.Source.Certificate).KeyHashHex;
            var first = events[0].Fields;
            Assert.Equal("good", first["Status"]);
            Assert.Equal("GET", first["Method"]);
            Assert.Equal(serial, first["Serial"], ignoreCase: true);
            Assert.Equal("sha1", first["HashAlgorithm"]);
            Assert.Equal("store", first["Source"]);
            Assert.Equal(issuer, first["IssuerKeyHash"]);
            Assert.Equal("cache", events[1].Fields["Source"]);
            Assert.Equal(["good", "good", "revoked", "unauthorized", "malformedRequest"], events.Select(e => e.Fields["Status"]));
            Assert.Equal("POST", events[3].Fields["Method"]);
            Assert.Equal("", events[4].Fields["Serial"]);
        }

        var quiet = new CapturingLoggerProvider();
        await using (var r = await MeteredResponder.StartAsync(pki, "audit-off", new HttpServeOptions(), quiet))
        {
            await AskAsync(r);
            Assert.DoesNotContain(quiet.Events, e => e.Category == AnswerAudit.Category);
        }
    }

    [Fact]
    public void Audit_sampling_takes_about_the_configured_fraction_and_off_takes_none()
    {
        using var loggers = LoggerFactory.Create(_ => { });
        var half = new AnswerAudit(new HttpServeOptions { AuditSampleRate = 0.5 }, loggers);
        int taken = Enumerable.Range(0, 2000).Count(_ => half.Sample());
        Assert.InRange(taken, 800, 1200); // binomial(2000, 0.5): ±9 standard deviations
        var off = new AnswerAudit(new HttpServeOptions(), loggers);
        Assert.DoesNotContain(Enumerable.Range(0, 1000), _ => off.Sample());
        var all = new AnswerAudit(new HttpServeOptions { AuditSampleRate = 1 }, loggers);
        Assert.All(Enumerable.Range(0, 1000), _ => Assert.True(all.Sample()));
    }

    [Fact]
    public void Serve_PrometheusMetrics_and_AuditSampleRate_bind_from_settings_and_a_bad_value_is_named()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Ocsp:Store:Path"] = "store",
            ["Ocsp:Serve:PrometheusMetrics"] = "true",
            ["Ocsp:Serve:AuditSampleRate"] = "0.25",
        };
        var configuration = ConfigLoader.Load(null, settings);
        Assert.True(configuration.Serve.PrometheusMetrics);
        Assert.Equal(0.25, configuration.Serve.AuditSampleRate);
        Assert.False(ConfigLoader.Load(null, new Dictionary<string, string?> { ["Ocsp:Store:Path"] = "store" }).Serve.PrometheusMetrics);

        settings["Ocsp:Serve:AuditSampleRate"] = "often";
        var e = Assert.Throws<ConfigLoader.ConfigurationException>(() => ConfigLoader.Load(null, settings));
        Assert.Contains("AuditSampleRate", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-0.1")]
    [InlineData("1.5")]
    public void An_audit_sample_rate_outside_0_to_1_is_a_configuration_error(string rate)
    {
        var serve = new HttpServeOptions { AuditSampleRate = double.Parse(rate, System.Globalization.CultureInfo.InvariantCulture) };
        var ca = new CaWorkspace(pki, pki.EcCa, "audit-rate");
        var (errors, _) = OcspConfiguration.ForOptions(ca.Options("audit-rate"), new FileSystemStoreOptions { Path = ca.StorePath }, serve).Validate();
        Assert.Contains(errors, e => e.Contains("Serve:AuditSampleRate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refresh_records_runs_signatures_and_duration_and_one_audit_event_per_issuer_with_what_changed_and_its_crl_number()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "audit-refresh");
        var options = ca.Options("audit-refresh");
        var report = await RunningResponder.RefreshAsync(options, ca.StorePath);
        Assert.True(report.Succeeded);
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        using var instruments = new OcspInstruments();
        using var capture = new MeterCapture(instruments.Meter);
        var configuration = OcspConfiguration.ForOptions(options, new FileSystemStoreOptions { Path = ca.StorePath });
        await new RefreshAudit(configuration, instruments, loggers).RecordAsync(report, new FileSystemObjectStore(ca.StorePath), CancellationToken.None);

        var result = Assert.Single(report.Issuers);
        Assert.True(result.ResponsesSigned > 0);
        Assert.Equal(1, capture.Sum(OcspInstruments.RefreshRuns, ("issuer", result.IssuerId!), ("outcome", "succeeded")));
        Assert.Equal(result.ResponsesSigned, capture.Sum(OcspInstruments.Signatures, ("issuer", result.IssuerId!)));
        Assert.Equal(1, capture.Count(OcspInstruments.RefreshDuration));

        var e = Assert.Single(logs.Events, x => x.Category == AnswerAudit.Category);
        Assert.Equal(AnswerAudit.RefreshEventId, e.EventId.Id);
        Assert.Equal("audit-refresh", e.Fields["Issuer"]);
        Assert.Equal(result.IssuerId, e.Fields["IssuerId"]);
        Assert.Equal("succeeded", e.Fields["Outcome"]);
        Assert.Equal(result.Changed.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Fields["Changed"]);
        Assert.Equal(result.ResponsesSigned.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Fields["Signed"]);
        Assert.Contains(ca.CrlPath, e.Fields["Inputs"], StringComparison.Ordinal);
        Assert.Contains("#" + ca.Source.CrlNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Fields["CrlNumbers"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refresh_through_the_function_app_records_the_refresh_instruments()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "fn-metrics");
        var options = ca.Options("fn-metrics");
        var services = new ServiceCollection();
        services.AddLogging();
        await OcspFunctions.App.FunctionApp.AddFunctionAppAsync(services, OcspConfiguration.ForOptions(options, new FileSystemStoreOptions { Path = ca.StorePath }),
            CancellationToken.None);
        await using var provider = services.BuildServiceProvider();
        using var capture = new MeterCapture(provider.GetRequiredService<OcspInstruments>().Meter);
        var report = await provider.GetRequiredService<OcspFunctions.App.RefreshRunner>().RunAsync(CancellationToken.None);
        string id = Assert.Single(report.Issuers).IssuerId!;
        Assert.Equal(1, capture.Sum(OcspInstruments.RefreshRuns, ("issuer", id), ("outcome", "succeeded")));
        Assert.True(capture.Sum(OcspInstruments.Signatures, ("issuer", id)) > 0);
    }
}
