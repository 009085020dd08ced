// Front Door Standard: HTTP and HTTPS accepted, NO redirect, caching on (GET only), compression off.

param tags object
param profileName string
param endpointName string

@description('The function app\'s default host name: the only origin.')
param originHostName string

@description('Optional custom domain (e.g. ocsp.example.com); empty: the endpoint host name only.')
param customDomainHostName string

resource frontDoor 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: profileName
  location: 'global'
  tags: tags
  sku: {
    name: 'Standard_AzureFrontDoor'
  }
  properties: {
    originResponseTimeoutSeconds: 60
  }
}

resource frontDoorEndpoint 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' = {
  parent: frontDoor
  name: endpointName
  location: 'global'
  tags: tags
  properties: {
    enabledState: 'Enabled'
  }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: frontDoor
  name: 'function-app'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
    // /health answers 503 when a response is past nextUpdate or the refresh is failing.
    healthProbeSettings: {
      probePath: '/health'
      probeRequestType: 'GET'
      probeProtocol: 'Http'
      probeIntervalInSeconds: 100
    }
    sessionAffinityState: 'Disabled'
  }
}

resource origin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: originGroup
  name: 'function-app'
  properties: {
    hostName: originHostName
    originHostHeader: originHostName
    httpPort: 80
    httpsPort: 443
    priority: 1
    weight: 1000
    enabledState: 'Enabled'
    enforceCertificateNameCheck: true
  }
}

// Optional custom domain (Front Door managed certificate for the HTTPS side; OCSP clients use HTTP). Validate it
// with the TXT record _dnsauth.<domain> and point a CNAME at the endpoint host name (infra/README.md).
resource customDomain 'Microsoft.Cdn/profiles/customDomains@2024-02-01' = if (!empty(customDomainHostName)) {
  parent: frontDoor
  name: replace(customDomainHostName, '.', '-')
  properties: {
    hostName: customDomainHostName
    tlsSettings: {
      certificateType: 'ManagedCertificate'
      minimumTlsVersion: 'TLS12'
    }
  }
}

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: frontDoorEndpoint
  name: 'ocsp'
  properties: {
    originGroup: {
      id: originGroup.id
    }
    customDomains: empty(customDomainHostName) ? [] : [
      {
        id: customDomain.id
      }
    ]
    // OCSP is plain HTTP (RFC 5019; an https OCSP URL is circular): accept both, never redirect.
    supportedProtocols: [
      'Http'
      'Https'
    ]
    httpsRedirect: 'Disabled'
    patternsToMatch: [
      '/*'
    ]
    forwardingProtocol: 'HttpsOnly'
    linkToDefaultDomain: 'Enabled'
    enabledState: 'Enabled'
    // Caching on: GET responses are cached for their Cache-Control max-age (POST always reaches the origin).
    // An OCSP GET has no query string. Responses are DER with no-transform: no compression.
    cacheConfiguration: {
      queryStringCachingBehavior: 'IgnoreQueryString'
      compressionSettings: {
        isCompressionEnabled: false
        contentTypesToCompress: []
      }
    }
  }
  dependsOn: [
    origin
  ]
}

output endpointHostName string = frontDoorEndpoint.properties.hostName
