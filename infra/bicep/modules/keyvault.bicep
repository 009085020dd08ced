// Key Vault Premium (HSM-backed keys), RBAC, soft delete + purge protection; one non-exportable signing key.

param location string
param tags object
param keyVaultName string
param responderKeyName string

@allowed([
  'EC-HSM'
  'RSA-HSM'
])
param responderKeyType string

@description('The app\'s user-assigned identity: resource id (role assignment name) and principal id.')
param identityId string
param identityPrincipalId string

param operatorPrincipalId string
param operatorPrincipalType string

@description('The responder certificate in Key Vault (Responder:KeyVaultCertificate; created by `responder request`, not here: certificates are data-plane objects ARM cannot create). Empty: the key above with a certificate file.')
param responderCertificateName string = ''

@description('Action groups the near-expiry alert notifies (resource ids); empty: the alert fires in Azure Monitor without notifying.')
param alertActionGroupIds array = []

var keyVaultCryptoUserRoleId = '12338af0-0e69-4776-bea7-57ae8d297424'
var keyVaultCertificateUserRoleId = 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba'
var keyVaultCertificatesOfficerRoleId = 'a4417e6f-fecd-4de8-b567-7b0420556985'

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
  name: guid(responderKey.id, identityId, keyVaultCryptoUserRoleId)
  scope: responderKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCryptoUserRoleId)
    principalId: identityPrincipalId
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

// ----- The responder certificate as a Key Vault certificate (Responder:KeyVaultCertificate) -----------------------------
// Each `responder request` makes a new certificate version with a new key (keys/NAME/VERSION), which does not exist at
// deployment time: the app reads certificates and signs with their keys at VAULT scope (this vault holds nothing else).
resource appCertificateUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(responderCertificateName)) {
  name: guid(vault.id, identityId, keyVaultCertificateUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCertificateUserRoleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appVaultCryptoUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(responderCertificateName)) {
  name: guid(vault.id, identityId, keyVaultCryptoUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCryptoUserRoleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The operator runs `responder request` / `responder merge` (create, read pending, merge): Certificates Officer.
resource operatorCertificatesOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(responderCertificateName) && !empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, keyVaultCertificatesOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCertificatesOfficerRoleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

// Near-expiry alert. The certificate's own lifetime action (set by `responder request`: EmailContacts 30 days before
// expiry; AutoRenew is impossible with issuer Unknown) cannot be deployed here — certificate policies are data-plane.
// Key Vault publishes CertificateNearExpiry (30 days before, by default) and CertificateExpired to Event Grid; this
// subscription turns them into Azure Monitor alerts (Sev 1) on the vault's system topic.
resource vaultEvents 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${keyVaultName}-events'
  location: location
  tags: tags
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource certificateNearExpiry 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: vaultEvents
  name: 'responder-certificate-near-expiry'
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.CertificateNearExpiry'
        'Microsoft.KeyVault.CertificateExpired'
      ]
      subjectBeginsWith: responderCertificateName
    }
    destination: {
      endpointType: 'MonitorAlert'
      properties: {
        severity: 'Sev1'
        description: 'The OCSP responder certificate in Key Vault ${keyVaultName} is near expiry or expired: run responder request, have the CA sign the CSR, run responder merge.'
        actionGroups: alertActionGroupIds
      }
    }
  }
}

output name string = vault.name

@description('The responder key, versionless (https://VAULT.vault.azure.net/keys/NAME).')
output keyUri string = responderKey.properties.keyUri
