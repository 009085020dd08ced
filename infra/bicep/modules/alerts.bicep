// Alerts: /health failing (standard web test + metric alert), RefreshTimer failing (scheduled query), and on the
// OcspFunctions meter: stale responses, refresh failing twice in a row, backlog growing, responder expiry, signer throttling.

param location string
param tags object
param baseName string
param token string
param appInsightsName string

@description('http://<public host>/health, through Front Door.')
param healthUrl string

@description('Optional e-mail address; empty creates the alerts without an action group.')
param alertEmail string

@description('The operator action group (monitoring module); empty when alertEmail is.')
param actionGroupId string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var webTestName = 'health-${baseName}-${token}'

// GET http://<public host>/health from three regions, through Front Door, over plain HTTP, redirects NOT followed:
// it fails on a 503 (stale/failing responder), on an unreachable origin and on an accidental HTTP->HTTPS redirect.
resource healthWebTest 'Microsoft.Insights/webtests@2022-06-15' = {
  name: webTestName
  location: location
  tags: union(tags, {
    'hidden-link:${appInsights.id}': 'Resource'
  })
  kind: 'standard'
  properties: {
    SyntheticMonitorId: webTestName
    Name: 'OCSP responder /health'
    Description: 'GET ${healthUrl} must answer 200'
    Enabled: true
    Frequency: 300
    Timeout: 30
    Kind: 'standard'
    RetryEnabled: true
    Locations: [
      {
        Id: 'us-va-ash-azr'
      }
      {
        Id: 'emea-nl-ams-azr'
      }
      {
        Id: 'apac-sg-sin-azr'
      }
    ]
    Request: {
      RequestUrl: healthUrl
      HttpVerb: 'GET'
      ParseDependentRequests: false
      FollowRedirects: false
    }
    ValidationRules: {
      ExpectedHttpStatusCode: 200
      SSLCheck: false
    }
  }
}

resource healthAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'health-failing-${baseName}-${token}'
  location: 'global'
  tags: tags
  properties: {
    description: 'OCSP /health is failing from 2 or more locations (stale responses, failing refresh, or origin down).'
    severity: 1
    enabled: true
    scopes: [
      healthWebTest.id
      appInsights.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'
      webTestId: healthWebTest.id
      componentId: appInsights.id
      failedLocationCount: 2
    }
    autoMitigate: true
    actions: empty(alertEmail) ? [] : [
      {
        actionGroupId: actionGroupId
      }
    ]
  }
}

// A failed RefreshTimer invocation: the timer function throws when any issuer failed, and the host records the
// invocation as failed (requests.success == false; "Executed 'Functions.RefreshTimer' (Failed, …)" in traces).
resource refreshFailedAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'refresh-failed-${baseName}-${token}'
  location: location
  tags: tags
  properties: {
    displayName: 'OCSP RefreshTimer failed'
    description: 'The RefreshTimer function failed at least once in the last 15 minutes; responses stop being re-signed.'
    severity: 1
    enabled: true
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    scopes: [
      appInsights.id
    ]
    criteria: {
      allOf: [
        {
          query: '''
union
  (requests | where name == "RefreshTimer" and success == false | project timestamp),
  (traces | where message startswith "Executed 'Functions.RefreshTimer' (Failed" | project timestamp)
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: empty(alertEmail) ? [] : [
        actionGroupId
      ]
    }
  }
}

// Alerts on the OcspFunctions meter (customMetrics, as the Azure Monitor exporter writes it; README, Metrics). Each query
// returns a row per problem, so "more than 0 rows" fires.
var metricAlerts = [
  {
    name: 'stale'
    displayName: 'OCSP stale responses refused or published'
    description: 'A stored response past its nextUpdate was refused (tryLater), or an issuer\'s earliest nextUpdate has passed: the refresh is not publishing.'
    severity: 1
    window: 'PT15M'
    query: '''
customMetrics
| where (name == 'ocsp.stale.refused' and valueSum > 0) or (name == 'ocsp.freshness' and valueMin <= 0)
| extend issuer = tostring(customDimensions.issuer)
| summarize by issuer
'''
  }
  {
    name: 'refresh-failing-twice'
    displayName: 'OCSP refresh failed twice in a row'
    description: 'The last two refresh runs of an issuer both failed; its responses are not being re-signed.'
    severity: 1
    window: 'PT30M'
    query: '''
customMetrics
| where name == 'ocsp.refresh.runs' and valueSum > 0
| extend issuer = tostring(customDimensions.issuer), outcome = tostring(customDimensions.outcome)
| order by issuer asc, timestamp desc
| extend position = row_number(1, prev(issuer) != issuer)
| where position <= 2
| summarize runs = count(), failed = countif(outcome == 'failed') by issuer
| where runs == 2 and failed == 2
'''
  }
  {
    name: 'backlog-growing'
    displayName: 'OCSP refresh backlog growing'
    description: 'An issuer\'s backlog (serials left for the next run) is larger than an hour ago: the refresh cannot keep up.'
    severity: 2
    window: 'PT1H'
    query: '''
let backlog = customMetrics
  | where name == 'ocsp.refresh.backlog'
  | extend issuer = tostring(customDimensions.issuer);
backlog
| summarize arg_min(timestamp, valueMax) by issuer
| project issuer, first = valueMax
| join kind=inner (backlog | summarize arg_max(timestamp, valueMax) by issuer | project issuer, last = valueMax) on issuer
| where last > 0 and last > first
'''
  }
  {
    name: 'responder-expiry'
    displayName: 'OCSP responder certificate expires within 30 days'
    description: 'The responder certificate of an issuer expires within 30 days: have the CA issue the next one.'
    severity: 2
    window: 'PT1H'
    query: '''
customMetrics
| where name == 'ocsp.responder.expiry'
| extend issuer = tostring(customDimensions.issuer)
| summarize days = min(valueMin) by issuer
| where days <= 30
'''
  }
  {
    name: 'signer-throttled'
    displayName: 'OCSP signer throttled (HTTP 429)'
    description: 'Key Vault / Managed HSM answered 429 to the refresh\'s signing calls: consider a Managed HSM or a longer validity.'
    severity: 3
    window: 'PT15M'
    query: '''
customMetrics
| where name == 'ocsp.signer.throttled'
| summarize throttled = sum(valueSum)
| where throttled > 0
'''
  }
]

resource meterAlerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for alert in metricAlerts: {
    name: '${alert.name}-${baseName}-${token}'
    location: location
    tags: tags
    properties: {
      displayName: alert.displayName
      description: alert.description
      severity: alert.severity
      enabled: true
      evaluationFrequency: 'PT5M'
      windowSize: alert.window
      scopes: [
        appInsights.id
      ]
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: empty(alertEmail) ? [] : [
          actionGroupId
        ]
      }
    }
  }
]
