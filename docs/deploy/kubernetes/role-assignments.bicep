// Least-privilege access for one gossipless cluster on AKS with workload identity.
//
// Creates the blob container and the table gossipless uses (role assignments can only be scoped to
// things that exist), a user-assigned managed identity, the federated identity credential that lets
// the Kubernetes service account auth/auth-service sign in as that identity, and exactly two role
// assignments: Storage Blob Data Contributor on the one container, Storage Table Data Contributor on
// the one table. Nothing is granted on the storage account as a whole.
//
// Not compiled in this repository (no Bicep CLI here): run `az bicep build --file role-assignments.bicep`
// before deploying. The same steps as Azure CLI commands are in README.md.

@description('Existing storage account (general-purpose v2) in this resource group.')
param storageAccountName string

@description('Blob container holding the lease blob <container>/<cluster>/leader (gossipless default: gossipless).')
param containerName string = 'gossipless'

@description('Table for membership and the bus: <tablePrefix>bus (gossipless default: gossiplessbus).')
param tableName string = 'gossiplessbus'

@description('Issuer URL of the AKS cluster: az aks show --query oidcIssuerProfile.issuerUrl -o tsv')
param aksOidcIssuerUrl string

@description('Kubernetes namespace of the service account (serviceaccount.yaml).')
param serviceAccountNamespace string = 'auth'

@description('Kubernetes service account name (serviceaccount.yaml, deployment.yaml).')
param serviceAccountName string = 'auth-service'

param identityName string = 'auth-service-gossipless'
param location string = resourceGroup().location

// Built-in role definition ids (the same in every Azure tenant).
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: tableName
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
}

// Trusts tokens that AKS issues to exactly this service account.
resource federatedCredential 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = {
  parent: identity
  name: 'aks-${serviceAccountNamespace}-${serviceAccountName}'
  properties: {
    issuer: aksOidcIssuerUrl
    subject: 'system:serviceaccount:${serviceAccountNamespace}:${serviceAccountName}'
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

// Lease blob: acquire/renew/release the lease, read and write its metadata (epoch, holder).
resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: container
  name: guid(container.id, identity.id, storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Member rows, bus messages, singleton tick claims, durable consumer cursors.
resource tableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: table
  name: guid(table.id, identity.id, storageTableDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Put this in serviceaccount.yaml as azure.workload.identity/client-id.')
output identityClientId string = identity.properties.clientId
