// Alerts: /health failing (standard web test + metric alert), RefreshTimer failing (scheduled query).

param location string
param tags object
param baseName string
param token string
param appInsightsName string

@description('http://<public host>/health, through Front Door.')
param healthUrl string

@description('Optional e-mail address; empty creates the alerts without an action group.')
param alertEmail string

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${baseName}-${token}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('${baseName}-ocsp', 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
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
        actionGroupId: actionGroup.id
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
        actionGroup.id
      ]
    }
  }
}
