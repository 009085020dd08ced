// OCSP responder on Azure Functions Flex Consumption (custom handler), Key Vault Premium (HSM key), Blob storage,
// Front Door Standard in front, Application Insights + alerts. Deploy into an existing resource group:
//   az deployment group create -g RG -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
// The Terraform stack in infra/terraform deploys the same resources; tests/OcspFunctions.Tests/Infra checks both.
//
// Identity: ONE user-assigned managed identity, used everywhere — host storage (AzureWebJobsStorage__*), the Flex
// deployment container, the responder's Blob store (Ocsp__Store__ManagedIdentityClientId), Key Vault signing
// (AZURE_CLIENT_ID) and Application Insights ingestion. User-assigned rather than system-assigned because its role
// assignments exist before the app does: the app starts with working permissions, and recreating the app keeps them.

targetScope = 'resourceGroup'

@description('Region for everything except the global Front Door resources.')
param location string = resourceGroup().location

@description('Short lowercase prefix for resource names.')
@minLength(2)
@maxLength(8)
param baseName string = 'ocsp'

@description('Responder signing key in the Key Vault HSM: EC P-256 (default, ES256) or RSA 2048 (RS256/PS256). Never exportable.')
@allowed([
  'EC-HSM'
  'RSA-HSM'
])
param responderKeyType string = 'EC-HSM'

@description('Name of the responder key in the vault.')
param responderKeyName string = 'ocsp-responder'

@description('Six-field NCRONTAB schedule of the RefreshTimer function (app setting OCSP_REFRESH_SCHEDULE).')
param refreshSchedule string = '0 */5 * * * *'

@description('nextUpdate - thisUpdate of the pre-signed responses (Ocsp__Timing__Validity, TimeSpan "d.hh:mm:ss").')
param timingValidity string = '4.00:00:00'

@description('Path of the AIA URL before the request, e.g. "/ocsp"; empty serves at the root (Ocsp__Serve__PathPrefix).')
param servePathPrefix string = ''

@description('Operator name of the (first) issuing CA (Ocsp__Issuers__0__Name).')
param issuerName string = 'issuing-ca'

@description('Blob names in the "pki" container that the CA side uploads.')
param pkiCaCertificateBlob string = 'ca.pem'
param pkiCrlBlob string = 'ca.crl'
param pkiIssuedSerialsBlob string = 'issued-serials.txt'
param pkiResponderCertificateBlob string = 'responder.pem'

@description('Optional custom domain for the OCSP URL (e.g. ocsp.example.com); empty uses the Front Door endpoint host name.')
param customDomainHostName string = ''

@description('Optional e-mail address for the alerts; empty creates the alerts without an action group.')
param alertEmail string = ''

@description('Optional object id of the operator / CA upload principal: gets Blob Data Contributor on the "pki" container and Crypto User on the key (for the csr verb).')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

@description('Flex Consumption scale limits.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param storageSku string = 'Standard_LRS'

@description('Extra app settings merged over the generated ones (e.g. a second issuer: Ocsp__Issuers__1__…).')
param additionalAppSettings object = {}

param tags object = {}

// ---------------------------------------------------------------------------------------------------------------
// Names and constants
// ---------------------------------------------------------------------------------------------------------------

var token = uniqueString(resourceGroup().id)
var storageAccountName = take(toLower('st${replace(baseName, '-', '')}${token}'), 24)
var keyVaultName = take('kv-${baseName}-${token}', 24)
var functionAppName = 'func-${baseName}-${token}'
var responsesContainerName = 'ocsp'
var pkiContainerName = 'pki'
var deploymentContainerName = 'app-package'

// Built-in role definition GUIDs.
var keyVaultCryptoUserRoleId = '12338af0-0e69-4776-bea7-57ae8d297424'
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

var publicHostName = empty(customDomainHostName) ? frontDoorEndpoint.properties.hostName : customDomainHostName
var ocspUrl = 'http://${publicHostName}${empty(servePathPrefix) ? '/' : servePathPrefix}'
var healthUrl = 'http://${publicHostName}/health'

// ---------------------------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-${token}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------------------------
// Storage: responses/state ("ocsp"), CA uploads ("pki"), Flex deployment package ("app-package")
// ---------------------------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource responsesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: responsesContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource pkiContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: pkiContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Storage Blob Data Contributor, scoped to the storage ACCOUNT. The responder alone would need only "ocsp"
// (read/write) and "pki" (read), but the same identity is the Functions host storage (AzureWebJobsStorage__*): the
// host creates and uses its own containers at run time (azure-webjobs-hosts for the timer's schedule monitor and
// singleton lock leases, azure-webjobs-secrets for keys), and creating a container needs a role above container
// scope. The Flex deployment container ("app-package") needs it too. The account holds nothing else, so account
// scope is the narrowest scope that works. Microsoft documents Storage Blob Data Owner for host storage; Contributor
// covers everything the host does on a non-HNS account (containers, blobs, leases) — Owner adds only ACL/ownership
// management. No Queue/Table roles: timer triggers use blob leases only (queues are for blob triggers; tables only
// for the host's optional diagnostic events).
resource blobDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageBlobDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The operator (CA side) uploads ca.pem, the CRL, the serial list and responder.pem: write access to "pki" only.
resource operatorPkiUpload 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(pkiContainer.id, operatorPrincipalId, storageBlobDataContributorRoleId)
  scope: pkiContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key Vault Premium (HSM-backed keys), RBAC, soft delete + purge protection; one non-exportable signing key
// ---------------------------------------------------------------------------------------------------------------

// API 2026-02-01: Key Vault retires the older API versions on 27 February 2027.
resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'premium'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// Created through ARM (control plane): the deploying principal needs no data-plane role. A redeployment returns
// the existing key unchanged (ARM never creates a second version).
resource responderKey 'Microsoft.KeyVault/vaults/keys@2026-02-01' = {
  parent: vault
  name: responderKeyName
  tags: tags
  properties: {
    kty: responderKeyType
    curveName: responderKeyType == 'EC-HSM' ? 'P-256' : null
    keySize: responderKeyType == 'RSA-HSM' ? 2048 : null
    keyOps: [
      'sign'
      'verify'
    ]
    attributes: {
      enabled: true
      exportable: false
    }
  }
}

// Key Vault Crypto User scoped to the KEY (not the vault): the identity can sign with this key and nothing else.
resource keyCryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(responderKey.id, identity.id, keyVaultCryptoUserRoleId)
  scope: responderKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCryptoUserRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The operator signs the responder CSR with the key (csr verb): Crypto User on the key as well.
resource operatorKeyCryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(responderKey.id, operatorPrincipalId, keyVaultCryptoUserRoleId)
  scope: responderKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCryptoUserRoleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Log Analytics + Application Insights (Entra ID ingestion with the identity)
// ---------------------------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${baseName}-${token}'
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
  name: 'appi-${baseName}-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Flex Consumption plan + function app (Linux, custom handler)
// ---------------------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${baseName}-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    // Plain HTTP must reach the app: the Front Door health probe is HTTP (a 301 would count as a failure), and
    // OCSP itself is http:// (an https OCSP URL is circular). Front Door forwards client traffic over HTTPS anyway.
    httpsOnly: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
  dependsOn: [
    blobDataContributor
    keyCryptoUser
    deploymentContainer
  ]
}

// All app settings. Flex takes the runtime from functionAppConfig: no FUNCTIONS_WORKER_RUNTIME /
// FUNCTIONS_EXTENSION_VERSION / WEBSITE_RUN_FROM_PACKAGE here, and no AzureWebJobsStorage connection string —
// host storage is identity-based (AzureWebJobsStorage__accountName + credential + clientId).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union({
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
    AZURE_CLIENT_ID: identity.properties.clientId
    OCSP_REFRESH_SCHEDULE: refreshSchedule
    Ocsp__Store__BlobServiceUri: 'https://${storage.name}.blob.${environment().suffixes.storage}'
    Ocsp__Store__BlobContainer: responsesContainerName
    Ocsp__Store__ManagedIdentityClientId: identity.properties.clientId
    Ocsp__Serve__PathPrefix: servePathPrefix
    Ocsp__Timing__Validity: timingValidity
    Ocsp__Issuers__0__Name: issuerName
    Ocsp__Issuers__0__Certificate: 'blob:${pkiContainerName}/${pkiCaCertificateBlob}'
    Ocsp__Issuers__0__Crls__0: 'blob:${pkiContainerName}/${pkiCrlBlob}'
    Ocsp__Issuers__0__IssuedSerials: 'blob:${pkiContainerName}/${pkiIssuedSerialsBlob}'
    Ocsp__Issuers__0__Responder__Certificate: 'blob:${pkiContainerName}/${pkiResponderCertificateBlob}'
    Ocsp__Issuers__0__Responder__KeyVaultKeyId: responderKey.properties.keyUri
  }, additionalAppSettings)
}

// No basic-auth publishing credentials: deploy with Entra ID (az functionapp deployment source config-zip).
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Front Door Standard: HTTP and HTTPS accepted, NO redirect, caching on (GET only), compression off
// ---------------------------------------------------------------------------------------------------------------

resource frontDoor 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: 'afd-${baseName}-${token}'
  location: 'global'
  tags: tags
  sku: {
    name: 'Standard_AzureFrontDoor'
  }
  properties: {
    originResponseTimeoutSeconds: 60
  }
}

resource frontDoorEndpoint 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' = {
  parent: frontDoor
  name: '${baseName}-${token}'
  location: 'global'
  tags: tags
  properties: {
    enabledState: 'Enabled'
  }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: frontDoor
  name: 'function-app'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
    // /health answers 503 when a response is past nextUpdate or the refresh is failing.
    healthProbeSettings: {
      probePath: '/health'
      probeRequestType: 'GET'
      probeProtocol: 'Http'
      probeIntervalInSeconds: 100
    }
    sessionAffinityState: 'Disabled'
  }
}

resource origin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: originGroup
  name: 'function-app'
  properties: {
    hostName: functionApp.properties.defaultHostName
    originHostHeader: functionApp.properties.defaultHostName
    httpPort: 80
    httpsPort: 443
    priority: 1
    weight: 1000
    enabledState: 'Enabled'
    enforceCertificateNameCheck: true
  }
}

// Optional custom domain (Front Door managed certificate for the HTTPS side; OCSP clients use HTTP). Validate it
// with the TXT record _dnsauth.<domain> and point a CNAME at the endpoint host name (infra/README.md).
resource customDomain 'Microsoft.Cdn/profiles/customDomains@2024-02-01' = if (!empty(customDomainHostName)) {
  parent: frontDoor
  name: replace(customDomainHostName, '.', '-')
  properties: {
    hostName: customDomainHostName
    tlsSettings: {
      certificateType: 'ManagedCertificate'
      minimumTlsVersion: 'TLS12'
    }
  }
}

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: frontDoorEndpoint
  name: 'ocsp'
  properties: {
    originGroup: {
      id: originGroup.id
    }
    customDomains: empty(customDomainHostName) ? [] : [
      {
        id: customDomain.id
      }
    ]
    // OCSP is plain HTTP (RFC 5019; an https OCSP URL is circular): accept both, never redirect.
    supportedProtocols: [
      'Http'
      'Https'
    ]
    httpsRedirect: 'Disabled'
    patternsToMatch: [
      '/*'
    ]
    forwardingProtocol: 'HttpsOnly'
    linkToDefaultDomain: 'Enabled'
    enabledState: 'Enabled'
    // Caching on: GET responses are cached for their Cache-Control max-age (POST always reaches the origin).
    // An OCSP GET has no query string. Responses are DER with no-transform: no compression.
    cacheConfiguration: {
      queryStringCachingBehavior: 'IgnoreQueryString'
      compressionSettings: {
        isCompressionEnabled: false
        contentTypesToCompress: []
      }
    }
  }
  dependsOn: [
    origin
  ]
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts: /health failing (standard web test + metric alert), RefreshTimer failing (scheduled query)
// ---------------------------------------------------------------------------------------------------------------

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

// A failed RefreshTimer invocation (the handler answers non-2xx when any issuer failed).
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

// ---------------------------------------------------------------------------------------------------------------
// Outputs — names, ids and URLs only: no keys, no connection strings
// ---------------------------------------------------------------------------------------------------------------

@description('The OCSP URL to put in the certificates\' AIA extension (plain HTTP).')
output ocspUrl string = ocspUrl

@description('The responder key (versionless): Ocsp__Issuers__0__Responder__KeyVaultKeyId and the csr verb\'s --key-vault-key-id.')
output keyVaultKeyId string = responderKey.properties.keyUri

output keyVaultName string = vault.name
output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
output storageAccountName string = storage.name
output pkiContainerName string = pkiContainerName
output frontDoorEndpointHostName string = frontDoorEndpoint.properties.hostName
output managedIdentityClientId string = identity.properties.clientId
