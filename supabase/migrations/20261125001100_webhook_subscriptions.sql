-- Webhook subscriptions we hold at the platforms (issue 4): what registration created or adopted, per store
-- and topic, so disconnecting a store can delete them (shared/stores/connect.py records them,
-- shared/stores/unsubscribe.py deletes them).
--
-- subscription_id is the platform's id: a Shopify WebhookSubscription GID or a WooCommerce webhook id.
-- Shopify subscriptions belong to the shop, not to our store row: two stores (say two organizations) with
-- the same shop domain hold rows with the same ids, and the subscriptions are deleted only when the last
-- connected store of that shop disconnects. A topic can have more than one row (a Woo webhook disabled
-- after failed deliveries is replaced by a new one); each is deleted.

create table public.store_webhook_subscriptions (
  store_id uuid not null,
  org_id uuid not null,
  platform text not null check (platform in ('shopify', 'woocommerce')),
  topic text not null,
  subscription_id text not null,
  callback_url text not null,
  created boolean not null,  -- false: registration found it already delivering to us and adopted it
  registered_at timestamptz not null default now(),
  primary key (store_id, subscription_id),
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade
);
create index store_webhook_subscriptions_org_idx on public.store_webhook_subscriptions (org_id);

-- Connect and disconnect run as the admin (RLS applies); the retry timer as the service role.
alter table public.store_webhook_subscriptions enable row level security;
create policy store_webhook_subscriptions_read on public.store_webhook_subscriptions for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy store_webhook_subscriptions_insert on public.store_webhook_subscriptions for insert to authenticated
  with check (org_id in (select app.admin_org_ids()));
create policy store_webhook_subscriptions_delete on public.store_webhook_subscriptions for delete to authenticated
  using (org_id in (select app.admin_org_ids()));
grant select, insert, delete on public.store_webhook_subscriptions to authenticated;
grant all on public.store_webhook_subscriptions to service_role;

-- Whether another connected store (of any organization, hence security definer: RLS hides the others)
-- has the same Shopify shop as `p_store_id`. Answers only an admin of that store's organization (false for
-- anyone else), and only a boolean about a shop that organization connected itself.
create function app.shopify_shop_connected_elsewhere(p_store_id uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1 from public.stores s
    join public.stores other on other.platform = 'shopify' and other.status = 'active' and other.id <> s.id
      and lower(other.shop_domain) = lower(s.shop_domain)
    where s.id = p_store_id and s.platform = 'shopify' and s.org_id in (select app.admin_org_ids()))
$$;
revoke execute on function app.shopify_shop_connected_elsewhere(uuid) from public;
grant execute on function app.shopify_shop_connected_elsewhere(uuid) to authenticated;
