#!/bin/sh
# azd postdeploy: subscribe the `video_uploaded` blob trigger (source EventGrid) to BlobCreated events of the
# videos container. It runs after the code is deployed because the webhook needs the blob extension's system
# key, which exists only once the host has loaded a blob trigger. Idempotent (create-or-update).
# Needs: az (logged in), and azd's environment: AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME,
# AZURE_STORAGE_EVENT_TOPIC (outputs of infra/main.bicep).
set -eu

rg="${AZURE_RESOURCE_GROUP:?}"
app="${AZURE_FUNCTION_APP_NAME:?}"
topic="${AZURE_STORAGE_EVENT_TOPIC:?}"
container="${VIDEO_CONTAINER:-videos}"

key=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  key=$(az functionapp keys list -g "$rg" -n "$app" --query "systemKeys.blobs_extension" -o tsv 2>/dev/null || true)
  [ -n "$key" ] && break
  echo "waiting for the blob extension's key ($attempt/10)…"
  sleep 15
done
[ -n "$key" ] || { echo "no blobs_extension key on $app: is video_uploaded deployed?" >&2; exit 1; }

host=$(az functionapp show -g "$rg" -n "$app" --query defaultHostName -o tsv)
endpoint="https://${host}/runtime/webhooks/blobs?functionName=Host.Functions.video_uploaded&code=${key}"

az eventgrid system-topic event-subscription create \
  --resource-group "$rg" --system-topic-name "$topic" --name video-uploaded \
  --endpoint-type webhook --endpoint "$endpoint" \
  --included-event-types Microsoft.Storage.BlobCreated \
  --subject-begins-with "/blobServices/default/containers/${container}/" \
  --max-delivery-attempts 30 --event-ttl 1440 \
  --output none
echo "video_uploaded subscribed to BlobCreated in ${container}"
