# Front Door Standard: HTTP and HTTPS accepted, NO redirect, caching on (GET only), compression off.

resource "azurerm_cdn_frontdoor_profile" "this" {
  name                     = "afd-${var.base_name}-${local.suffix}"
  resource_group_name      = azurerm_resource_group.this.name
  sku_name                 = "Standard_AzureFrontDoor"
  response_timeout_seconds = 60
  tags                     = var.tags
}

resource "azurerm_cdn_frontdoor_endpoint" "this" {
  name                     = "${var.base_name}-${local.suffix}"
  cdn_frontdoor_profile_id = azurerm_cdn_frontdoor_profile.this.id
  enabled                  = true
  tags                     = var.tags
}

resource "azurerm_cdn_frontdoor_origin_group" "function_app" {
  name                     = "function-app"
  cdn_frontdoor_profile_id = azurerm_cdn_frontdoor_profile.this.id
  session_affinity_enabled = false

  load_balancing {
    sample_size                        = 4
    successful_samples_required        = 3
    additional_latency_in_milliseconds = 50
  }

  # /health answers 503 when a response is past nextUpdate or the refresh is failing.
  health_probe {
    path                = "/health"
    protocol            = "Http"
    request_type        = "GET"
    interval_in_seconds = 100
  }
}

resource "azurerm_cdn_frontdoor_origin" "function_app" {
  name                           = "function-app"
  cdn_frontdoor_origin_group_id  = azurerm_cdn_frontdoor_origin_group.function_app.id
  enabled                        = true
  host_name                      = azapi_resource.function_app.output.properties.defaultHostName
  origin_host_header             = azapi_resource.function_app.output.properties.defaultHostName
  http_port                      = 80
  https_port                     = 443
  priority                       = 1
  weight                         = 1000
  certificate_name_check_enabled = true
}

# Optional custom domain (Front Door managed certificate for the HTTPS side; OCSP clients use HTTP). Validate it
# with the TXT record _dnsauth.<domain> and point a CNAME at the endpoint host name (infra/README.md).
resource "azurerm_cdn_frontdoor_custom_domain" "ocsp" {
  count                    = var.custom_domain_host_name == "" ? 0 : 1
  name                     = replace(var.custom_domain_host_name, ".", "-")
  cdn_frontdoor_profile_id = azurerm_cdn_frontdoor_profile.this.id
  host_name                = var.custom_domain_host_name

  tls {
    certificate_type    = "ManagedCertificate"
    minimum_tls_version = "TLS12"
  }
}

resource "azurerm_cdn_frontdoor_route" "ocsp" {
  name                            = "ocsp"
  cdn_frontdoor_endpoint_id       = azurerm_cdn_frontdoor_endpoint.this.id
  cdn_frontdoor_origin_group_id   = azurerm_cdn_frontdoor_origin_group.function_app.id
  cdn_frontdoor_origin_ids        = [azurerm_cdn_frontdoor_origin.function_app.id]
  cdn_frontdoor_custom_domain_ids = azurerm_cdn_frontdoor_custom_domain.ocsp[*].id
  enabled                         = true

  # OCSP is plain HTTP (RFC 5019; an https OCSP URL is circular): accept both, never redirect.
  supported_protocols    = ["Http", "Https"]
  https_redirect_enabled = false
  patterns_to_match      = ["/*"]
  forwarding_protocol    = "HttpsOnly"
  link_to_default_domain = true

  # Caching on: GET responses are cached for their Cache-Control max-age (POST always reaches the origin).
  # An OCSP GET has no query string. Responses are DER with no-transform: no compression.
  cache {
    query_string_caching_behavior = "IgnoreQueryString"
    compression_enabled           = false
  }
}

resource "azurerm_cdn_frontdoor_custom_domain_association" "ocsp" {
  count                          = var.custom_domain_host_name == "" ? 0 : 1
  cdn_frontdoor_custom_domain_id = azurerm_cdn_frontdoor_custom_domain.ocsp[0].id
  cdn_frontdoor_route_ids        = [azurerm_cdn_frontdoor_route.ocsp.id]
}
