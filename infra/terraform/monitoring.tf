# Alerts: /health failing (standard web test + metric alert), RefreshTimer failing (scheduled query).

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
