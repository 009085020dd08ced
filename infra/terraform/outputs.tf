# Names, ids and URLs only: no keys, no connection strings, nothing sensitive.

output "ocsp_url" {
  description = "The OCSP URL to put in the certificates' AIA extension (plain HTTP)."
  value       = local.ocsp_url
}

output "key_vault_key_id" {
  description = "The responder key (versionless): Ocsp__Issuers__0__Responder__KeyVaultKeyId and the csr verb's --key-vault-key-id."
  value       = azurerm_key_vault_key.responder.versionless_id
}

output "resource_group_name" {
  value = azurerm_resource_group.this.name
}

output "key_vault_name" {
  value = azurerm_key_vault.this.name
}

output "function_app_name" {
  value = azapi_resource.function_app.name
}

output "function_app_host_name" {
  value = azapi_resource.function_app.output.properties.defaultHostName
}

output "storage_account_name" {
  value = azurerm_storage_account.this.name
}

output "pki_container_name" {
  value = azurerm_storage_container.pki.name
}

output "front_door_endpoint_host_name" {
  value = azurerm_cdn_frontdoor_endpoint.this.host_name
}

output "managed_identity_client_id" {
  value = azurerm_user_assigned_identity.app.client_id
}
