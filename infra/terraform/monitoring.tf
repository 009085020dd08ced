# Alerts: /health failing (standard web test + metric alert), RefreshTimer failing (scheduled query); the OCSP workbook
# and the alerts on the OcspFunctions meter (stale, refresh failing twice in a row, backlog growing, responder expiry,
# signer throttling).

resource "azurerm_monitor_action_group" "operator" {
  count               = var.alert_email == "" ? 0 : 1
  name                = "ag-${var.base_name}-${local.suffix}"
  resource_group_name = azurerm_resource_group.this.name
  short_name          = substr("${var.base_name}-ocsp", 0, 12)
  tags                = var.tags

  email_receiver {
    name                    = "operator"
    email_address           = var.alert_email
    use_common_alert_schema = true
  }
}

# GET http://<public host>/health from three regions, through Front Door, over plain HTTP, redirects NOT followed:
# it fails on a 503 (stale/failing responder), on an unreachable origin and on an accidental HTTP->HTTPS redirect.
resource "azurerm_application_insights_standard_web_test" "health" {
  name                    = "health-${var.base_name}-${local.suffix}"
  resource_group_name     = azurerm_resource_group.this.name
  location                = azurerm_application_insights.this.location
  application_insights_id = azurerm_application_insights.this.id
  description             = "GET ${local.health_url} must answer 200"
  enabled                 = true
  frequency               = 300
  timeout                 = 30
  retry_enabled           = true
  geo_locations           = ["us-va-ash-azr", "emea-nl-ams-azr", "apac-sg-sin-azr"]
  tags                    = var.tags

  request {
    url                              = local.health_url
    http_verb                        = "GET"
    follow_redirects_enabled         = false
    parse_dependent_requests_enabled = false
  }

  validation_rules {
    expected_status_code = 200
    ssl_check_enabled    = false
  }
}

resource "azurerm_monitor_metric_alert" "health" {
  name                = "health-failing-${var.base_name}-${local.suffix}"
  resource_group_name = azurerm_resource_group.this.name
  description         = "OCSP /health is failing from 2 or more locations (stale responses, failing refresh, or origin down)."
  severity            = 1
  enabled             = true
  scopes              = [azurerm_application_insights_standard_web_test.health.id, azurerm_application_insights.this.id]
  frequency           = "PT1M"
  window_size         = "PT5M"
  auto_mitigate       = true
  tags                = var.tags

  application_insights_web_test_location_availability_criteria {
    web_test_id           = azurerm_application_insights_standard_web_test.health.id
    component_id          = azurerm_application_insights.this.id
    failed_location_count = 2
  }

  dynamic "action" {
    for_each = azurerm_monitor_action_group.operator
    content {
      action_group_id = action.value.id
    }
  }
}

# A failed RefreshTimer invocation: the timer function throws when any issuer failed, and the host records the
# invocation as failed (requests.success == false; "Executed 'Functions.RefreshTimer' (Failed, …)" in traces).
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "refresh_failed" {
  name                    = "refresh-failed-${var.base_name}-${local.suffix}"
  resource_group_name     = azurerm_resource_group.this.name
  location                = azurerm_resource_group.this.location
  display_name            = "OCSP RefreshTimer failed"
  description             = "The RefreshTimer function failed at least once in the last 15 minutes; responses stop being re-signed."
  severity                = 1
  enabled                 = true
  evaluation_frequency    = "PT5M"
  window_duration         = "PT15M"
  scopes                  = [azurerm_application_insights.this.id]
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = <<-KQL
      union
        (requests | where name == "RefreshTimer" and success == false | project timestamp),
        (traces | where message startswith "Executed 'Functions.RefreshTimer' (Failed" | project timestamp)
    KQL
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      number_of_evaluation_periods             = 1
      minimum_failing_periods_to_trigger_alert = 1
    }
  }

  dynamic "action" {
    for_each = length(azurerm_monitor_action_group.operator) > 0 ? [1] : []
    content {
      action_groups = azurerm_monitor_action_group.operator[*].id
    }
  }
}

# The OCSP dashboard: the OcspFunctions meter as the Azure Monitor exporter writes it (customMetrics: name = instrument
# name, customDimensions = its tags; counters arrive as per-interval sums). Same queries as infra/bicep/modules/monitoring.bicep.
locals {
  workbook_queries = [
    {
      name          = "answers"
      title         = "Answers by status"
      visualization = "timechart"
      query         = <<-KQL
        customMetrics
        | where name == 'ocsp.answers'
        | extend status = tostring(customDimensions.status)
        | summarize answers = sum(valueSum) by status, bin(timestamp, 5m)
      KQL
    },
    {
      name          = "hit-ratio"
      title         = "Cache hit ratio (hits / (hits + store reads))"
      visualization = "timechart"
      query         = <<-KQL
        customMetrics
        | where name in ('ocsp.cache.hits', 'ocsp.store.reads')
        | summarize hits = sumif(valueSum, name == 'ocsp.cache.hits'), reads = sumif(valueSum, name == 'ocsp.store.reads') by bin(timestamp, 5m)
        | extend hitRatio = iff(hits + reads > 0, hits / (hits + reads), real(null))
        | project timestamp, hitRatio
      KQL
    },
    {
      name          = "freshness"
      title         = "Freshness: hours until the earliest nextUpdate, per issuer"
      visualization = "timechart"
      query         = <<-KQL
        customMetrics
        | where name == 'ocsp.freshness'
        | extend issuer = tostring(customDimensions.issuer)
        | summarize hours = min(valueMin) / 3600 by issuer, bin(timestamp, 5m)
      KQL
    },
    {
      name          = "refresh"
      title         = "Refresh runs by outcome, and run duration (s)"
      visualization = "timechart"
      query         = <<-KQL
        customMetrics
        | where name in ('ocsp.refresh.runs', 'ocsp.refresh.duration')
        | extend outcome = tostring(customDimensions.outcome)
        | summarize succeeded = sumif(valueSum, name == 'ocsp.refresh.runs' and outcome == 'succeeded'),
            failed = sumif(valueSum, name == 'ocsp.refresh.runs' and outcome == 'failed'),
            longestRunSeconds = maxif(valueMax, name == 'ocsp.refresh.duration') by bin(timestamp, 15m)
      KQL
    },
    {
      name          = "signing"
      title         = "Signatures, signing failures and signer throttling (429)"
      visualization = "timechart"
      query         = <<-KQL
        customMetrics
        | where name in ('ocsp.signatures', 'ocsp.signer.failures', 'ocsp.signer.throttled')
        | summarize total = sum(valueSum) by name, bin(timestamp, 15m)
      KQL
    },
    {
      name          = "backlog"
      title         = "Backlog: serials left for the next refresh, per issuer"
      visualization = "timechart"
      query         = <<-KQL
        customMetrics
        | where name == 'ocsp.refresh.backlog'
        | extend issuer = tostring(customDimensions.issuer)
        | summarize backlog = max(valueMax) by issuer, bin(timestamp, 15m)
      KQL
    },
    {
      name          = "responder-expiry"
      title         = "Responder certificate: days to expiry, per issuer"
      visualization = "table"
      query         = <<-KQL
        customMetrics
        | where name == 'ocsp.responder.expiry'
        | extend issuer = tostring(customDimensions.issuer)
        | summarize arg_max(timestamp, value) by issuer
        | project issuer, daysToExpiry = round(value, 1), asOf = timestamp
      KQL
    },
  ]
}

resource "azurerm_application_insights_workbook" "ocsp" {
  name                = uuidv5("oid", "${azurerm_application_insights.this.id}/ocsp-workbook")
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  display_name        = "OCSP responder (${azurerm_application_insights.this.name})"
  source_id           = lower(azurerm_application_insights.this.id)
  category            = "workbook"
  tags                = var.tags

  data_json = jsonencode({
    version = "Notebook/1.0"
    items = concat([
      {
        type    = 1
        name    = "title"
        content = { json = "## OCSP responder\nAnswers, cache, freshness, refresh, signing, backlog and the responder certificate (the OcspFunctions meter)." }
      }
      ], [for q in local.workbook_queries : {
        type = 3
        name = q.name
        content = {
          version       = "KqlItem/1.0"
          query         = q.query
          size          = 0
          title         = q.title
          timeContext   = { durationMs = 86400000 }
          queryType     = 0
          resourceType  = "microsoft.insights/components"
          visualization = q.visualization
        }
    }])
    fallbackResourceIds = [azurerm_application_insights.this.id]
  })
}

# Alerts on the OcspFunctions meter (README, Metrics). Each query returns a row per problem, so "more than 0 rows" fires.
locals {
  meter_alerts = {
    "stale" = {
      display_name = "OCSP stale responses refused or published"
      description  = "A stored response past its nextUpdate was refused (tryLater), or an issuer's earliest nextUpdate has passed: the refresh is not publishing."
      severity     = 1
      window       = "PT15M"
      query        = <<-KQL
        customMetrics
        | where (name == 'ocsp.stale.refused' and valueSum > 0) or (name == 'ocsp.freshness' and valueMin <= 0)
        | extend issuer = tostring(customDimensions.issuer)
        | summarize by issuer
      KQL
    }
    "refresh-failing-twice" = {
      display_name = "OCSP refresh failed twice in a row"
      description  = "The last two refresh runs of an issuer both failed; its responses are not being re-signed."
      severity     = 1
      window       = "PT30M"
      query        = <<-KQL
        customMetrics
        | where name == 'ocsp.refresh.runs' and valueSum > 0
        | extend issuer = tostring(customDimensions.issuer), outcome = tostring(customDimensions.outcome)
        | order by issuer asc, timestamp desc
        | extend position = row_number(1, prev(issuer) != issuer)
        | where position <= 2
        | summarize runs = count(), failed = countif(outcome == 'failed') by issuer
        | where runs == 2 and failed == 2
      KQL
    }
    "backlog-growing" = {
      display_name = "OCSP refresh backlog growing"
      description  = "An issuer's backlog (serials left for the next run) is larger than an hour ago: the refresh cannot keep up."
      severity     = 2
      window       = "PT1H"
      query        = <<-KQL
        let backlog = customMetrics
          | where name == 'ocsp.refresh.backlog'
          | extend issuer = tostring(customDimensions.issuer);
        backlog
        | summarize arg_min(timestamp, valueMax) by issuer
        | project issuer, first = valueMax
        | join kind=inner (backlog | summarize arg_max(timestamp, valueMax) by issuer | project issuer, last = valueMax) on issuer
        | where last > 0 and last > first
      KQL
    }
    "responder-expiry" = {
      display_name = "OCSP responder certificate expires within 30 days"
      description  = "The responder certificate of an issuer expires within 30 days: have the CA issue the next one."
      severity     = 2
      window       = "PT1H"
      query        = <<-KQL
        customMetrics
        | where name == 'ocsp.responder.expiry'
        | extend issuer = tostring(customDimensions.issuer)
        | summarize days = min(valueMin) by issuer
        | where days <= 30
      KQL
    }
    "signer-throttled" = {
      display_name = "OCSP signer throttled (HTTP 429)"
      description  = "Key Vault / Managed HSM answered 429 to the refresh's signing calls: consider a Managed HSM or a longer validity."
      severity     = 3
      window       = "PT15M"
      query        = <<-KQL
        customMetrics
        | where name == 'ocsp.signer.throttled'
        | summarize throttled = sum(valueSum)
        | where throttled > 0
      KQL
    }
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "meter" {
  for_each                = local.meter_alerts
  name                    = "${each.key}-${var.base_name}-${local.suffix}"
  resource_group_name     = azurerm_resource_group.this.name
  location                = azurerm_resource_group.this.location
  display_name            = each.value.display_name
  description             = each.value.description
  severity                = each.value.severity
  enabled                 = true
  evaluation_frequency    = "PT5M"
  window_duration         = each.value.window
  scopes                  = [azurerm_application_insights.this.id]
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = each.value.query
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      number_of_evaluation_periods             = 1
      minimum_failing_periods_to_trigger_alert = 1
    }
  }

  dynamic "action" {
    for_each = length(azurerm_monitor_action_group.operator) > 0 ? [1] : []
    content {
      action_groups = azurerm_monitor_action_group.operator[*].id
    }
  }
}
