// The Retail AI Advisor in one resource group: Functions (Flex Consumption, Python 3.11) with its storage,
// Service Bus for events, Key Vault for secrets, Application Insights for telemetry. azd-compatible
// (`azd up` reads azure.yaml at the repository root). Supabase (Postgres + Auth) lives outside Azure; its
// connection string and JWT secret arrive as secure parameters and are kept in Key Vault.
targetScope = 'resourceGroup'

@description('Short environment name, e.g. dev, staging, prod (azd sets it).')
param environmentName string
param location string = resourceGroup().location

@secure()
@description('Supabase transaction-pooler connection string (postgresql://…:6543/postgres).')
param databaseUrl string
@secure()
@description('Supabase project JWT secret (HS256); leave empty when only JWKS is used.')
param supabaseJwtSecret string = ''
@description('Supabase project URL, e.g. https://abcd.supabase.co')
param supabaseUrl string
@description('Origins the web frontend is served from.')
param corsOrigins array = []

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName, app: 'retail-ai-advisor' }

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { name: 'ai-${token}', location: location, tags: tags }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: { name: 'st${token}', location: location, tags: tags }
}

module bus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: { name: 'sb-${token}', location: location, tags: tags }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: 'kv-${token}'
    location: location
    tags: tags
    secrets: {
      'database-url': databaseUrl
      'supabase-jwt-secret': supabaseJwtSecret
    }
  }
}

module functions 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: 'func-${token}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultName: vault.outputs.name
    keyVaultUri: vault.outputs.uri
    serviceBusNamespace: bus.outputs.name
    supabaseUrl: supabaseUrl
    corsOrigins: corsOrigins
  }
}

output AZURE_FUNCTION_APP_NAME string = functions.outputs.name
output API_BASE_URL string = 'https://${functions.outputs.defaultHostName}'
output KEY_VAULT_URL string = vault.outputs.uri
