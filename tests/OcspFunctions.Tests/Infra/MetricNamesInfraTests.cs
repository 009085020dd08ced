using System.Text.Json;
using System.Text.RegularExpressions;
using OcspFunctions.Engine.Telemetry;

namespace OcspFunctions.Tests.Infra;

/// <summary>
/// Issue 13 item 4: every metric name the dashboard and the alerts use — in the ARM JSON the real Bicep compiler writes
/// and in the Terraform as HashiCorp's parser reads it — is an instrument the code creates (<see cref="OcspInstruments.Names"/>,
/// itself held to the instruments actually published by MetricsTests), and the dashboard and alerts cover what the issue asks.
/// </summary>
public sealed partial class MetricNamesInfraTests
{
    /// <summary>Instruments the issue names for the dashboard and the alerts: each stack must use every one.</summary>
    private static readonly string[] Required =
    [
        OcspInstruments.Answers, OcspInstruments.CacheHits, OcspInstruments.StoreReads, OcspInstruments.Freshness, OcspInstruments.RefreshRuns,
        OcspInstruments.Backlog, OcspInstruments.ResponderDaysToExpiry, OcspInstruments.StaleRefused, OcspInstruments.SignerThrottled,
    ];

    [GeneratedRegex(@"'(ocsp\.[a-z_.]+)'")]
    private static partial Regex QuotedMetric();

    /// <summary>The metric names quoted in every string that queries customMetrics.</summary>
    public static SortedSet<string> MetricNames(JsonElement root)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject()) Walk(p.Value);
                    break;
                case JsonValueKind.Array:
                    foreach (var i in e.EnumerateArray()) Walk(i);
                    break;
                case JsonValueKind.String when e.GetString()!.Contains("customMetrics", StringComparison.Ordinal):
                    foreach (Match m in QuotedMetric().Matches(e.GetString()!)) names.Add(m.Groups[1].Value);
                    break;
            }
        }
        Walk(root);
        return names;
    }

    private static void AssertNames(SortedSet<string> used, string stack)
    {
        var unknown = used.Where(n => !OcspInstruments.Names.Contains(n)).ToList();
        Assert.True(unknown.Count == 0, $"{stack} uses metrics the code does not emit: {string.Join(", ", unknown)}");
        var missing = Required.Where(n => !used.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"{stack} does not use: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Bicep_workbook_and_alerts_use_only_metric_names_the_code_emits()
    {
        var t = BicepCli.Repository;
        AssertNames(MetricNames(t.Document.RootElement), "Bicep");
        Assert.Single(t.OfType("Microsoft.Insights/workbooks"));
        // The meter's alerts: one scheduled query rule per problem (a copy loop over five definitions), plus the RefreshTimer one.
        var alerts = t.OfType("Microsoft.Insights/scheduledQueryRules").ToList();
        Assert.Contains(alerts, a => a.Body.TryGetProperty("copy", out var copy) && copy.GetProperty("count").GetRawText().Contains("metricAlerts", StringComparison.Ordinal));
    }

    [Fact]
    public void Terraform_workbook_and_alerts_use_only_metric_names_the_code_emits()
    {
        var config = TerraformConfig.Repository;
        AssertNames(MetricNames(config.Document.RootElement), "Terraform");
        Assert.NotNull(config.Find("azurerm_application_insights_workbook", "ocsp"));
        Assert.NotNull(config.Find("azurerm_monitor_scheduled_query_rules_alert_v2", "meter"));
    }

    [Fact]
    public void A_misspelt_metric_name_is_caught()
    {
        using var doc = JsonDocument.Parse("""{ "q": "customMetrics | where name == 'ocsp.answer'" }""");
        var used = MetricNames(doc.RootElement);
        Assert.Equal(["ocsp.answer"], used);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertNames(used, "test"));
    }

    [Fact]
    public void Both_stacks_use_the_same_metric_names() =>
        Assert.Equal(MetricNames(BicepCli.Repository.Document.RootElement), MetricNames(TerraformConfig.Repository.Document.RootElement));
}
