variable "resource_group_name" {
  description = "Resource group to create (and deploy everything into)."
  type        = string
}

variable "location" {
  description = "Region for everything except the global Front Door resources."
  type        = string
}

variable "base_name" {
  description = "Short lowercase prefix for resource names."
  type        = string
  default     = "ocsp"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,7}$", var.base_name))
    error_message = "base_name: 2-8 characters, lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "responder_key_type" {
  description = "Responder signing key in the Key Vault HSM: EC-HSM (P-256, default) or RSA-HSM (2048). Never exportable."
  type        = string
  default     = "EC-HSM"

  validation {
    condition     = contains(["EC-HSM", "RSA-HSM"], var.responder_key_type)
    error_message = "responder_key_type must be EC-HSM or RSA-HSM."
  }
}

variable "responder_key_name" {
  description = "Name of the responder key in the vault."
  type        = string
  default     = "ocsp-responder"
}

variable "refresh_schedule" {
  description = "Six-field NCRONTAB schedule of the RefreshTimer function (app setting OCSP_REFRESH_SCHEDULE)."
  type        = string
  default     = "0 */5 * * * *"
}

variable "timing_validity" {
  description = "nextUpdate - thisUpdate of the pre-signed responses (Ocsp__Timing__Validity, TimeSpan d.hh:mm:ss)."
  type        = string
  default     = "4.00:00:00"
}

variable "serve_path_prefix" {
  description = "Path of the AIA URL before the request, e.g. /ocsp; empty serves at the root (Ocsp__Serve__PathPrefix)."
  type        = string
  default     = ""
}

variable "issuer_name" {
  description = "Operator name of the (first) issuing CA (Ocsp__Issuers__0__Name)."
  type        = string
  default     = "issuing-ca"
}

variable "pki_blobs" {
  description = "Blob names in the pki container that the CA side uploads."
  type = object({
    ca_certificate        = string
    crl                   = string
    issued_serials        = string
    responder_certificate = string
  })
  default = {
    ca_certificate        = "ca.pem"
    crl                   = "ca.crl"
    issued_serials        = "issued-serials.txt"
    responder_certificate = "responder.pem"
  }
}

variable "custom_domain_host_name" {
  description = "Optional custom domain for the OCSP URL (e.g. ocsp.example.com); empty uses the Front Door endpoint host name."
  type        = string
  default     = ""
}

variable "alert_email" {
  description = "Optional e-mail address for the alerts; empty creates the alerts without an action group."
  type        = string
  default     = ""
}

variable "operator_principal_id" {
  description = "Optional object id of the operator / CA upload principal: Blob Data Contributor on the pki container and Crypto User on the key (csr verb)."
  type        = string
  default     = ""
}

variable "publisher_principal_id" {
  description = "Optional object id of the CA-side publish verb's identity (service principal, Arc server identity): Blob Data Contributor on the pki container only."
  type        = string
  default     = ""
}

variable "maximum_instance_count" {
  description = "Flex Consumption maximum instance count."
  type        = number
  default     = 40

  validation {
    condition     = var.maximum_instance_count >= 40 && var.maximum_instance_count <= 1000
    error_message = "maximum_instance_count must be between 40 and 1000."
  }
}

variable "instance_memory_mb" {
  description = "Flex Consumption instance memory."
  type        = number
  default     = 2048

  validation {
    condition     = contains([2048, 4096], var.instance_memory_mb)
    error_message = "instance_memory_mb must be 2048 or 4096."
  }
}

variable "storage_replication_type" {
  description = "Storage redundancy (LRS, ZRS, GRS, RAGRS)."
  type        = string
  default     = "LRS"
}

variable "additional_app_settings" {
  description = "Extra app settings merged over the generated ones (e.g. a second issuer: Ocsp__Issuers__1__...)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "responder_certificate_name" {
  description = "Optional: the responder certificate's name in the vault when it is a Key Vault certificate (responder request / merge; Responder:KeyVaultCertificate): grants the app and the operator its roles and narrows the near-expiry alert to it."
  type        = string
  default     = ""
}
