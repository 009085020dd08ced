// Example parameters: copy, edit, then
//   az deployment group what-if -g RG -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
//   az deployment group create  -g RG -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
using './main.bicep'

param baseName = 'ocsp'

// 'EC-HSM' (P-256, default) or 'RSA-HSM' (2048). Changing it later creates a new key: issue a new responder certificate.
param responderKeyType = 'EC-HSM'
param responderKeyName = 'ocsp-responder'

param refreshSchedule = '0 */5 * * * *'
param timingValidity = '4.00:00:00'
param servePathPrefix = ''

param issuerName = 'issuing-ca-2026'
param pkiCaCertificateBlob = 'ca.pem'
param pkiCrlBlob = 'ca.crl'
param pkiIssuedSerialsBlob = 'issued-serials.txt'
param pkiResponderCertificateBlob = 'responder.pem'

// e.g. 'ocsp.example.com' (CNAME to the Front Door endpoint; TXT _dnsauth for validation). Empty: endpoint host name.
param customDomainHostName = ''

// Alerts go nowhere when empty.
param alertEmail = 'pki-ops@example.com'

// Object id of whoever uploads the PKI files and runs the csr verb (az ad signed-in-user show --query id -o tsv).
param operatorPrincipalId = ''
param operatorPrincipalType = 'User'

// Object id of the identity the CA's scheduled `publish` runs as (Arc server: az connectedmachine show --query identity.principalId).
param publisherPrincipalId = ''

param maximumInstanceCount = 40
param instanceMemoryMB = 2048
param storageSku = 'Standard_LRS'

param additionalAppSettings = {}

param tags = {
  workload: 'ocsp-responder'
}
