// What the Function App's system identity may do. Storage: run the host, the Durable task hub (queues,
// tables) and the blob trigger keylessly, read/write video blobs and thumbnails, and get user delegation keys
// to sign upload/read SAS URLs. Service Bus: send and receive (the webhooks queue). Key Vault: resolve the
// app settings' references and manage store credentials. Names keep the guid(scope, app id, role) scheme of
// the first two assignments, so a redeploy finds them instead of adding duplicates.
param appId string
param principalId string
param storageAccountName string
param serviceBusNamespace string
param keyVaultName string

var role = {
  blobOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner: deployment package, host leases
  blobContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor: videos, thumbnails
  blobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a' // Storage Blob Delegator: user delegation SAS
  queueContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor: Durable, blob trigger
  tableContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor: Durable history
  busSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
  busReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
  secretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User: Key Vault references
  secretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer: store credentials
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = { name: storageAccountName }
resource bus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = { name: serviceBusNamespace }
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = { name: keyVaultName }

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in [ role.blobOwner, role.blobContributor, role.blobDelegator, role.queueContributor, role.tableContributor ]: {
  scope: storage
  name: guid(storage.id, appId, r)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource busRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in [ role.busSender, role.busReceiver ]: {
  scope: bus
  name: guid(bus.id, appId, r)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource vaultRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in [ role.secretsUser, role.secretsOfficer ]: {
  scope: vault
  name: guid(vault.id, appId, r)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]
