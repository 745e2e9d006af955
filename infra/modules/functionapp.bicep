// The Functions app on Flex Consumption with a system identity. Storage is identity-based (no account key in
// any setting): the host, the Durable task hub and the blob trigger use AzureWebJobsStorage__*ServiceUri, and
// the app signs upload URLs with a user delegation key (roles in roles.bicep). App settings mirror
// local.settings.json.example (tests/unit/test_infra_settings.py checks it); secrets are Key Vault references.
param name string
param location string
param tags object
param storageEndpoints object // { blob, queue, table, deploymentContainerUrl }
param appInsightsConnectionString string
param keyVaultUri string
param serviceBusNamespace string
param supabaseUrl string
param corsOrigins array
param apiBaseUrlAllowlist array
@description('Public origin for webhook callbacks; empty: this app\'s own https://<default host name>.')
param publicBaseUrl string
param model object // { openAiModel, openAiBaseUrl, transcribeModel, azureEndpoint, azureDeployment, azureApiVersion }
@description('Secrets that were given at deployment and are in the vault (only those get a Key Vault reference).')
param vaultSecrets object // { openAiApiKey: bool, azureOpenAiApiKey: bool }

resource busRule 'Microsoft.ServiceBus/namespaces/authorizationRules@2022-10-01-preview' existing = {
  name: '${serviceBusNamespace}/app-send-listen'
}

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
        storage: { type: 'blobContainer', value: storageEndpoints.deploymentContainerUrl, authentication: { type: 'SystemAssignedIdentity' } }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      cors: { allowedOrigins: corsOrigins, supportCredentials: false }
      // The host's storage from the start; the `settings` resource below then writes the complete set.
      appSettings: [
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__blobServiceUri', value: storageEndpoints.blob }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: storageEndpoints.queue }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storageEndpoints.table }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
      ]
    }
  }
}

var vault = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/'

var platform = {
  // Identity-based host storage (system identity); no connection string, so shared.video.storage signs SAS
  // URLs with a user delegation key and the blob trigger reads through the identity.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__blobServiceUri: storageEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storageEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storageEndpoints.table
  ServiceBusConnection: busRule.listKeys().primaryConnectionString
  DURABLE_TASK_HUB: 'retailadvisor'
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APP_ENV: 'production'
  LOG_LEVEL: 'INFO'
}

var database = {
  DATABASE_URL: '${vault}database-url/)'
  DB_POOL_MIN: '1'
  DB_POOL_MAX: '5' // up to 40 instances share Supabase's transaction pooler
  SUPABASE_URL: supabaseUrl
  SUPABASE_JWT_SECRET: '${vault}supabase-jwt-secret/)'
  SUPABASE_JWKS_URL: '${supabaseUrl}/auth/v1/.well-known/jwks.json'
  JWT_AUDIENCE: 'authenticated'
  JWT_ISSUER: '${supabaseUrl}/auth/v1'
  KEY_VAULT_URL: keyVaultUri
}

var edge = {
  CORS_ORIGINS: string(corsOrigins)
  MAX_BODY_BYTES: '1048576'
  RATE_LIMIT_PER_MINUTE: '600'
  SYNC_STUCK_AFTER_MINUTES: '120'
  API_BASE_URL_ALLOWLIST: string(apiBaseUrlAllowlist)
  PUBLIC_BASE_URL: empty(publicBaseUrl) ? 'https://${app.properties.defaultHostName}' : publicBaseUrl
  WEBHOOK_PAYLOAD_RETENTION_DAYS: '7'
  WEBHOOK_DEDUPE_RETENTION_DAYS: '30'
  WEBHOOK_ROLLUP_INTERVAL_SECONDS: '2'
}

var videos = {
  VIDEO_CONTAINER: 'videos' // the blob trigger's path names it literally
  THUMBNAIL_CONTAINER: 'video-thumbnails'
  MAX_VIDEO_BYTES: '524288000'
  VIDEO_SAS_TTL_MINUTES: '15'
}

var languageModel = {
  OPENAI_BASE_URL: model.openAiBaseUrl
  OPENAI_MODEL: model.openAiModel
  OPENAI_TRANSCRIBE_MODEL: model.transcribeModel
  AZURE_OPENAI_ENDPOINT: model.azureEndpoint
  AZURE_OPENAI_DEPLOYMENT: model.azureDeployment
  AZURE_OPENAI_API_VERSION: model.azureApiVersion
  LLM_TIMEOUT_SECONDS: '20'
  LLM_MAX_RETRIES: '2'
  LLM_PRICE_INPUT_PER_1M: '0.15'
  LLM_PRICE_OUTPUT_PER_1M: '0.60'
  LLM_MONTHLY_TOKEN_LIMIT: '2000000'
  LLM_TRANSCRIBE_TIMEOUT_SECONDS: '120'
  LLM_PRICE_TRANSCRIBE_PER_MINUTE: '0.003'
  ADVISOR_DAILY_LIMIT: '5'
  ADVISOR_LEAD_TIME_DAYS: '14'
  ADVISOR_FOLLOWUP_DAYS: '14'
}

// A key that was not given gets no setting at all: an unresolved reference would read as a (wrong) key.
var modelKeys = union(
  vaultSecrets.openAiApiKey ? { OPENAI_API_KEY: '${vault}openai-api-key/)' } : {},
  vaultSecrets.azureOpenAiApiKey ? { AZURE_OPENAI_API_KEY: '${vault}azure-openai-api-key/)' } : {}
)

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: union(platform, database, edge, videos, languageModel, modelKeys)
}

output name string = app.name
output id string = app.id
output principalId string = app.identity.principalId
output defaultHostName string = app.properties.defaultHostName
