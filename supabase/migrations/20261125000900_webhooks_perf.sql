-- Webhooks: retention of processed payloads, and the indexes the outbox sweeper and retention timer read.
--
-- scrubbed_at: when a processed delivery's payload was replaced by {"scrubbed": true}
-- (shared/webhooks/retention.py). The row stays as the dedupe key until it is deleted.
alter table public.webhook_deliveries add column if not exists scrubbed_at timestamptz;

-- Retention walks applied rows by age: scrub those not scrubbed yet, delete the oldest.
create index if not exists webhook_deliveries_scrub_idx on public.webhook_deliveries (processed_at)
  where status <> 'received' and scrubbed_at is null;
create index if not exists webhook_deliveries_applied_age_idx on public.webhook_deliveries (received_at)
  where status <> 'received';
