# OCSP responder on Azure Functions Flex Consumption (.NET isolated worker), Key Vault Premium (HSM key), Blob
# storage, Front Door Standard in front, Application Insights + alerts. The same resources as infra/bicep (main.bicep
# and its modules); tests/OcspFunctions.Tests/Infra checks both.
#
# Identity: ONE user-assigned managed identity, used everywhere — host storage (AzureWebJobsStorage__*), the Flex
# deployment container, the responder's Blob store (Ocsp__Store__ManagedIdentityClientId), Key Vault signing
# (AZURE_CLIENT_ID) and Application Insights ingestion. User-assigned rather than system-assigned because its role
# assignments exist before the app does: the app starts with working permissions, and recreating the app keeps them.

data "azurerm_client_config" "current" {}

locals {
  suffix               = substr(md5("${data.azurerm_client_config.current.subscription_id}/${var.resource_group_name}"), 0, 12)
  storage_account_name = substr(lower("st${replace(var.base_name, "-", "")}${local.suffix}"), 0, 24)
  key_vault_name       = substr("kv-${var.base_name}-${local.suffix}", 0, 24)
  function_app_name    = "func-${var.base_name}-${local.suffix}"

  responses_container  = "ocsp"
  pki_container        = "pki"
  deployment_container = "app-package"

  public_host_name = var.custom_domain_host_name == "" ? azurerm_cdn_frontdoor_endpoint.this.host_name : var.custom_domain_host_name
  ocsp_url         = "http://${local.public_host_name}${var.serve_path_prefix == "" ? "/" : var.serve_path_prefix}"
  health_url       = "http://${local.public_host_name}/health"
}

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
  tags     = var.tags
}

resource "azurerm_user_assigned_identity" "app" {
  name                = "id-${var.base_name}-${local.suffix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------------------------
# Storage: responses/state ("ocsp"), CA uploads ("pki"), Flex deployment package ("app-package")
# ---------------------------------------------------------------------------------------------------------------

resource "azurerm_storage_account" "this" {
  name                            = local.storage_account_name
  resource_group_name             = azurerm_resource_group.this.name
  location                        = azurerm_resource_group.this.location
  account_kind                    = "StorageV2"
  account_tier                    = "Standard"
  account_replication_type        = var.storage_replication_type
  access_tier                     = "Hot"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  shared_access_key_enabled       = false
  allow_nested_items_to_be_public = false
  default_to_oauth_authentication = true
  public_network_access_enabled   = true
  tags                            = var.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }
}

# storage_account_id (not storage_account_name): created through ARM, no shared key needed.
resource "azurerm_storage_container" "responses" {
  name                  = local.responses_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "pki" {
  name                  = local.pki_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "deployment" {
  name                  = local.deployment_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

# Storage Blob Data Contributor, scoped to the storage ACCOUNT. The responder alone would need only "ocsp"
# (read/write) and "pki" (read), but the same identity is the Functions host storage (AzureWebJobsStorage__*): the
# host creates and uses its own containers at run time (azure-webjobs-hosts for the timer's schedule monitor and
# singleton lock leases, azure-webjobs-secrets for keys), and creating a container needs a role above container
# scope. The Flex deployment container ("app-package") needs it too. The account holds nothing else, so account
# scope is the narrowest scope that works. Microsoft documents Storage Blob Data Owner for host storage; Contributor
# covers everything the host does on a non-HNS account (containers, blobs, leases) — Owner adds only ACL/ownership
# management. No Queue/Table roles: timer triggers use blob leases only (queues are for blob triggers; tables only
# for the host's optional diagnostic events).
resource "azurerm_role_assignment" "app_blob_data_contributor" {
  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# The operator (CA side) uploads ca.pem, the CRL, the serial list and responder.pem: write access to "pki" only.
resource "azurerm_role_assignment" "operator_pki_upload" {
  count                = var.operator_principal_id == "" ? 0 : 1
  scope                = azurerm_storage_container.pki.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = var.operator_principal_id
}

# The CA-side `publish` verb (a service principal, an Arc-enabled server's managed identity) uploads the CRLs and the
# issued serials: Blob Data Contributor on "pki" only — never account-wide (it must not touch responses or state).
resource "azurerm_role_assignment" "publisher_pki_upload" {
  count                = var.publisher_principal_id == "" ? 0 : 1
  scope                = azurerm_storage_container.pki.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = var.publisher_principal_id
}

# ---------------------------------------------------------------------------------------------------------------
# Log Analytics + Application Insights (Entra ID ingestion with the identity)
# ---------------------------------------------------------------------------------------------------------------

resource "azurerm_log_analytics_workspace" "this" {
  name                = "log-${var.base_name}-${local.suffix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                = "appi-${var.base_name}-${local.suffix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  workspace_id        = azurerm_log_analytics_workspace.this.id
  application_type    = "web"
  tags                = var.tags
}

resource "azurerm_role_assignment" "app_metrics_publisher" {
  scope                = azurerm_application_insights.this.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

# ---------------------------------------------------------------------------------------------------------------
# Flex Consumption plan + function app (Linux, .NET isolated worker: src/OcspFunctions.App, framework-dependent)
# ---------------------------------------------------------------------------------------------------------------

resource "azurerm_service_plan" "this" {
  name                = "plan-${var.base_name}-${local.suffix}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = var.tags
}

locals {
  # All app settings. Flex takes the runtime from functionAppConfig: no FUNCTIONS_WORKER_RUNTIME /
  # FUNCTIONS_EXTENSION_VERSION / WEBSITE_RUN_FROM_PACKAGE here, and no AzureWebJobsStorage connection string —
  # host storage is identity-based (AzureWebJobsStorage__accountName + credential + clientId).
  app_settings = merge({
    AzureWebJobsStorage__accountName           = azurerm_storage_account.this.name
    AzureWebJobsStorage__credential            = "managedidentity"
    AzureWebJobsStorage__clientId              = azurerm_user_assigned_identity.app.client_id
    APPLICATIONINSIGHTS_CONNECTION_STRING      = azurerm_application_insights.this.connection_string
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING  = "ClientId=${azurerm_user_assigned_identity.app.client_id};Authorization=AAD"
    AZURE_CLIENT_ID                            = azurerm_user_assigned_identity.app.client_id
    OCSP_REFRESH_SCHEDULE                      = var.refresh_schedule
    Ocsp__Store__BlobServiceUri                = trimsuffix(azurerm_storage_account.this.primary_blob_endpoint, "/")
    Ocsp__Store__BlobContainer                 = local.responses_container
    Ocsp__Store__ManagedIdentityClientId       = azurerm_user_assigned_identity.app.client_id
    Ocsp__Serve__PathPrefix                    = var.serve_path_prefix
    Ocsp__Timing__Validity                     = var.timing_validity
    Ocsp__Issuers__0__Name                     = var.issuer_name
    Ocsp__Issuers__0__Certificate              = "blob:${local.pki_container}/${var.pki_blobs.ca_certificate}"
    Ocsp__Issuers__0__Crls__0                  = "blob:${local.pki_container}/${var.pki_blobs.crl}"
    Ocsp__Issuers__0__IssuedSerials            = "blob:${local.pki_container}/${var.pki_blobs.issued_serials}"
    Ocsp__Issuers__0__Responder__Certificate   = "blob:${local.pki_container}/${var.pki_blobs.responder_certificate}"
    Ocsp__Issuers__0__Responder__KeyVaultKeyId = azurerm_key_vault_key.responder.versionless_id
  }, var.additional_app_settings)
}

# The function app is an azapi resource (Microsoft.Web/sites, exactly the Bicep body) and not
# azurerm_function_app_flex_consumption: with storage_authentication_type = UserAssignedIdentity that resource still
# writes an AzureWebJobsStorage connection string with an empty AccountKey into the app settings, which overrides
# the identity-based AzureWebJobsStorage__* settings and breaks the host (terraform-provider-azurerm issues
# #29693, #30732). azapi sends the ARM body as written: runtime dotnet-isolated, deployment storage with the identity.
resource "azapi_resource" "function_app" {
  type      = "Microsoft.Web/sites@2024-04-01"
  name      = local.function_app_name
  parent_id = azurerm_resource_group.this.id
  location  = azurerm_resource_group.this.location
  tags      = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  body = {
    kind = "functionapp,linux"
    properties = {
      serverFarmId = azurerm_service_plan.this.id
      # Plain HTTP must reach the app: the Front Door health probe is HTTP (a 301 would count as a failure), and
      # OCSP itself is http:// (an https OCSP URL is circular). Front Door forwards client traffic over HTTPS anyway.
      httpsOnly = false
      siteConfig = {
        minTlsVersion = "1.2"
        ftpsState     = "Disabled"
        http20Enabled = true
        appSettings   = [for name, value in local.app_settings : { name = name, value = value }]
      }
      functionAppConfig = {
        deployment = {
          storage = {
            type  = "blobContainer"
            value = "${azurerm_storage_account.this.primary_blob_endpoint}${local.deployment_container}"
            authentication = {
              type                           = "UserAssignedIdentity"
              userAssignedIdentityResourceId = azurerm_user_assigned_identity.app.id
            }
          }
        }
        scaleAndConcurrency = {
          maximumInstanceCount = var.maximum_instance_count
          instanceMemoryMB     = var.instance_memory_mb
        }
        # The .NET the app targets (net10.0, src/Directory.Build.props); Flex Consumption offers dotnet-isolated 10.0.
        runtime = {
          name    = "dotnet-isolated"
          version = "10.0"
        }
      }
    }
  }

  response_export_values = ["properties.defaultHostName"]

  depends_on = [
    azurerm_role_assignment.app_blob_data_contributor,
    azurerm_role_assignment.app_key_crypto_user,
    azurerm_storage_container.deployment,
  ]
}

# No basic-auth publishing credentials: deploy with Entra ID (az functionapp deployment source config-zip).
resource "azapi_update_resource" "scm_basic_auth" {
  type      = "Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01"
  name      = "scm"
  parent_id = azapi_resource.function_app.id
  body = {
    properties = { allow = false }
  }
}

resource "azapi_update_resource" "ftp_basic_auth" {
  type      = "Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01"
  name      = "ftp"
  parent_id = azapi_resource.function_app.id
  body = {
    properties = { allow = false }
  }
}
