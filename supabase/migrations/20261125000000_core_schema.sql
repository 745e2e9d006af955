-- Core schema: tenancy (organizations, memberships), stores and their synced catalog, orders,
-- refunds, storefront events, sync jobs and the audit log. Every tenant row carries org_id and
-- every table has Row Level Security; requests run as role `authenticated` with the caller's JWT
-- claims, so the database itself enforces tenancy.

create extension if not exists pg_trgm;

create schema if not exists app;
grant usage on schema app to authenticated, service_role;

-- Tenancy -------------------------------------------------------------------------------------

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now()
);

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  display_name text,
  created_at timestamptz not null default now()
);

create table public.memberships (
  org_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('member', 'admin')),
  created_at timestamptz not null default now(),
  primary key (org_id, user_id)
);
create index memberships_user_idx on public.memberships (user_id);

create table public.super_admins (
  user_id uuid primary key references auth.users (id) on delete cascade,
  created_at timestamptz not null default now()
);

-- Security definer helpers: policies call them once per statement (wrapped in a sub-select, so
-- the planner makes them an init plan) and they read memberships without recursing into RLS.
create function app.is_super_admin() returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from public.super_admins where user_id = auth.uid())
$$;

create function app.member_org_ids() returns setof uuid
language sql stable security definer set search_path = ''
as $$
  select org_id from public.memberships where user_id = auth.uid()
  union
  select id from public.organizations where exists (select 1 from public.super_admins s where s.user_id = auth.uid())
$$;

create function app.admin_org_ids() returns setof uuid
language sql stable security definer set search_path = ''
as $$
  select org_id from public.memberships where user_id = auth.uid() and role = 'admin'
  union
  select id from public.organizations where exists (select 1 from public.super_admins s where s.user_id = auth.uid())
$$;

grant execute on function app.is_super_admin(), app.member_org_ids(), app.admin_org_ids() to authenticated;

-- Stores ----------------------------------------------------------------------------------------

create table public.stores (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  platform text not null check (platform in ('shopify', 'woocommerce')),
  name text not null check (length(name) between 1 and 200),
  shop_domain text,
  base_url text,
  api_base_url text,
  currency char(3),
  timezone text not null default 'UTC',
  status text not null default 'active' check (status in ('active', 'disconnected')),
  -- The name of the credentials in the SecretStore; the credentials themselves are never here.
  credentials_secret text,
  freshness_minutes integer not null default 360 check (freshness_minutes between 5 and 10080),
  last_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, org_id),
  check ((platform = 'shopify' and shop_domain is not null) or (platform = 'woocommerce' and base_url is not null))
);
create index stores_org_idx on public.stores (org_id, created_at, id);

-- Catalog ---------------------------------------------------------------------------------------

create table public.products (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  external_id text not null,
  title text not null,
  handle text,
  status text not null default 'active',
  vendor text,
  product_type text,
  tags text[] not null default '{}',
  skus text[] not null default '{}',
  created_at_platform timestamptz,
  updated_at_platform timestamptz,
  deleted_at timestamptz,
  synced_at timestamptz not null default now(),
  search_text text not null default '',
  search_vector tsvector not null default ''::tsvector,
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (store_id, external_id)
);
create index products_store_title_idx on public.products (store_id, title, id);
create index products_org_idx on public.products (org_id);
create index products_search_vector_idx on public.products using gin (search_vector);
create index products_search_trgm_idx on public.products using gin (search_text gin_trgm_ops);

-- Search fields are derived here so every writer (sync, webhooks, tests) gets them right.
create function app.products_search_fields() returns trigger
language plpgsql
as $$
begin
  new.search_text := lower(concat_ws(' ', new.title, new.vendor, new.product_type,
                                     array_to_string(new.tags, ' '), array_to_string(new.skus, ' ')));
  new.search_vector := to_tsvector('simple', new.search_text);
  return new;
end
$$;
create trigger products_search_fields before insert or update of title, vendor, product_type, tags, skus
  on public.products for each row execute function app.products_search_fields();

create table public.variants (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  product_id uuid not null references public.products (id) on delete cascade,
  external_id text not null,
  title text,
  sku text,
  price numeric(14, 2) not null default 0,
  compare_at_price numeric(14, 2),
  cost numeric(14, 2),
  inventory_quantity integer,
  created_at_platform timestamptz,
  updated_at_platform timestamptz,
  synced_at timestamptz not null default now(),
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (store_id, external_id)
);
create index variants_product_idx on public.variants (product_id);
create index variants_org_idx on public.variants (org_id);

create table public.customers (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  external_id text not null,
  email text,
  first_name text,
  last_name text,
  orders_count integer,
  total_spent numeric(14, 2),
  created_at_platform timestamptz,
  updated_at_platform timestamptz,
  redacted_at timestamptz,
  synced_at timestamptz not null default now(),
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (store_id, external_id)
);
create index customers_store_idx on public.customers (store_id, created_at_platform desc, id);
create index customers_org_idx on public.customers (org_id);

-- Orders (all amounts in the shop's currency: Shopify shopMoney) -------------------------------------

create table public.orders (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  external_id text not null,
  name text,
  customer_id uuid references public.customers (id) on delete set null,
  customer_external_id text,
  placed_at timestamptz not null,
  processed_at timestamptz,
  updated_at_platform timestamptz,
  cancelled_at timestamptz,
  closed_at timestamptz,
  test boolean not null default false,
  status text,
  financial_status text,
  currency char(3) not null,
  presentment_currency char(3),
  subtotal numeric(14, 2) not null default 0,
  total_discounts numeric(14, 2) not null default 0,
  total_shipping numeric(14, 2) not null default 0,
  total_tax numeric(14, 2) not null default 0,
  total_price numeric(14, 2) not null default 0,
  synced_at timestamptz not null default now(),
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (store_id, external_id)
);
create index orders_store_placed_idx on public.orders (store_id, placed_at desc, id);
create index orders_customer_idx on public.orders (customer_id);
create index orders_org_idx on public.orders (org_id);

create table public.order_lines (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  order_id uuid not null references public.orders (id) on delete cascade,
  external_id text not null,
  product_id uuid references public.products (id) on delete set null,
  variant_id uuid references public.variants (id) on delete set null,
  product_external_id text,
  variant_external_id text,
  sku text,
  title text,
  quantity integer not null check (quantity >= 0),
  unit_price numeric(14, 2) not null,
  -- Line-level discounts only; order-level discounts stay on the order (SPEC: not spread).
  line_discount numeric(14, 2) not null default 0,
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (store_id, external_id)
);
create index order_lines_order_idx on public.order_lines (order_id);
create index order_lines_product_idx on public.order_lines (product_id);
create index order_lines_org_idx on public.order_lines (org_id);

create table public.refunds (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  order_id uuid not null references public.orders (id) on delete cascade,
  external_id text not null,
  refunded_at timestamptz not null,
  note text,
  total numeric(14, 2) not null default 0,
  shipping numeric(14, 2) not null default 0,
  tax numeric(14, 2) not null default 0,
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (store_id, external_id)
);
create index refunds_order_idx on public.refunds (order_id);
create index refunds_store_date_idx on public.refunds (store_id, refunded_at);
create index refunds_org_idx on public.refunds (org_id);

create table public.refund_lines (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  refund_id uuid not null references public.refunds (id) on delete cascade,
  order_line_id uuid references public.order_lines (id) on delete set null,
  line_external_id text not null,
  quantity integer not null default 0,
  -- Refunded line value after line discounts (Shopify RefundLineItem.subtotalSet).
  subtotal numeric(14, 2) not null default 0,
  tax numeric(14, 2) not null default 0,
  restock_type text,
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (refund_id, line_external_id)
);
create index refund_lines_org_idx on public.refund_lines (org_id);
create index refund_lines_line_idx on public.refund_lines (order_line_id);

-- Storefront events -------------------------------------------------------------------------------

create table public.events (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  event_id text,
  type text not null check (type in ('page_view', 'product_view', 'add_to_cart', 'checkout_started', 'purchase')),
  session_id text not null,
  product_id uuid references public.products (id) on delete set null,
  occurred_at timestamptz not null,
  properties jsonb not null default '{}'::jsonb,
  received_at timestamptz not null default now(),
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (store_id, event_id)
);
create index events_store_time_idx on public.events (store_id, occurred_at);
create index events_org_idx on public.events (org_id);

-- Sync jobs -----------------------------------------------------------------------------------------

create table public.sync_jobs (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  mode text not null check (mode in ('full', 'incremental')),
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  instance_id text not null,
  counts jsonb not null default '{}'::jsonb,
  progress real not null default 0 check (progress between 0 and 1),
  throttle jsonb not null default '{"waits": 0, "waited_seconds": 0}'::jsonb,
  errors jsonb not null default '[]'::jsonb,
  checkpoint jsonb not null default '{}'::jsonb,
  requested_by uuid,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  heartbeat_at timestamptz,
  finished_at timestamptz,
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (instance_id)
);
-- At most one live sync per store, whatever races the API or the timer.
create unique index sync_jobs_one_live_per_store on public.sync_jobs (store_id) where status in ('queued', 'running');
create index sync_jobs_store_idx on public.sync_jobs (store_id, created_at desc);
create index sync_jobs_org_idx on public.sync_jobs (org_id);

-- Audit log -------------------------------------------------------------------------------------------

create table public.audit_log (
  id bigint generated always as identity primary key,
  org_id uuid references public.organizations (id) on delete set null,
  actor_id uuid,
  action text not null,
  target_type text,
  target_id text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index audit_log_org_idx on public.audit_log (org_id, created_at desc);

-- Row Level Security ---------------------------------------------------------------------------------

alter table public.organizations enable row level security;
alter table public.profiles enable row level security;
alter table public.memberships enable row level security;
alter table public.super_admins enable row level security;
alter table public.stores enable row level security;
alter table public.products enable row level security;
alter table public.variants enable row level security;
alter table public.customers enable row level security;
alter table public.orders enable row level security;
alter table public.order_lines enable row level security;
alter table public.refunds enable row level security;
alter table public.refund_lines enable row level security;
alter table public.events enable row level security;
alter table public.sync_jobs enable row level security;
alter table public.audit_log enable row level security;

create policy organizations_read on public.organizations for select to authenticated
  using (id in (select app.member_org_ids()));
create policy profiles_read on public.profiles for select to authenticated
  using (id = (select auth.uid()) or id in (
    select m.user_id from public.memberships m where m.org_id in (select app.member_org_ids())));
create policy profiles_update_own on public.profiles for update to authenticated
  using (id = (select auth.uid())) with check (id = (select auth.uid()));
create policy memberships_read on public.memberships for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy super_admins_read_own on public.super_admins for select to authenticated
  using (user_id = (select auth.uid()));

create policy stores_read on public.stores for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy stores_insert on public.stores for insert to authenticated
  with check (org_id in (select app.admin_org_ids()));
create policy stores_update on public.stores for update to authenticated
  using (org_id in (select app.admin_org_ids())) with check (org_id in (select app.admin_org_ids()));
create policy stores_delete on public.stores for delete to authenticated
  using (org_id in (select app.admin_org_ids()));

-- Synced data is written by the sync (service role); members read their organizations' rows.
create policy products_read on public.products for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy variants_read on public.variants for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy customers_read on public.customers for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy orders_read on public.orders for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy order_lines_read on public.order_lines for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy refunds_read on public.refunds for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy refund_lines_read on public.refund_lines for select to authenticated
  using (org_id in (select app.member_org_ids()));

create policy events_read on public.events for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy events_insert on public.events for insert to authenticated
  with check (org_id in (select app.member_org_ids()));

create policy sync_jobs_read on public.sync_jobs for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy sync_jobs_insert on public.sync_jobs for insert to authenticated
  with check (org_id in (select app.member_org_ids()));
create policy sync_jobs_update on public.sync_jobs for update to authenticated
  using (org_id in (select app.member_org_ids())) with check (org_id in (select app.member_org_ids()));

create policy audit_log_read on public.audit_log for select to authenticated
  using (org_id in (select app.admin_org_ids()));
create policy audit_log_insert on public.audit_log for insert to authenticated
  with check (org_id in (select app.member_org_ids()) and actor_id = (select auth.uid()));

-- Privileges: RLS filters rows, grants decide which statements the role may run at all.
grant select on all tables in schema public to authenticated;
grant insert, update, delete on public.stores to authenticated;
grant update (display_name) on public.profiles to authenticated;
grant insert on public.events to authenticated;
grant insert, update on public.sync_jobs to authenticated;
grant insert on public.audit_log to authenticated;
grant all on all tables in schema public to service_role;
grant usage on all sequences in schema public to authenticated, service_role;
