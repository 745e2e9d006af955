// The Functions app on Flex Consumption with a system identity that may use its storage and manage
// secrets in the vault. App settings mirror local.settings.json.example.
param name string
param location string
param tags object
param storageAccountName string
param deploymentContainerUrl string
param appInsightsConnectionString string
param keyVaultName string
param keyVaultUri string
param serviceBusNamespace string
param supabaseUrl string
param corsOrigins array

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: storageAccountName }
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = { name: keyVaultName }
resource busRule 'Microsoft.ServiceBus/namespaces/authorizationRules@2022-10-01-preview' existing = {
  name: '${serviceBusNamespace}/app-send-listen'
}

var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: { type: 'blobContainer', value: deploymentContainerUrl, authentication: { type: 'SystemAssignedIdentity' } }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      cors: { allowedOrigins: corsOrigins, supportCredentials: false }
      appSettings: [
        { name: 'AzureWebJobsStorage', value: storageConnection }
        { name: 'AZURE_STORAGE_CONNECTION_STRING', value: storageConnection }
        { name: 'ServiceBusConnection', value: busRule.listKeys().primaryConnectionString }
        { name: 'DURABLE_TASK_HUB', value: 'retailadvisor' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APP_ENV', value: 'production' }
        { name: 'KEY_VAULT_URL', value: keyVaultUri }
        { name: 'DATABASE_URL', value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/database-url/)' }
        { name: 'SUPABASE_JWT_SECRET', value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/supabase-jwt-secret/)' }
        { name: 'SUPABASE_URL', value: supabaseUrl }
        { name: 'SUPABASE_JWKS_URL', value: '${supabaseUrl}/auth/v1/.well-known/jwks.json' }
        { name: 'CORS_ORIGINS', value: string(corsOrigins) }
      ]
    }
  }
}

// Storage Blob Data Owner (deployment package) and Key Vault Secrets Officer (store credentials).
var roles = {
  blobOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  secretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, app.id, roles.blobOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobOwner)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource vaultRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, app.id, roles.secretsOfficer)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsOfficer)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
