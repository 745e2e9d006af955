// Host storage (Functions runtime, Durable task hub on the Azure Storage provider), the deployment package
// container, the video upload and thumbnail containers, and the Event Grid system topic whose BlobCreated
// events drive the `video_uploaded` blob trigger (source EventGrid; the subscription is made after deploy by
// infra/hooks/postdeploy.sh, since it needs the blob extension's key).
param name string
param location string
param tags object
@description('Origins the web frontend is served from: browsers PUT uploads to SAS URLs from there.')
param corsOrigins array
param videoContainer string = 'videos'
param thumbnailContainer string = 'video-thumbnails'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

// Browser uploads: a preflight then a PUT of the file with x-ms-blob-type and Content-Type, from the frontend.
var uploadCors = {
  allowedOrigins: corsOrigins
  allowedMethods: [ 'PUT', 'OPTIONS' ]
  allowedHeaders: [ 'content-type', 'x-ms-*' ]
  exposedHeaders: [ 'etag', 'x-ms-request-id' ]
  maxAgeInSeconds: 600
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    cors: { corsRules: empty(corsOrigins) ? [] : [ uploadCors ] }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in [ 'deployments', videoContainer, thumbnailContainer ]: {
  parent: blobs
  name: c
  properties: { publicAccess: 'None' }
}]

resource blobEvents 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: 'evgt-${name}'
  location: location
  tags: tags
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}deployments'
output eventTopicName string = blobEvents.name
