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

var keyVaultCryptoUserRoleId = '12338af0-0e69-4776-bea7-57ae8d297424'

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

output name string = vault.name

@description('The responder key, versionless (https://VAULT.vault.azure.net/keys/NAME).')
output keyUri string = responderKey.properties.keyUri
