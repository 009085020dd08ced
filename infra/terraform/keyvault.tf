# Key Vault Premium (HSM-backed keys), RBAC, soft delete + purge protection; one non-exportable signing key.

resource "azurerm_key_vault" "this" {
  name                          = local.key_vault_name
  resource_group_name           = azurerm_resource_group.this.name
  location                      = azurerm_resource_group.this.location
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "premium"
  rbac_authorization_enabled    = true
  soft_delete_retention_days    = 90
  purge_protection_enabled      = true
  public_network_access_enabled = true
  tags                          = var.tags

  network_acls {
    bypass         = "AzureServices"
    default_action = "Allow"
  }
}

# azurerm_key_vault_key talks to the vault's data plane: the principal running Terraform needs Key Vault Crypto
# Officer on the vault to create the key (the Bicep stack creates it through ARM and needs no such role).
resource "azurerm_role_assignment" "deployer_crypto_officer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Crypto Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# New role assignments take a while to reach the Key Vault data plane.
resource "time_sleep" "rbac_propagation" {
  create_duration = "90s"
  depends_on      = [azurerm_role_assignment.deployer_crypto_officer]
}

# EC-HSM P-256 (default) or RSA-HSM 2048; sign/verify only. Keys created this way are never exportable
# (exportable keys need a release policy, which is not set).
resource "azurerm_key_vault_key" "responder" {
  name         = var.responder_key_name
  key_vault_id = azurerm_key_vault.this.id
  key_type     = var.responder_key_type
  curve        = var.responder_key_type == "EC-HSM" ? "P-256" : null
  key_size     = var.responder_key_type == "RSA-HSM" ? 2048 : null
  key_opts     = ["sign", "verify"]
  tags         = var.tags

  depends_on = [time_sleep.rbac_propagation]
}

# Key Vault Crypto User scoped to the KEY (not the vault): the identity can sign with this key and nothing else.
# resource_versionless_id is the ARM id /subscriptions/…/providers/Microsoft.KeyVault/vaults/NAME/keys/KEY.
resource "azurerm_role_assignment" "app_key_crypto_user" {
  scope                = azurerm_key_vault_key.responder.resource_versionless_id
  role_definition_name = "Key Vault Crypto User"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# The operator signs the responder CSR with the key (csr verb): Crypto User on the key as well.
resource "azurerm_role_assignment" "operator_key_crypto_user" {
  count                = var.operator_principal_id == "" ? 0 : 1
  scope                = azurerm_key_vault_key.responder.resource_versionless_id
  role_definition_name = "Key Vault Crypto User"
  principal_id         = var.operator_principal_id
}

# ----- The responder certificate as a Key Vault certificate (Responder:KeyVaultCertificate) -----------------------------
# Each `responder request` makes a new certificate version with a new key (keys/NAME/VERSION) that does not exist at
# deployment time: the app reads certificates and signs with their keys at VAULT scope (this vault holds nothing else).
resource "azurerm_role_assignment" "app_certificate_user" {
  count                = var.responder_certificate_name == "" ? 0 : 1
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Certificate User"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "app_vault_crypto_user" {
  count                = var.responder_certificate_name == "" ? 0 : 1
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Crypto User"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# The operator runs `responder request` / `responder merge`: Certificates Officer.
resource "azurerm_role_assignment" "operator_certificates_officer" {
  count                = var.responder_certificate_name == "" || var.operator_principal_id == "" ? 0 : 1
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Certificates Officer"
  principal_id         = var.operator_principal_id
}

# Near-expiry alert. The certificate's own lifetime action (set by `responder request`: EmailContacts 30 days before
# expiry; AutoRenew is impossible with issuer Unknown) cannot be deployed here — certificate policies are data-plane.
# Key Vault publishes CertificateNearExpiry and CertificateExpired to Event Grid; the subscription turns them into
# Azure Monitor alerts. azurerm's event subscription has no Monitor Alert destination, so it is an azapi resource
# with exactly the Bicep body.
resource "azurerm_eventgrid_system_topic" "vault" {
  name                = "${local.key_vault_name}-events"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  source_resource_id  = azurerm_key_vault.this.id
  topic_type          = "Microsoft.KeyVault.vaults"
  tags                = var.tags
}

resource "azapi_resource" "certificate_near_expiry" {
  type      = "Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15"
  name      = "responder-certificate-near-expiry"
  parent_id = azurerm_eventgrid_system_topic.vault.id
  body = {
    properties = {
      eventDeliverySchema = "CloudEventSchemaV1_0"
      filter = {
        includedEventTypes = ["Microsoft.KeyVault.CertificateNearExpiry", "Microsoft.KeyVault.CertificateExpired"]
        subjectBeginsWith  = var.responder_certificate_name
      }
      destination = {
        endpointType = "MonitorAlert"
        properties = {
          severity     = "Sev1"
          description  = "The OCSP responder certificate in Key Vault ${local.key_vault_name} is near expiry or expired: run responder request, have the CA sign the CSR, run responder merge."
          actionGroups = azurerm_monitor_action_group.operator[*].id
        }
      }
    }
  }
}
