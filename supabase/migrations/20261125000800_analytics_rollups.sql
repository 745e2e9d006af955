-- Analytics rollups, refreshed incrementally (docs/decisions/0009-analytics-rollups.md, docs/metrics.md).
--
-- * daily_customer_orders: one row per store, customer and shop-local day with a counting order, with the
--   customer's previous and next order days. A period's returning customers are the rows in the period whose
--   previous order day is before it (exactly one per customer), new ones those without a previous day: a count
--   over a covering index instead of a distinct count over the orders; long periods use prefix sums of the
--   daily rollup instead (app.returning_customers).
-- * daily_product_metrics: per store, product and shop-local day: units, gross, line discounts, returns and
--   refunds, which /analytics/products sums.
-- * A change queue filled by statement triggers on orders, order_lines, refunds and refund_lines: the
--   shop-local days (old and new) and customers a write touched. app.refresh_store_analytics_pending
--   recomputes only those, whoever wrote (sync, webhook, manual fix).

-- The tables --------------------------------------------------------------------------------------------

create table public.daily_customer_orders (
  org_id uuid not null,
  store_id uuid not null,
  day date not null,
  customer_key text not null,
  prev_day date,
  next_day date,
  gap integer generated always as (day - prev_day) stored,  -- days since the customer's previous order day
  primary key (store_id, day, customer_key) include (prev_day)
);
create index daily_customer_orders_customer_idx on public.daily_customer_orders (store_id, customer_key);
create index daily_customer_orders_gap_idx on public.daily_customer_orders (store_id, gap) include (day, prev_day)
  where gap is not null;

-- Per day also: customers of the day who ordered again on a later day (next_day set).
-- With returning_customers it gives, by prefix sums, how many customers are "between orders" on any day.
alter table public.daily_store_metrics add column customers_again integer not null default 0;
-- And the day's customers whose previous order was before the day's ISO week / month: summed over a week or a
-- month they give its returning customers without reading customers' rows.
alter table public.daily_store_metrics add column returning_week integer not null default 0,
  add column returning_month integer not null default 0;

create table public.daily_product_metrics (
  org_id uuid not null,
  store_id uuid not null,
  day date not null,
  product_id uuid not null,
  units_sold integer not null default 0,
  gross_sales numeric(14, 2) not null default 0,
  line_discounts numeric(14, 2) not null default 0,
  returns numeric(14, 2) not null default 0,
  refunds integer not null default 0,
  primary key (store_id, day, product_id)
);
-- No foreign key to stores on these two: a per-row check made a rebuild's inserts twice as slow. Their rows
-- are derived (org_id copied from the store by the refresh) and go with the store (trigger below).

-- What the next refresh must recompute; a store without a state row (or with full_needed) is rebuilt whole.
create table public.analytics_dirty_days (
  store_id uuid not null references public.stores (id) on delete cascade,
  day date not null,
  primary key (store_id, day)
);
create table public.analytics_dirty_customers (
  store_id uuid not null references public.stores (id) on delete cascade,
  customer_key text not null,
  primary key (store_id, customer_key)
);
create table public.analytics_state (
  store_id uuid primary key references public.stores (id) on delete cascade,
  full_needed boolean not null default false,
  built_at timestamptz,
  refreshed_at timestamptz
);

do $$
declare t text;
begin
  foreach t in array array['daily_customer_orders', 'daily_product_metrics'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('create policy %I on public.%I for select to authenticated '
                   'using (org_id in (select app.member_org_ids()))', t || '_read', t);
    execute format('grant select on public.%I to authenticated', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
  -- Bookkeeping: written by the security definer triggers and refresh functions only.
  foreach t in array array['analytics_dirty_days', 'analytics_dirty_customers', 'analytics_state'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
end
$$;

-- Customer keys without a customer_external_id are found through the linked customer.
create index customers_store_external_idx on public.customers (store_id, external_id);

-- The change queue --------------------------------------------------------------------------------------

-- Orders: their old and new placing days and customers; when counting may change (status, test) or the
-- order goes away, also its refunds' days (a refund counts only while its order does).
create function app.analytics_orders_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct n.store_id, (n.placed_at at time zone s.timezone)::date
    from new_rows n join public.stores s on s.id = n.store_id order by 1, 2
    on conflict do nothing;
    insert into public.analytics_dirty_customers (store_id, customer_key)
    select distinct n.store_id, coalesce(n.customer_external_id, c.external_id)
    from new_rows n left join public.customers c on c.id = n.customer_id
    where coalesce(n.customer_external_id, c.external_id) is not null order by 1, 2
    on conflict do nothing;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct o.store_id, (o.placed_at at time zone s.timezone)::date
    from old_rows o join public.stores s on s.id = o.store_id order by 1, 2
    on conflict do nothing;
    insert into public.analytics_dirty_customers (store_id, customer_key)
    select distinct o.store_id, coalesce(o.customer_external_id, c.external_id)
    from old_rows o left join public.customers c on c.id = o.customer_id
    where coalesce(o.customer_external_id, c.external_id) is not null order by 1, 2
    on conflict do nothing;
  end if;
  if tg_op = 'UPDATE' then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct r.store_id, (r.refunded_at at time zone s.timezone)::date
    from old_rows o join new_rows n on n.id = o.id
    join public.refunds r on r.order_id = n.id
    join public.stores s on s.id = r.store_id
    where o.status is distinct from n.status or o.test is distinct from n.test
    order by 1, 2
    on conflict do nothing;
  end if;
  return null;
end
$$;

-- Lines: their order's placing day, and the days of the order's refunds (product attribution of returns).
create function app.analytics_lines_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct d.store_id, d.day from (
      select o.store_id, (o.placed_at at time zone s.timezone)::date as day
      from (select distinct order_id from new_rows) n join public.orders o on o.id = n.order_id
      join public.stores s on s.id = o.store_id
      union
      select r.store_id, (r.refunded_at at time zone s.timezone)::date
      from (select distinct order_id from new_rows) n join public.refunds r on r.order_id = n.order_id
      join public.stores s on s.id = r.store_id) d
    order by 1, 2
    on conflict do nothing;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct d.store_id, d.day from (
      select o.store_id, (o.placed_at at time zone s.timezone)::date as day
      from (select distinct order_id from old_rows) x join public.orders o on o.id = x.order_id
      join public.stores s on s.id = o.store_id
      union
      select r.store_id, (r.refunded_at at time zone s.timezone)::date
      from (select distinct order_id from old_rows) x join public.refunds r on r.order_id = x.order_id
      join public.stores s on s.id = r.store_id) d
    order by 1, 2
    on conflict do nothing;
  end if;
  return null;
end
$$;

create function app.analytics_refunds_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct n.store_id, (n.refunded_at at time zone s.timezone)::date
    from new_rows n join public.stores s on s.id = n.store_id order by 1, 2
    on conflict do nothing;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct o.store_id, (o.refunded_at at time zone s.timezone)::date
    from old_rows o join public.stores s on s.id = o.store_id order by 1, 2
    on conflict do nothing;
  end if;
  return null;
end
$$;

create function app.analytics_refund_lines_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct r.store_id, (r.refunded_at at time zone s.timezone)::date
    from (select distinct refund_id from new_rows) n join public.refunds r on r.id = n.refund_id
    join public.stores s on s.id = r.store_id order by 1, 2
    on conflict do nothing;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into public.analytics_dirty_days (store_id, day)
    select distinct r.store_id, (r.refunded_at at time zone s.timezone)::date
    from (select distinct refund_id from old_rows) x join public.refunds r on r.id = x.refund_id
    join public.stores s on s.id = r.store_id order by 1, 2
    on conflict do nothing;
  end if;
  return null;
end
$$;

do $$
declare
  t text;
  fn text;
begin
  for t, fn in select * from (values ('orders', 'analytics_orders_changed'), ('order_lines', 'analytics_lines_changed'),
                                     ('refunds', 'analytics_refunds_changed'),
                                     ('refund_lines', 'analytics_refund_lines_changed')) v(t, fn) loop
    execute format('create trigger %I after insert on public.%I referencing new table as new_rows '
                   'for each statement execute function app.%I()', t || '_analytics_ins', t, fn);
    execute format('create trigger %I after update on public.%I referencing old table as old_rows '
                   'new table as new_rows for each statement execute function app.%I()', t || '_analytics_upd', t, fn);
    execute format('create trigger %I after delete on public.%I referencing old table as old_rows '
                   'for each statement execute function app.%I()', t || '_analytics_del', t, fn);
  end loop;
end
$$;

-- A store's time zone or platform decides every day and which orders count: rebuild it whole.
create function app.analytics_store_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.timezone is distinct from old.timezone or new.platform is distinct from old.platform then
    update public.analytics_state set full_needed = true where store_id = new.id;
  end if;
  return null;
end
$$;
create trigger stores_analytics_upd after update on public.stores
  for each row execute function app.analytics_store_changed();

create function app.analytics_store_deleted() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  delete from public.daily_customer_orders d using old_rows o where d.store_id = o.id;
  delete from public.daily_product_metrics d using old_rows o where d.store_id = o.id;
  return null;
end
$$;
create trigger stores_analytics_del after delete on public.stores referencing old table as old_rows
  for each statement execute function app.analytics_store_deleted();

-- Recomputing -------------------------------------------------------------------------------------------

-- The store's org, platform and zone; refuses a store outside the caller's organizations.
create function app.analytics_store(p_store_id uuid, out org_id uuid, out platform text, out timezone text)
language plpgsql stable security definer set search_path = ''
as $$
begin
  select s.org_id, s.platform, s.timezone into org_id, platform, timezone from public.stores s where s.id = p_store_id;
  if org_id is null or (auth.uid() is not null and org_id not in (select app.member_org_ids())) then
    raise exception 'store % not found', p_store_id using errcode = 'no_data_found';
  end if;
end
$$;

-- The order days of some customers (all with p_keys null), recomputed from the orders; returns the days whose
-- per-day customer figures changed (a row appeared, went, or got another previous or next day), or null
-- without p_diff (a rebuild recomputes every day anyway).
create function app.rollup_customers(p_store_id uuid, p_keys text[], p_diff boolean default true) returns date[]
language plpgsql volatile security definer set search_path = '' set work_mem = '64MB'
as $$
declare
  st record;
  v_gone date[];
  v_added date[];
begin
  select * into st from app.analytics_store(p_store_id);
  create temp table if not exists pg_temp.rollup_new (day date, customer_key text, prev_day date, next_day date)
    on commit drop;
  truncate pg_temp.rollup_new;
  insert into pg_temp.rollup_new
  select k.day, k.customer_key, lag(k.day) over w, lead(k.day) over w
  from (
    select distinct coalesce(o.customer_external_id, c.external_id) as customer_key,
           (o.placed_at at time zone st.timezone)::date as day
    from public.orders o
    left join public.customers c on c.id = o.customer_id
    where o.store_id = p_store_id and app.order_counts(st.platform, o.status, o.test)
      and coalesce(o.customer_external_id, c.external_id) is not null
      and (p_keys is null or o.customer_external_id = any(p_keys)
           or (o.customer_external_id is null and o.customer_id in (
             select x.id from public.customers x where x.store_id = p_store_id and x.external_id = any(p_keys))))
  ) k
  window w as (partition by k.customer_key order by k.day);
  analyze pg_temp.rollup_new;

  -- Only rows that differ are written: most touched customers keep their order days (a discount changed).
  with gone as (
    delete from public.daily_customer_orders d
    where d.store_id = p_store_id and (p_keys is null or d.customer_key = any(p_keys))
      and not exists (select 1 from pg_temp.rollup_new n
                      where n.day = d.day and n.customer_key = d.customer_key
                        and n.prev_day is not distinct from d.prev_day and n.next_day is not distinct from d.next_day)
    returning d.day
  )
  select array_agg(distinct gone.day) into v_gone from gone;
  with added as (
    insert into public.daily_customer_orders (org_id, store_id, day, customer_key, prev_day, next_day)
    select st.org_id, p_store_id, n.day, n.customer_key, n.prev_day, n.next_day
    from pg_temp.rollup_new n
    -- a row still there after the delete is identical (an anti-join here may rescan the rows this insert adds)
    on conflict (store_id, day, customer_key) do nothing
    returning day
  )
  select array_agg(distinct added.day) into v_added from added;

  delete from public.customer_first_orders f
  where f.store_id = p_store_id and (p_keys is null or f.customer_key = any(p_keys))
    and not exists (select 1 from pg_temp.rollup_new n
                    where n.customer_key = f.customer_key and n.prev_day is null and n.day = f.first_day);
  insert into public.customer_first_orders (org_id, store_id, customer_key, first_day)
  select st.org_id, p_store_id, n.customer_key, n.day from pg_temp.rollup_new n
  where n.prev_day is null
  on conflict (store_id, customer_key) do nothing;
  if not p_diff then
    return null;
  end if;
  -- A row that appeared, went or changed (first order or not, ordered again later or not) changes its day.
  return array(select distinct x from unnest(coalesce(v_gone, '{}') || coalesce(v_added, '{}')) x);
end
$$;

-- Store and product figures of the given shop-local days (customers' order days must be current first).
-- Every given day gets a store row, zeros included; product rows only where something happened.
create function app.rollup_days(p_store_id uuid, p_days date[]) returns integer
language plpgsql volatile security definer set search_path = '' set work_mem = '64MB'
as $$
declare
  st record;
  v_rows integer;
begin
  select * into st from app.analytics_store(p_store_id);
  if coalesce(cardinality(p_days), 0) = 0 then
    return 0;
  end if;
  create temp table if not exists pg_temp.rollup_days (day date primary key, lo timestamptz, hi timestamptz)
    on commit drop;
  truncate pg_temp.rollup_days;
  insert into pg_temp.rollup_days
  select distinct d, d::timestamp at time zone st.timezone, (d + 1)::timestamp at time zone st.timezone
  from unnest(p_days) d where d is not null;
  analyze pg_temp.rollup_days;

  create temp table if not exists pg_temp.rollup_orders (id uuid, day date, total_discounts numeric,
    total_shipping numeric, total_tax numeric, total_fees numeric) on commit drop;
  truncate pg_temp.rollup_orders;
  insert into pg_temp.rollup_orders
  select o.id, d.day, o.total_discounts, o.total_shipping, o.total_tax, o.total_fees
  from pg_temp.rollup_days d
  join public.orders o on o.store_id = p_store_id and o.placed_at >= d.lo and o.placed_at < d.hi
  where app.order_counts(st.platform, o.status, o.test);
  analyze pg_temp.rollup_orders;

  create temp table if not exists pg_temp.rollup_lines (order_id uuid, product_id uuid, day date, quantity bigint,
    gross numeric, line_discount numeric) on commit drop;
  truncate pg_temp.rollup_lines;
  -- A few days: each order's lines through the index (the planner would rather hash every line of the store).
  if (select count(*) from pg_temp.rollup_orders) < 50000 then
    insert into pg_temp.rollup_lines
    select ol.order_id, ol.product_id, c.day, ol.quantity, ol.unit_price * ol.quantity, ol.line_discount
    from pg_temp.rollup_orders c
    cross join lateral (select x.* from public.order_lines x where x.order_id = c.id offset 0) ol;
  else
    insert into pg_temp.rollup_lines
    select ol.order_id, ol.product_id, c.day, ol.quantity, ol.unit_price * ol.quantity, ol.line_discount
    from pg_temp.rollup_orders c join public.order_lines ol on ol.order_id = c.id;
  end if;

  create temp table if not exists pg_temp.rollup_refund_lines (refund_id uuid, day date, product_id uuid,
    subtotal numeric) on commit drop;
  truncate pg_temp.rollup_refund_lines;
  -- Refunds are few: each step through its index, whatever the number of days (offset 0 keeps the planner from
  -- flattening the lateral subqueries into hash joins over every order and line of the store).
  insert into pg_temp.rollup_refund_lines
  select r.id, d.day, ol.product_id, rl.subtotal
  from pg_temp.rollup_days d
  cross join lateral (select x.id, x.order_id from public.refunds x
                      where x.store_id = p_store_id and x.refunded_at >= d.lo and x.refunded_at < d.hi offset 0) r
  cross join lateral (select x.status, x.test from public.orders x where x.id = r.order_id offset 0) o
  cross join lateral (select x.order_line_id, x.line_external_id, x.subtotal, x.store_id
                      from public.refund_lines x where x.refund_id = r.id offset 0) rl
  left join lateral (
    select y.product_id from public.order_lines y
    where y.id = coalesce(rl.order_line_id, (select z.id from public.order_lines z
                                             where z.store_id = rl.store_id and z.external_id = rl.line_external_id))
    offset 0
  ) ol on true
  where app.order_counts(st.platform, o.status, o.test);
  analyze pg_temp.rollup_lines;
  analyze pg_temp.rollup_refund_lines;

  insert into public.daily_store_metrics as m (
    org_id, store_id, day, gross_sales, discounts, returns, net_sales, shipping, taxes, fees, total_sales,
    orders, units_sold, refunds, new_customers, returning_customers, customers_again, returning_week,
    returning_month, computed_at)
  with per_order as (
    select c.id, c.day, c.total_shipping, c.total_tax, c.total_fees, coalesce(l.gross, 0) as gross,
           coalesce(l.units, 0) as units,
           -- line discounts plus the order-level share (total_discounts - line discounts), never negative
           coalesce(l.line_discounts, 0) + greatest(c.total_discounts - coalesce(l.line_discounts, 0), 0) as discounts
    from pg_temp.rollup_orders c
    left join (select x.order_id, sum(x.gross) as gross, sum(x.line_discount) as line_discounts,
                      sum(x.quantity) as units
               from pg_temp.rollup_lines x group by x.order_id) l on l.order_id = c.id
  ), order_days as (
    select p.day, sum(p.gross) as gross, sum(p.discounts) as discounts, sum(p.total_shipping) as shipping,
           sum(p.total_tax) as taxes, sum(p.total_fees) as fees, count(*) as orders, sum(p.units) as units
    from per_order p group by p.day
  ), refund_days as (
    select d.day, count(r.id) as refunds, coalesce(sum(rl.subtotal), 0) as returns,
           sum(r.shipping) as shipping, sum(r.tax) as taxes
    from pg_temp.rollup_days d
    cross join lateral (select x.id, x.order_id, x.shipping, x.tax from public.refunds x
                        where x.store_id = p_store_id and x.refunded_at >= d.lo and x.refunded_at < d.hi offset 0) r
    cross join lateral (select x.status, x.test from public.orders x where x.id = r.order_id offset 0) o
    left join (select y.refund_id, sum(y.subtotal) as subtotal from pg_temp.rollup_refund_lines y
               group by y.refund_id) rl on rl.refund_id = r.id
    where app.order_counts(st.platform, o.status, o.test)
    group by d.day
  ), customer_days as (
    select dc.day, count(*) filter (where dc.prev_day is null) as new_customers,
           count(*) filter (where dc.prev_day is not null) as returning_customers,
           count(*) filter (where dc.next_day is not null) as customers_again,
           count(*) filter (where dc.prev_day < date_trunc('week', dc.day::timestamp)::date) as returning_week,
           count(*) filter (where dc.prev_day < date_trunc('month', dc.day::timestamp)::date) as returning_month
    from pg_temp.rollup_days d
    join public.daily_customer_orders dc on dc.store_id = p_store_id and dc.day = d.day
    group by dc.day
  ), figures as (
    select d.day,
           coalesce(od.gross, 0) as gross, coalesce(od.discounts, 0) as discounts,
           coalesce(rd.returns, 0) as returns,
           coalesce(od.shipping, 0) - coalesce(rd.shipping, 0) as shipping,
           coalesce(od.taxes, 0) - coalesce(rd.taxes, 0) as taxes,
           coalesce(od.fees, 0) as fees, coalesce(od.orders, 0) as orders, coalesce(od.units, 0) as units,
           coalesce(rd.refunds, 0) as refunds, coalesce(cd.new_customers, 0) as new_customers,
           coalesce(cd.returning_customers, 0) as returning_customers,
           coalesce(cd.customers_again, 0) as customers_again,
           coalesce(cd.returning_week, 0) as returning_week, coalesce(cd.returning_month, 0) as returning_month
    from pg_temp.rollup_days d
    left join order_days od on od.day = d.day
    left join refund_days rd on rd.day = d.day
    left join customer_days cd on cd.day = d.day
  )
  select st.org_id, p_store_id, f.day, f.gross, f.discounts, f.returns, f.gross - f.discounts - f.returns,
         f.shipping, f.taxes, f.fees, f.gross - f.discounts - f.returns + f.shipping + f.taxes + f.fees,
         f.orders, f.units, f.refunds, f.new_customers, f.returning_customers, f.customers_again, f.returning_week,
         f.returning_month, now()
  from figures f
  -- Only rows whose figures changed are written (most of a touched day's figures usually did not).
  on conflict (store_id, day) do update set
    gross_sales = excluded.gross_sales, discounts = excluded.discounts, returns = excluded.returns,
    net_sales = excluded.net_sales, shipping = excluded.shipping, taxes = excluded.taxes, fees = excluded.fees,
    total_sales = excluded.total_sales, orders = excluded.orders, units_sold = excluded.units_sold,
    refunds = excluded.refunds, new_customers = excluded.new_customers,
    returning_customers = excluded.returning_customers, customers_again = excluded.customers_again,
    returning_week = excluded.returning_week, returning_month = excluded.returning_month,
    computed_at = excluded.computed_at
  where (m.gross_sales, m.discounts, m.returns, m.shipping, m.taxes, m.fees, m.orders, m.units_sold, m.refunds,
         m.new_customers, m.returning_customers, m.customers_again, m.returning_week, m.returning_month)
    is distinct from (excluded.gross_sales, excluded.discounts, excluded.returns, excluded.shipping,
         excluded.taxes, excluded.fees, excluded.orders, excluded.units_sold, excluded.refunds,
         excluded.new_customers, excluded.returning_customers, excluded.customers_again, excluded.returning_week,
         excluded.returning_month);
  select count(*) into v_rows from pg_temp.rollup_days;

  create temp table if not exists pg_temp.rollup_cells (day date, product_id uuid, units_sold integer,
    gross_sales numeric, line_discounts numeric, returns numeric, refunds integer) on commit drop;
  truncate pg_temp.rollup_cells;
  insert into pg_temp.rollup_cells
  select coalesce(s.day, r.day), coalesce(s.product_id, r.product_id),
         coalesce(s.units, 0), coalesce(s.gross, 0), coalesce(s.line_discounts, 0), coalesce(r.returns, 0),
         coalesce(r.refunds, 0)
  from (select x.day, x.product_id, sum(x.quantity) as units, sum(x.gross) as gross,
               sum(x.line_discount) as line_discounts
        from pg_temp.rollup_lines x where x.product_id is not null group by 1, 2) s
  full join (select y.day, y.product_id, sum(y.subtotal) as returns, count(distinct y.refund_id) as refunds
             from pg_temp.rollup_refund_lines y where y.product_id is not null group by 1, 2) r
    on r.day = s.day and r.product_id = s.product_id;
  analyze pg_temp.rollup_cells;
  -- Write only the cells that changed: delete the vanished, upsert the changed.
  delete from public.daily_product_metrics m using pg_temp.rollup_days d
  where m.store_id = p_store_id and m.day = d.day
    and not exists (select 1 from pg_temp.rollup_cells c where c.day = m.day and c.product_id = m.product_id);
  insert into public.daily_product_metrics as m (org_id, store_id, day, product_id, units_sold, gross_sales,
                                                 line_discounts, returns, refunds)
  select st.org_id, p_store_id, c.day, c.product_id, c.units_sold, c.gross_sales, c.line_discounts, c.returns,
         c.refunds
  from pg_temp.rollup_cells c
  on conflict (store_id, day, product_id) do update set
    units_sold = excluded.units_sold, gross_sales = excluded.gross_sales, line_discounts = excluded.line_discounts,
    returns = excluded.returns, refunds = excluded.refunds
  where (m.units_sold, m.gross_sales, m.line_discounts, m.returns, m.refunds)
    is distinct from (excluded.units_sold, excluded.gross_sales, excluded.line_discounts, excluded.returns,
                      excluded.refunds);
  return v_rows;
end
$$;

-- Everything of one store: every customer, every day from its first order (or p_from) to today in its zone.
create function app.rebuild_store_analytics(p_store_id uuid) returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  st record;
  v_first date;
  v_today date;
  v_rows integer;
  v_dirty date[];
begin
  select * into st from app.analytics_store(p_store_id);
  perform pg_advisory_xact_lock(hashtextextended('analytics:' || p_store_id::text, 0));
  select min((o.placed_at at time zone st.timezone)::date), (now() at time zone st.timezone)::date
    into v_first, v_today from public.orders o where o.store_id = p_store_id;
  -- Claim the queue first: a writer committing meanwhile queues its days again (they wait on these rows).
  with gone as (delete from public.analytics_dirty_days x where x.store_id = p_store_id returning x.day)
  select array_agg(day) into v_dirty from gone;
  delete from public.analytics_dirty_customers where store_id = p_store_id;
  v_first := least(coalesce(v_first, v_today), v_today);
  perform app.rollup_customers(p_store_id, null, false);
  delete from public.daily_store_metrics where store_id = p_store_id and (day < v_first or day > v_today);
  delete from public.daily_product_metrics where store_id = p_store_id and (day < v_first or day > v_today);
  v_rows := app.rollup_days(p_store_id, array(
    select d::date from generate_series(v_first::timestamp, v_today::timestamp, interval '1 day') d
    union select x from unnest(v_dirty) x));
  insert into public.analytics_state as a (store_id, full_needed, built_at, refreshed_at)
  values (p_store_id, false, now(), now())
  on conflict (store_id) do update set full_needed = false, built_at = now(), refreshed_at = now();
  return v_rows;
end
$$;

-- What the queue says changed since the last refresh (or everything when the store was never built).
-- Returns the number of days recomputed.
create function app.refresh_store_analytics_pending(p_store_id uuid) returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_keys text[];
  v_days date[];
  v_changed date[];
begin
  perform app.analytics_store(p_store_id);
  perform pg_advisory_xact_lock(hashtextextended('analytics:' || p_store_id::text, 0));
  if not exists (select 1 from public.analytics_state a where a.store_id = p_store_id and not a.full_needed) then
    return app.rebuild_store_analytics(p_store_id);
  end if;
  with gone as (delete from public.analytics_dirty_customers x where x.store_id = p_store_id
                returning x.customer_key)
  select array_agg(customer_key) into v_keys from gone;
  if v_keys is not null then
    v_changed := app.rollup_customers(p_store_id, v_keys);
  end if;
  with gone as (delete from public.analytics_dirty_days x where x.store_id = p_store_id returning x.day)
  select array_agg(day) into v_days from gone;
  v_days := coalesce(v_days, '{}') || coalesce(v_changed, '{}');
  update public.analytics_state set refreshed_at = now() where store_id = p_store_id;
  return app.rollup_days(p_store_id, v_days);
end
$$;

-- True when the rollups of a store are not current: a read refreshes first. Cheap (two index probes).
create function app.analytics_pending(p_store_id uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select not exists (select 1 from public.analytics_state a where a.store_id = p_store_id and not a.full_needed)
      or exists (select 1 from public.analytics_dirty_days x where x.store_id = p_store_id)
      or exists (select 1 from public.analytics_dirty_customers x where x.store_id = p_store_id)
$$;

-- The existing entry points, now on the new pieces (same signatures).

-- Recompute [p_from, p_to], every customer's order days and the days where those changed: the nightly drift
-- check and explicit ranges.
create or replace function app.refresh_store_analytics(p_store_id uuid, p_from date, p_to date) returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_changed date[];
begin
  perform app.analytics_store(p_store_id);
  if p_from is null or p_to is null or p_from > p_to or p_to - p_from > 4000 then
    raise exception 'bad range % .. %', p_from, p_to using errcode = 'invalid_parameter_value';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('analytics:' || p_store_id::text, 0));
  delete from public.analytics_dirty_customers where store_id = p_store_id;
  delete from public.analytics_dirty_days where store_id = p_store_id and day between p_from and p_to;
  v_changed := app.rollup_customers(p_store_id, null);
  return app.rollup_days(p_store_id, array(
    select d::date from generate_series(p_from::timestamp, p_to::timestamp, interval '1 day') d
    union select x from unnest(v_changed) x));
end
$$;

create or replace function app.refresh_daily_store_metrics(p_store_id uuid, p_from date, p_to date)
returns integer
language plpgsql security definer set search_path = ''
as $$
begin
  return app.refresh_store_analytics(p_store_id, p_from, p_to);
end
$$;

create or replace function app.refresh_customer_first_orders(p_store_id uuid) returns void
language sql volatile security definer set search_path = ''
as $$
  select app.rollup_customers(p_store_id, null, false);
$$;

-- New and returning customers per bucket, from the customers' order days (same answer as before: new = first
-- counting order ever in the clipped bucket; returning = an order in it and the first one before it).
create or replace function app.customer_counts(p_store_id uuid, p_from date, p_to date, p_interval text)
returns table (bucket date, new_customers integer, returning_customers integer)
language sql stable security definer set search_path = ''
as $$
  with b as (
    select d.day, d.prev_day,
           case p_interval
             when 'day' then d.day
             when 'week' then date_trunc('week', d.day::timestamp)::date
             when 'month' then date_trunc('month', d.day::timestamp)::date
             else p_from
           end as bucket
    from public.stores st
    join public.daily_customer_orders d on d.store_id = st.id and d.day between p_from and p_to
    where st.id = p_store_id and (auth.uid() is null or st.org_id in (select app.member_org_ids()))
  )
  select b.bucket, (count(*) filter (where b.prev_day is null))::integer,
         (count(*) filter (where b.prev_day < greatest(b.bucket, p_from)))::integer
  from b group by b.bucket
$$;

-- Returning customers of one period [p_from, p_to]: customers with an order day in it whose previous order day
-- is before it, i.e. the rows with day in the period and prev_day < p_from (one per such customer).
-- Short periods count those rows directly. Long ones avoid reading the period's rows: the customers "between
-- orders" at p_from (previous order before it, next on or after it) come from prefix sums of the daily rollup
-- (customers_again - returning_customers of every earlier day), minus those whose next order is after p_to as
-- well, i.e. gaps longer than the period (few: read through the gap index). Same answer either way (tested).
-- Security definer with the tenancy check done once; another organization's store gives null.
create function app.returning_customers(p_store_id uuid, p_from date, p_to date) returns integer
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_between bigint;
  v_spanning bigint;
begin
  if not exists (select 1 from public.stores st where st.id = p_store_id
                 and (auth.uid() is null or st.org_id in (select app.member_org_ids()))) then
    return null;
  end if;
  if p_to - p_from < 90 then
    return (select count(*) from public.daily_customer_orders d
            where d.store_id = p_store_id and d.day between p_from and p_to and d.prev_day < p_from);
  end if;
  select coalesce(sum(m.customers_again - m.returning_customers), 0) into v_between
  from public.daily_store_metrics m where m.store_id = p_store_id and m.day < p_from;
  select count(*) into v_spanning from public.daily_customer_orders d
  where d.store_id = p_store_id and d.gap is not null and d.gap >= p_to - p_from + 2
    and d.prev_day < p_from and d.day > p_to;
  return v_between - v_spanning;
end
$$;
grant execute on function app.returning_customers(uuid, date, date) to authenticated, service_role;

revoke execute on function app.rollup_customers(uuid, text[], boolean),
  app.rollup_days(uuid, date[]), app.rebuild_store_analytics(uuid), app.refresh_store_analytics_pending(uuid),
  app.analytics_pending(uuid), app.analytics_store(uuid) from public;
grant execute on function app.rebuild_store_analytics(uuid), app.refresh_store_analytics_pending(uuid),
  app.analytics_pending(uuid) to authenticated, service_role;
