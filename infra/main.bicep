// The Retail AI Advisor in one resource group: Functions (Flex Consumption, Python 3.11) with its storage,
// Service Bus for events, Key Vault for secrets, Application Insights for telemetry. azd-compatible
// (`azd up` reads azure.yaml at the repository root; its postdeploy hook subscribes the blob trigger to
// Storage's Event Grid topic). Supabase (Postgres + Auth) lives outside Azure; its connection string and JWT
// secret arrive as secure parameters and are kept in Key Vault, as are the language model keys.
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
@description('Origins the web frontend is served from (API CORS and browser uploads to Blob Storage).')
param corsOrigins array = []
@description('Hosts a store\'s api_base_url may use (e.g. a staging shop).')
param apiBaseUrlAllowlist array = []
@description('Public origin for webhook callbacks (a custom domain); empty: the Function App\'s own host name.')
param publicBaseUrl string = ''

@secure()
@description('OpenAI API key; empty (and no Azure OpenAI): the offline advisor answers and videos are measured only.')
param openAiApiKey string = ''
param openAiModel string = 'gpt-4o-mini'
param openAiBaseUrl string = ''
param openAiTranscribeModel string = 'gpt-4o-mini-transcribe'
@secure()
@description('Azure OpenAI key; with azureOpenAiEndpoint it is used instead of OpenAI.')
param azureOpenAiApiKey string = ''
param azureOpenAiEndpoint string = ''
param azureOpenAiDeployment string = ''
param azureOpenAiApiVersion string = '2024-10-21'

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName, app: 'retail-ai-advisor' }

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { name: 'ai-${token}', location: location, tags: tags }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: { name: 'st${token}', location: location, tags: tags, corsOrigins: corsOrigins }
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
      'openai-api-key': openAiApiKey
      'azure-openai-api-key': azureOpenAiApiKey
    }
  }
}

module functions 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: 'func-${token}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    storageEndpoints: {
      blob: storage.outputs.blobEndpoint
      queue: storage.outputs.queueEndpoint
      table: storage.outputs.tableEndpoint
      deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    }
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: vault.outputs.uri
    serviceBusNamespace: bus.outputs.name
    supabaseUrl: supabaseUrl
    corsOrigins: corsOrigins
    apiBaseUrlAllowlist: apiBaseUrlAllowlist
    publicBaseUrl: publicBaseUrl
    model: {
      openAiModel: openAiModel
      openAiBaseUrl: openAiBaseUrl
      transcribeModel: openAiTranscribeModel
      azureEndpoint: azureOpenAiEndpoint
      azureDeployment: azureOpenAiDeployment
      azureApiVersion: azureOpenAiApiVersion
    }
    vaultSecrets: { openAiApiKey: !empty(openAiApiKey), azureOpenAiApiKey: !empty(azureOpenAiApiKey) }
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    appId: functions.outputs.id
    principalId: functions.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespace: bus.outputs.name
    keyVaultName: vault.outputs.name
  }
}

output AZURE_FUNCTION_APP_NAME string = functions.outputs.name
output API_BASE_URL string = 'https://${functions.outputs.defaultHostName}'
output KEY_VAULT_URL string = vault.outputs.uri
output AZURE_STORAGE_EVENT_TOPIC string = storage.outputs.eventTopicName
