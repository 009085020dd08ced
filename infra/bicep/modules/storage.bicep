// Storage: responses/state ("ocsp"), CA uploads ("pki"), Flex deployment package ("app-package"); shared keys off.

param location string
param tags object
param storageAccountName string
param storageSku string
param responsesContainerName string
param pkiContainerName string
param deploymentContainerName string

@description('The app\'s user-assigned identity: resource id (role assignment name) and principal id.')
param identityId string
param identityPrincipalId string

param operatorPrincipalId string
param operatorPrincipalType string

@description('The CA-side publish verb\'s principal (object id; empty: none) and its type.')
param publisherPrincipalId string
param publisherPrincipalType string

var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

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
  name: guid(storage.id, identityId, storageBlobDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: identityPrincipalId
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

// The CA-side `publish` verb (a service principal, an Arc-enabled server's managed identity) uploads the CRLs and the
// issued serials: Blob Data Contributor on "pki" only — never account-wide (it must not touch responses or state).
resource publisherPkiUpload 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(publisherPrincipalId)) {
  name: guid(pkiContainer.id, publisherPrincipalId, storageBlobDataContributorRoleId, 'publish')
  scope: pkiContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: publisherPrincipalId
    principalType: publisherPrincipalType
  }
}

output name string = storage.name

@description('https://ACCOUNT.blob.core.windows.net/ (with the trailing slash).')
output blobEndpoint string = storage.properties.primaryEndpoints.blob
