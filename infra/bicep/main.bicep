// OCSP responder on Azure Functions Flex Consumption (.NET isolated worker), Key Vault Premium (HSM key), Blob
// storage, Front Door Standard in front, Application Insights + alerts. Deploy into an existing resource group:
//   az deployment group create -g RG -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
// The resources are in modules/ (one file per concern, as infra/terraform splits its files); this file holds the
// parameters, the names, the identity and the outputs. The Terraform stack deploys the same resources;
// tests/OcspFunctions.Tests/Infra compiles and lints this one with the real Bicep compiler and checks both.
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

@description('Optional object id of the CA-side publish verb\'s identity (service principal, Arc server identity): Blob Data Contributor on the "pki" container only.')
param publisherPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param publisherPrincipalType string = 'ServicePrincipal'

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

@description('Optional: the responder certificate\'s name in the vault when it is a Key Vault certificate (responder request / merge; Responder:KeyVaultCertificate): grants the app and the operator its roles and narrows the near-expiry alert to it.')
param responderCertificateName string = ''

param tags object = {}

// ---------------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------------

var token = uniqueString(resourceGroup().id)
var storageAccountName = take(toLower('st${replace(baseName, '-', '')}${token}'), 24)
var keyVaultName = take('kv-${baseName}-${token}', 24)
var responsesContainerName = 'ocsp'
var pkiContainerName = 'pki'
var deploymentContainerName = 'app-package'

var publicHostName = empty(customDomainHostName) ? frontDoor.outputs.endpointHostName : customDomainHostName
var ocspUrl = 'http://${publicHostName}${empty(servePathPrefix) ? '/' : servePathPrefix}'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-${token}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------------------------
// Modules (each deployment is named after this one: "ocsp-storage", …)
// ---------------------------------------------------------------------------------------------------------------

module storage 'modules/storage.bicep' = {
  name: '${deployment().name}-storage'
  params: {
    location: location
    tags: tags
    storageAccountName: storageAccountName
    storageSku: storageSku
    responsesContainerName: responsesContainerName
    pkiContainerName: pkiContainerName
    deploymentContainerName: deploymentContainerName
    identityId: identity.id
    identityPrincipalId: identity.properties.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    publisherPrincipalId: publisherPrincipalId
    publisherPrincipalType: publisherPrincipalType
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: '${deployment().name}-keyvault'
  params: {
    location: location
    tags: tags
    keyVaultName: keyVaultName
    responderKeyName: responderKeyName
    responderKeyType: responderKeyType
    identityId: identity.id
    identityPrincipalId: identity.properties.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    responderCertificateName: responderCertificateName
    alertActionGroupIds: empty(alertEmail) ? [] : [monitoring.outputs.actionGroupId]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${deployment().name}-monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${baseName}-${token}'
    appInsightsName: 'appi-${baseName}-${token}'
    identityId: identity.id
    identityPrincipalId: identity.properties.principalId
    alertEmail: alertEmail
    baseName: baseName
    token: token
  }
}

// Uses the storage and Key Vault outputs, so it starts after both modules — their role assignments included: the
// app starts with working permissions.
module functionApp 'modules/functionapp.bicep' = {
  name: '${deployment().name}-functionapp'
  params: {
    location: location
    tags: tags
    planName: 'plan-${baseName}-${token}'
    functionAppName: 'func-${baseName}-${token}'
    identityId: identity.id
    identityClientId: identity.properties.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    responsesContainerName: responsesContainerName
    pkiContainerName: pkiContainerName
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    responderKeyUri: keyVault.outputs.keyUri
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    refreshSchedule: refreshSchedule
    timingValidity: timingValidity
    servePathPrefix: servePathPrefix
    issuerName: issuerName
    pkiCaCertificateBlob: pkiCaCertificateBlob
    pkiCrlBlob: pkiCrlBlob
    pkiIssuedSerialsBlob: pkiIssuedSerialsBlob
    pkiResponderCertificateBlob: pkiResponderCertificateBlob
    additionalAppSettings: additionalAppSettings
  }
}

module frontDoor 'modules/frontdoor.bicep' = {
  name: '${deployment().name}-frontdoor'
  params: {
    tags: tags
    profileName: 'afd-${baseName}-${token}'
    endpointName: '${baseName}-${token}'
    originHostName: functionApp.outputs.defaultHostName
    customDomainHostName: customDomainHostName
  }
}

module alerts 'modules/alerts.bicep' = {
  name: '${deployment().name}-alerts'
  params: {
    location: location
    tags: tags
    baseName: baseName
    token: token
    appInsightsName: monitoring.outputs.appInsightsName
    healthUrl: 'http://${publicHostName}/health'
    alertEmail: alertEmail
    actionGroupId: monitoring.outputs.actionGroupId
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs — names, ids and URLs only: no keys, no connection strings
// ---------------------------------------------------------------------------------------------------------------

@description('The OCSP URL to put in the certificates\' AIA extension (plain HTTP).')
output ocspUrl string = ocspUrl

@description('The responder key (versionless): Ocsp__Issuers__0__Responder__KeyVaultKeyId and the csr verb\'s --key-vault-key-id.')
output keyVaultKeyId string = keyVault.outputs.keyUri

output keyVaultName string = keyVault.outputs.name
output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output storageAccountName string = storage.outputs.name
output pkiContainerName string = pkiContainerName
output frontDoorEndpointHostName string = frontDoor.outputs.endpointHostName
output managedIdentityClientId string = identity.properties.clientId
