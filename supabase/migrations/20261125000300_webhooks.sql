-- Webhook deliveries: every signed delivery from Shopify or WooCommerce is recorded here before it is
-- acknowledged, then applied from the `webhooks` queue. The unique key makes a redelivery a no-op, and
-- status/processed_at are set in the same transaction as the apply, so nothing is applied twice.
--
-- Secrets (never in this table): the Shopify app's client secret is in the SecretStore as
-- `shopify-app-secret` (during a rotation the old one as `shopify-app-secret-previous`); each WooCommerce
-- store's webhook secret as `store-<store id>-webhook-secret`.
--
-- Service only: Row Level Security is on and there is no policy, so `authenticated` sees no row.

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  org_id uuid references public.organizations (id) on delete set null,
  store_id uuid references public.stores (id) on delete set null,
  platform text not null check (platform in ('shopify', 'woocommerce')),
  -- The idempotency key: Shopify X-Shopify-Webhook-Id; WooCommerce store id, X-WC-Webhook-Delivery-ID,
  -- resource id and date_modified_gmt (Woo's delivery id is only a hash of webhook id and second).
  delivery_id text not null,
  event_id text,  -- Shopify X-Shopify-Event-Id; WooCommerce the raw X-WC-Webhook-Delivery-ID
  topic text not null,
  shop_domain text,  -- Shopify X-Shopify-Shop-Domain: which stores a delivery concerns
  received_at timestamptz not null default now(),
  enqueued_at timestamptz,  -- null: the queue message was never sent (the sweeper sends it)
  processed_at timestamptz,
  attempts integer not null default 0,
  status text not null default 'received' check (status in ('received', 'processed', 'ignored')),
  error text,
  payload jsonb not null,
  unique (platform, delivery_id)
);
create index webhook_deliveries_unsent_idx on public.webhook_deliveries (received_at)
  where status = 'received' and enqueued_at is null;
create index webhook_deliveries_store_idx on public.webhook_deliveries (store_id);
create index webhook_deliveries_shop_idx on public.webhook_deliveries (shop_domain);

alter table public.webhook_deliveries enable row level security;
revoke all on public.webhook_deliveries from authenticated, anon;
grant all on public.webhook_deliveries to service_role;
