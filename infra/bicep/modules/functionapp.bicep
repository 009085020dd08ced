// Flex Consumption plan + function app: Linux, .NET isolated worker (src/OcspFunctions.App, framework-dependent).

param location string
param tags object
param planName string
param functionAppName string

@description('The app\'s user-assigned identity: resource id and client id.')
param identityId string
param identityClientId string

param storageAccountName string
@description('https://ACCOUNT.blob.core.windows.net/ (with the trailing slash).')
param blobEndpoint string
param responsesContainerName string
param pkiContainerName string
param deploymentContainerName string
param appInsightsName string
param responderKeyUri string

param maximumInstanceCount int
param instanceMemoryMB int

param refreshSchedule string
param timingValidity string
param servePathPrefix string
param issuerName string
param pkiCaCertificateBlob string
param pkiCrlBlob string
param pkiIssuedSerialsBlob string
param pkiResponderCertificateBlob string
param additionalAppSettings object

// The .NET the app targets (net10.0, src/Directory.Build.props); Flex Consumption offers dotnet-isolated 10.0.
var runtimeName = 'dotnet-isolated'
var runtimeVersion = '10.0'

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
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
      '${identityId}': {}
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
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
  }
}

// All app settings. Flex takes the runtime from functionAppConfig: no FUNCTIONS_WORKER_RUNTIME /
// FUNCTIONS_EXTENSION_VERSION / WEBSITE_RUN_FROM_PACKAGE here, and no AzureWebJobsStorage connection string —
// host storage is identity-based (AzureWebJobsStorage__accountName + credential + clientId).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union({
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AZURE_CLIENT_ID: identityClientId
    OCSP_REFRESH_SCHEDULE: refreshSchedule
    Ocsp__Store__BlobServiceUri: 'https://${storageAccountName}.blob.${environment().suffixes.storage}'
    Ocsp__Store__BlobContainer: responsesContainerName
    Ocsp__Store__ManagedIdentityClientId: identityClientId
    Ocsp__Serve__PathPrefix: servePathPrefix
    Ocsp__Timing__Validity: timingValidity
    Ocsp__Issuers__0__Name: issuerName
    Ocsp__Issuers__0__Certificate: 'blob:${pkiContainerName}/${pkiCaCertificateBlob}'
    Ocsp__Issuers__0__Crls__0: 'blob:${pkiContainerName}/${pkiCrlBlob}'
    Ocsp__Issuers__0__IssuedSerials: 'blob:${pkiContainerName}/${pkiIssuedSerialsBlob}'
    Ocsp__Issuers__0__Responder__Certificate: 'blob:${pkiContainerName}/${pkiResponderCertificateBlob}'
    Ocsp__Issuers__0__Responder__KeyVaultKeyId: responderKeyUri
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

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
