// Log Analytics + Application Insights; the identity publishes telemetry with Entra ID (no instrumentation key auth);
// the OCSP workbook (dashboard) over the app's metrics.

param location string
param tags object
param logAnalyticsName string
param appInsightsName string

@description('The app\'s user-assigned identity: resource id (role assignment name) and principal id.')
param identityId string
param identityPrincipalId string

@description('Optional e-mail address for the operator action group; empty creates none.')
param alertEmail string = ''

@description('Names the action group (ag-BASENAME-TOKEN, as before it moved here from the alerts module).')
param baseName string

param token string

var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityId, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The OCSP dashboard: the OcspFunctions meter as the Azure Monitor exporter writes it (customMetrics: name = instrument
// name, customDimensions = its tags; counters arrive as per-interval sums). README, Metrics lists the instruments.
var workbookQueries = [
  {
    name: 'answers'
    title: 'Answers by status'
    visualization: 'timechart'
    query: '''
customMetrics
| where name == 'ocsp.answers'
| extend status = tostring(customDimensions.status)
| summarize answers = sum(valueSum) by status, bin(timestamp, 5m)
'''
  }
  {
    name: 'hit-ratio'
    title: 'Cache hit ratio (hits / (hits + store reads))'
    visualization: 'timechart'
    query: '''
customMetrics
| where name in ('ocsp.cache.hits', 'ocsp.store.reads')
| summarize hits = sumif(valueSum, name == 'ocsp.cache.hits'), reads = sumif(valueSum, name == 'ocsp.store.reads') by bin(timestamp, 5m)
| extend hitRatio = iff(hits + reads > 0, hits / (hits + reads), real(null))
| project timestamp, hitRatio
'''
  }
  {
    name: 'freshness'
    title: 'Freshness: hours until the earliest nextUpdate, per issuer'
    visualization: 'timechart'
    query: '''
customMetrics
| where name == 'ocsp.freshness'
| extend issuer = tostring(customDimensions.issuer)
| summarize hours = min(valueMin) / 3600 by issuer, bin(timestamp, 5m)
'''
  }
  {
    name: 'refresh'
    title: 'Refresh runs by outcome, and run duration (s)'
    visualization: 'timechart'
    query: '''
customMetrics
| where name in ('ocsp.refresh.runs', 'ocsp.refresh.duration')
| extend outcome = tostring(customDimensions.outcome)
| summarize succeeded = sumif(valueSum, name == 'ocsp.refresh.runs' and outcome == 'succeeded'),
    failed = sumif(valueSum, name == 'ocsp.refresh.runs' and outcome == 'failed'),
    longestRunSeconds = maxif(valueMax, name == 'ocsp.refresh.duration') by bin(timestamp, 15m)
'''
  }
  {
    name: 'signing'
    title: 'Signatures, signing failures and signer throttling (429)'
    visualization: 'timechart'
    query: '''
customMetrics
| where name in ('ocsp.signatures', 'ocsp.signer.failures', 'ocsp.signer.throttled')
| summarize total = sum(valueSum) by name, bin(timestamp, 15m)
'''
  }
  {
    name: 'backlog'
    title: 'Backlog: serials left for the next refresh, per issuer'
    visualization: 'timechart'
    query: '''
customMetrics
| where name == 'ocsp.refresh.backlog'
| extend issuer = tostring(customDimensions.issuer)
| summarize backlog = max(valueMax) by issuer, bin(timestamp, 15m)
'''
  }
  {
    name: 'responder-expiry'
    title: 'Responder certificate: days to expiry, per issuer'
    visualization: 'table'
    query: '''
customMetrics
| where name == 'ocsp.responder.expiry'
| extend issuer = tostring(customDimensions.issuer)
| summarize arg_max(timestamp, value) by issuer
| project issuer, daysToExpiry = round(value, 1), asOf = timestamp
'''
  }
]

var workbookContent = {
  version: 'Notebook/1.0'
  items: concat([
    {
      type: 1
      name: 'title'
      content: {
        json: '## OCSP responder\nAnswers, cache, freshness, refresh, signing, backlog and the responder certificate (the OcspFunctions meter).'
      }
    }
  ], map(workbookQueries, q => {
    type: 3
    name: q.name
    content: {
      version: 'KqlItem/1.0'
      query: q.query
      size: 0
      title: q.title
      timeContext: {
        durationMs: 86400000
      }
      queryType: 0
      resourceType: 'microsoft.insights/components'
      visualization: q.visualization
    }
  }))
  fallbackResourceIds: [
    appInsights.id
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, appInsightsName, 'ocsp-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'OCSP responder (${appInsightsName})'
    category: 'workbook'
    serializedData: string(workbookContent)
    sourceId: appInsights.id
  }
}

// The name only: the function app module reads the connection string itself, so it never becomes a deployment output.
// The operator's action group lives here (not in alerts) so the Key Vault module's near-expiry alert can use it too
// without a module cycle (alerts follows Front Door, which follows the function app, which follows Key Vault).
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

output appInsightsName string = appInsights.name

@description('The operator action group, or empty when no alert e-mail is set.')
output actionGroupId string = empty(alertEmail) ? '' : actionGroup.id
