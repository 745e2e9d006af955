-- Orders in another currency than the shop's (docs/metrics.md "Currencies"; issue 5).
--
-- A WooCommerce store with a multi-currency plugin books each order in the buyer's currency. The sync converts
-- such an order to the shop's currency when it carries WooPayments' exchange rate (shared/stores/woocommerce/
-- mapping.py: every amount converted and rounded to the cent, as WooCommerce Analytics does) and keeps the rate
-- in `orders.exchange_rate`; `orders.currency` then names the shop's currency and `presentment_currency` the
-- buyer's. An order without a rate keeps its own currency and amounts: summing them with the shop's would be
-- wrong, so every figure leaves it out (`app.order_counts` with the currencies) and the summary says how many
-- were left out. The functions below are those of 20261125001000 with that one condition added (and the
-- order's currency read beside its status where only those were read); applied migrations are never edited.
-- Also here: a customer's external id changing re-queues its order days (they were left to the nightly drift
-- check), and a change of the shop's currency rebuilds the store like a time zone change.

alter table public.orders add column exchange_rate numeric(20, 10);
comment on column public.orders.exchange_rate is
  'shop currency units per unit of presentment_currency, when the amounts were converted at sync';

-- The summary counts the orders left out per period: they are the store's orders in any other currency.
create index orders_store_currency_idx on public.orders (store_id, currency, placed_at);

-- Which orders count, and in money: those `app.order_counts` counts whose amounts are in the shop's currency.
-- A store whose currency is not known (yet) leaves nothing out. Inlined by the planner like the other. The
-- currencies are bpchar like the columns: a cast of orders.currency to text would hide its statistics from
-- the planner (estimated 0.5 % of the orders, it then joined a rebuild's days to every order: 7.6 s, not 0.1 s).
create function app.order_counts(p_platform text, p_status text, p_test boolean, p_currency bpchar,
                                 p_shop_currency bpchar) returns boolean
language sql immutable
as $$
  select app.order_counts(p_platform, p_status, p_test)
    and (p_shop_currency is null or p_currency = p_shop_currency)
$$;
grant execute on function app.order_counts(text, text, boolean, bpchar, bpchar) to authenticated, service_role;

-- The store's org, platform, zone and now currency; refuses a store outside the caller's organizations.
drop function app.analytics_store(uuid);
create function app.analytics_store(p_store_id uuid, out org_id uuid, out platform text, out timezone text,
                                    out currency bpchar)
language plpgsql stable security definer set search_path = ''
as $$
begin
  select s.org_id, s.platform, s.timezone, s.currency into org_id, platform, timezone, currency
  from public.stores s where s.id = p_store_id;
  if org_id is null or (auth.uid() is not null and org_id not in (select app.member_org_ids())) then
    raise exception 'store % not found', p_store_id using errcode = 'no_data_found';
  end if;
end
$$;
revoke execute on function app.analytics_store(uuid) from public;

-- A store's time zone, platform or currency decides every day and which orders count: rebuild it whole.
create or replace function app.analytics_store_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.timezone is distinct from old.timezone or new.platform is distinct from old.platform
     or new.currency is distinct from old.currency then
    update public.analytics_state set full_needed = true where store_id = new.id;
  end if;
  return null;
end
$$;

-- A customer's orders are keyed by the order's customer id, else the customer row's: when the row's external
-- id changes, the customer's order days move from the old key to the new one.
create function app.analytics_customers_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  insert into public.analytics_dirty_customers (store_id, customer_key)
  select distinct k.store_id, k.customer_key
  from old_rows o join new_rows n on n.id = o.id
  cross join lateral (values (o.store_id, o.external_id), (n.store_id, n.external_id)) k(store_id, customer_key)
  where o.external_id is distinct from n.external_id and k.customer_key is not null
  order by 1, 2
  on conflict do nothing;
  return null;
end
$$;
create trigger customers_analytics_upd after update on public.customers
  referencing old table as old_rows new table as new_rows
  for each statement execute function app.analytics_customers_changed();

-- The change queue --------------------------------------------------------------------------------------
create or replace function app.analytics_orders_changed() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.analytics_dirty_orders (store_id, order_id)
    select n.store_id, n.id from new_rows n
    where exists (select 1 from public.analytics_state a where a.store_id = n.store_id and not a.full_needed)
    order by 1, 2
    on conflict do nothing;
    insert into public.analytics_dirty_days (store_id, day)
    select distinct n.store_id, (n.placed_at at time zone s.timezone)::date
    from new_rows n join public.stores s on s.id = n.store_id
    where not exists (select 1 from public.analytics_state a where a.store_id = n.store_id and not a.full_needed)
    order by 1, 2
    on conflict do nothing;
    insert into public.analytics_dirty_customers (store_id, customer_key)
    select distinct n.store_id, coalesce(n.customer_external_id, c.external_id)
    from new_rows n left join public.customers c on c.id = n.customer_id
    where coalesce(n.customer_external_id, c.external_id) is not null order by 1, 2
    on conflict do nothing;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into public.analytics_dirty_orders (store_id, order_id)
    select o.store_id, o.id from old_rows o
    where exists (select 1 from public.analytics_state a where a.store_id = o.store_id and not a.full_needed)
    order by 1, 2
    on conflict do nothing;
    insert into public.analytics_dirty_days (store_id, day)
    select distinct o.store_id, (o.placed_at at time zone s.timezone)::date
    from old_rows o join public.stores s on s.id = o.store_id
    where not exists (select 1 from public.analytics_state a where a.store_id = o.store_id and not a.full_needed)
    order by 1, 2
    on conflict do nothing;
    insert into public.analytics_dirty_customers (store_id, customer_key)
    select distinct o.store_id, coalesce(o.customer_external_id, c.external_id)
    from old_rows o left join public.customers c on c.id = o.customer_id
    where coalesce(o.customer_external_id, c.external_id) is not null order by 1, 2
    on conflict do nothing;
  end if;
  if tg_op = 'UPDATE' then
    -- a refund counts only while its order does
    insert into public.analytics_dirty_refunds (store_id, refund_id)
    select distinct r.store_id, r.id
    from old_rows o join new_rows n on n.id = o.id
    join public.refunds r on r.order_id = n.id
    where (o.status is distinct from n.status or o.test is distinct from n.test
           or o.currency is distinct from n.currency) and
    exists (select 1 from public.analytics_state a
          where a.store_id = r.store_id and not a.full_needed)
    order by 1, 2
    on conflict do nothing;
    insert into public.analytics_dirty_days (store_id, day)
    select distinct r.store_id, (r.refunded_at at time zone s.timezone)::date
    from old_rows o join new_rows n on n.id = o.id
    join public.refunds r on r.order_id = n.id
    join public.stores s on s.id = r.store_id
    where (o.status is distinct from n.status or o.test is distinct from n.test
           or o.currency is distinct from n.currency)
      and not exists (select 1 from public.analytics_state a where a.store_id = r.store_id and not a.full_needed)
    order by 1, 2
    on conflict do nothing;
  end if;
  return null;
end
$$;

-- The facts of the orders in pg_temp.facts_orders and the refunds in pg_temp.facts_refunds, recomputed from
-- their rows. With p_deltas, the store and product days get new minus old (and the customer figures the rows
-- of daily_customer_orders that rollup_customers recorded in pg_temp.rollup_customer_changes), and every day
-- in pg_temp.facts_days gets a row; without, only the facts are written (their old rows must be gone).
-- Returns the number of store days written.
create or replace function app.analytics_apply_facts(p_store_id uuid, p_deltas boolean) returns integer
language plpgsql volatile security definer set search_path = '' set work_mem = '64MB' set enable_hashagg = off
as $$
declare
  st record;
  v_rows integer := 0;
begin
  select * into st from app.analytics_store(p_store_id);
  create temp table if not exists pg_temp.facts_new_orders (like public.analytics_order_facts) on commit drop;
  create temp table if not exists pg_temp.facts_new_refunds (like public.analytics_refund_facts) on commit drop;
  truncate pg_temp.facts_new_orders, pg_temp.facts_new_refunds;
  analyze pg_temp.facts_orders;
  analyze pg_temp.facts_refunds;

  -- Per order: its lines' sums, and each line with a product (the arrays line up: one aggregation).
  if (select count(*) from pg_temp.facts_orders) < 50000 then
    -- A few orders: each one's lines through the index.
    insert into pg_temp.facts_new_orders
    select o.id, p_store_id, (o.placed_at at time zone st.timezone)::date, coalesce(l.gross, 0),
           coalesce(l.line_discounts, 0) + greatest(o.total_discounts - coalesce(l.line_discounts, 0), 0),
           o.total_shipping, o.total_tax, o.total_fees, coalesce(l.units, 0),
           coalesce(l.product_ids, '{}'), coalesce(l.product_units, '{}'), coalesce(l.product_gross, '{}'),
           coalesce(l.product_discounts, '{}')
    from pg_temp.facts_orders t
    join public.orders o on o.id = t.order_id
    cross join lateral (
      select sum(x.unit_price * x.quantity) as gross, sum(x.line_discount) as line_discounts,
             sum(x.quantity)::bigint as units,
             array_agg(x.product_id) filter (where x.product_id is not null) as product_ids,
             array_agg(x.quantity::bigint) filter (where x.product_id is not null) as product_units,
             array_agg(x.unit_price * x.quantity) filter (where x.product_id is not null) as product_gross,
             array_agg(x.line_discount) filter (where x.product_id is not null) as product_discounts
      from public.order_lines x where x.order_id = o.id offset 0
    ) l
    where o.store_id = p_store_id and app.order_counts(st.platform, o.status, o.test, o.currency, st.currency);
  else
    -- Many (a rebuild): all their lines in one pass.
    insert into pg_temp.facts_new_orders
    select o.id, p_store_id, (o.placed_at at time zone st.timezone)::date, coalesce(l.gross, 0),
           coalesce(l.line_discounts, 0) + greatest(o.total_discounts - coalesce(l.line_discounts, 0), 0),
           o.total_shipping, o.total_tax, o.total_fees, coalesce(l.units, 0),
           coalesce(l.product_ids, '{}'), coalesce(l.product_units, '{}'), coalesce(l.product_gross, '{}'),
           coalesce(l.product_discounts, '{}')
    from pg_temp.facts_orders t
    join public.orders o on o.id = t.order_id
    left join (
      select x.order_id, sum(x.unit_price * x.quantity) as gross, sum(x.line_discount) as line_discounts,
             sum(x.quantity)::bigint as units,
             array_agg(x.product_id) filter (where x.product_id is not null) as product_ids,
             array_agg(x.quantity::bigint) filter (where x.product_id is not null) as product_units,
             array_agg(x.unit_price * x.quantity) filter (where x.product_id is not null) as product_gross,
             array_agg(x.line_discount) filter (where x.product_id is not null) as product_discounts
      from pg_temp.facts_orders t2 join public.order_lines x on x.order_id = t2.order_id
      group by x.order_id
    ) l on l.order_id = o.id
    where o.store_id = p_store_id and app.order_counts(st.platform, o.status, o.test, o.currency, st.currency);
  end if;

  -- Refunds (few): lines matched to order lines by id or external id, as the product rollup always did.
  insert into pg_temp.facts_new_refunds
  select r.id, p_store_id, (r.refunded_at at time zone st.timezone)::date, coalesce(l.returns, 0), r.shipping,
         r.tax, coalesce(l.product_ids, '{}'), coalesce(l.product_returns, '{}')
  from pg_temp.facts_refunds t
  join public.refunds r on r.id = t.refund_id
  cross join lateral (select x.status, x.test, x.currency from public.orders x where x.id = r.order_id offset 0) o
  cross join lateral (
    select sum(p.subtotal) as returns,
           array_agg(p.product_id order by p.product_id) filter (where p.product_id is not null) as product_ids,
           array_agg(p.subtotal order by p.product_id) filter (where p.product_id is not null) as product_returns
    from (select ol.product_id, sum(rl.subtotal) as subtotal
          from public.refund_lines rl
          left join lateral (
            select y.product_id from public.order_lines y
            where y.id = coalesce(rl.order_line_id, (select z.id from public.order_lines z
                                                     where z.store_id = rl.store_id
                                                       and z.external_id = rl.line_external_id))
            offset 0
          ) ol on true
          where rl.refund_id = r.id
          group by ol.product_id) p
  ) l
  where r.store_id = p_store_id and app.order_counts(st.platform, o.status, o.test, o.currency, st.currency);

  if p_deltas then
    create temp table if not exists pg_temp.facts_old_orders (like public.analytics_order_facts) on commit drop;
    create temp table if not exists pg_temp.facts_old_refunds (like public.analytics_refund_facts) on commit drop;
    create temp table if not exists pg_temp.rollup_customer_changes (day date, prev_day date, next_day date,
      sign integer) on commit drop;
    truncate pg_temp.facts_old_orders, pg_temp.facts_old_refunds;
    insert into pg_temp.facts_old_orders
    select f.* from pg_temp.facts_orders t join public.analytics_order_facts f on f.order_id = t.order_id
    where f.store_id = p_store_id;
    insert into pg_temp.facts_old_refunds
    select f.* from pg_temp.facts_refunds t join public.analytics_refund_facts f on f.refund_id = t.refund_id
    where f.store_id = p_store_id;
    -- Orders and refunds rewritten unchanged (a sync re-writes many) add nothing: drop them from both sides.
    with same as (
      select n.order_id from pg_temp.facts_new_orders n join pg_temp.facts_old_orders o on o.order_id = n.order_id
      where row(n.*) = row(o.*)
    ), gone as (
      delete from pg_temp.facts_new_orders n using same s where n.order_id = s.order_id returning n.order_id
    )
    delete from pg_temp.facts_old_orders o using gone g where o.order_id = g.order_id;
    with same as (
      select n.refund_id from pg_temp.facts_new_refunds n
      join pg_temp.facts_old_refunds o on o.refund_id = n.refund_id
      where row(n.*) = row(o.*)
    ), gone as (
      delete from pg_temp.facts_new_refunds n using same s where n.refund_id = s.refund_id returning n.refund_id
    )
    delete from pg_temp.facts_old_refunds o using gone g where o.refund_id = g.refund_id;

    create temp table if not exists pg_temp.facts_delta_days (day date, gross numeric, discounts numeric,
      returns numeric, shipping numeric, taxes numeric, fees numeric, orders bigint, units numeric,
      refunds bigint, new_customers bigint, returning_customers bigint, customers_again bigint,
      returning_week bigint, returning_month bigint) on commit drop;
    truncate pg_temp.facts_delta_days;
    insert into pg_temp.facts_delta_days
    select x.day, sum(x.gross), sum(x.discounts), sum(x.returns), sum(x.shipping), sum(x.taxes), sum(x.fees),
           sum(x.orders), sum(x.units), sum(x.refunds), sum(x.n), sum(x.r), sum(x.a), sum(x.w), sum(x.m)
    from (
      select f.day, f.gross, f.discounts, 0::numeric as returns, f.shipping, f.taxes, f.fees, 1 as orders,
             f.units, 0 as refunds, 0 as n, 0 as r, 0 as a, 0 as w, 0 as m
      from pg_temp.facts_new_orders f
      union all
      select f.day, -f.gross, -f.discounts, 0, -f.shipping, -f.taxes, -f.fees, -1, -f.units, 0, 0, 0, 0, 0, 0
      from pg_temp.facts_old_orders f
      union all
      select f.day, 0, 0, f.returns, -f.shipping, -f.taxes, 0, 0, 0, 1, 0, 0, 0, 0, 0 from pg_temp.facts_new_refunds f
      union all
      select f.day, 0, 0, -f.returns, f.shipping, f.taxes, 0, 0, 0, -1, 0, 0, 0, 0, 0 from pg_temp.facts_old_refunds f
      union all
      select c.day, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             c.sign * (c.prev_day is null)::integer, c.sign * (c.prev_day is not null)::integer,
             c.sign * (c.next_day is not null)::integer,
             c.sign * coalesce(c.prev_day < date_trunc('week', c.day::timestamp)::date, false)::integer,
             c.sign * coalesce(c.prev_day < date_trunc('month', c.day::timestamp)::date, false)::integer
      from pg_temp.rollup_customer_changes c
      union all
      select d.day, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 from pg_temp.facts_days d
    ) x
    group by x.day;
    truncate pg_temp.rollup_customer_changes;

    insert into public.daily_store_metrics as m (
      org_id, store_id, day, gross_sales, discounts, returns, net_sales, shipping, taxes, fees, total_sales,
      orders, units_sold, refunds, new_customers, returning_customers, customers_again, returning_week,
      returning_month, computed_at)
    select st.org_id, p_store_id, d.day, d.gross, d.discounts, d.returns, d.gross - d.discounts - d.returns,
           d.shipping, d.taxes, d.fees, d.gross - d.discounts - d.returns + d.shipping + d.taxes + d.fees,
           d.orders, d.units, d.refunds, d.new_customers, d.returning_customers, d.customers_again,
           d.returning_week, d.returning_month, now()
    from pg_temp.facts_delta_days d
    -- A day already there gets the difference; a new one has no facts yet, so the difference is its figures.
    on conflict (store_id, day) do update set
      gross_sales = m.gross_sales + excluded.gross_sales, discounts = m.discounts + excluded.discounts,
      returns = m.returns + excluded.returns, net_sales = m.net_sales + excluded.net_sales,
      shipping = m.shipping + excluded.shipping, taxes = m.taxes + excluded.taxes, fees = m.fees + excluded.fees,
      total_sales = m.total_sales + excluded.total_sales, orders = m.orders + excluded.orders,
      units_sold = m.units_sold + excluded.units_sold, refunds = m.refunds + excluded.refunds,
      new_customers = m.new_customers + excluded.new_customers,
      returning_customers = m.returning_customers + excluded.returning_customers,
      customers_again = m.customers_again + excluded.customers_again,
      returning_week = m.returning_week + excluded.returning_week,
      returning_month = m.returning_month + excluded.returning_month, computed_at = excluded.computed_at
    where (excluded.gross_sales, excluded.discounts, excluded.returns, excluded.shipping, excluded.taxes,
           excluded.fees, excluded.orders, excluded.units_sold, excluded.refunds, excluded.new_customers,
           excluded.returning_customers, excluded.customers_again, excluded.returning_week,
           excluded.returning_month) is distinct from (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    select count(*) into v_rows from pg_temp.facts_delta_days;

    create temp table if not exists pg_temp.facts_delta_cells (day date, product_id uuid, units numeric,
      gross numeric, line_discounts numeric, returns numeric, refunds bigint, sources bigint) on commit drop;
    truncate pg_temp.facts_delta_cells;
    insert into pg_temp.facts_delta_cells
    select x.day, x.product_id, sum(x.units), sum(x.gross), sum(x.discounts), sum(x.returns), sum(x.refunds),
           sum(x.sources)
    from (
      select f.day, u.product_id, u.units, u.gross, u.discounts, 0::numeric as returns, 0 as refunds, 1 as sources
      from pg_temp.facts_new_orders f
      cross join unnest(f.product_ids, f.product_units, f.product_gross, f.product_discounts)
        u(product_id, units, gross, discounts)
      union all
      select f.day, u.product_id, -u.units, -u.gross, -u.discounts, 0, 0, -1
      from pg_temp.facts_old_orders f
      cross join unnest(f.product_ids, f.product_units, f.product_gross, f.product_discounts)
        u(product_id, units, gross, discounts)
      union all
      select f.day, u.product_id, 0, 0, 0, u.returns, 1, 1
      from pg_temp.facts_new_refunds f cross join unnest(f.product_ids, f.product_returns) u(product_id, returns)
      union all
      select f.day, u.product_id, 0, 0, 0, -u.returns, -1, -1
      from pg_temp.facts_old_refunds f cross join unnest(f.product_ids, f.product_returns) u(product_id, returns)
    ) x
    group by x.day, x.product_id
    having (sum(x.units), sum(x.gross), sum(x.discounts), sum(x.returns), sum(x.refunds), sum(x.sources))
      is distinct from (0, 0, 0, 0, 0, 0);
    insert into public.daily_product_metrics as m (org_id, store_id, day, product_id, units_sold, gross_sales,
                                                   line_discounts, returns, refunds, sources)
    select st.org_id, p_store_id, c.day, c.product_id, c.units, c.gross, c.line_discounts, c.returns, c.refunds,
           c.sources
    from pg_temp.facts_delta_cells c
    on conflict (store_id, day, product_id) do update set
      units_sold = m.units_sold + excluded.units_sold, gross_sales = m.gross_sales + excluded.gross_sales,
      line_discounts = m.line_discounts + excluded.line_discounts, returns = m.returns + excluded.returns,
      refunds = m.refunds + excluded.refunds, sources = m.sources + excluded.sources;
    -- A cell no order or refund adds to any more goes.
    delete from public.daily_product_metrics m using pg_temp.facts_delta_cells c
    where m.store_id = p_store_id and m.day = c.day and m.product_id = c.product_id and m.sources = 0;

    delete from public.analytics_order_facts f using pg_temp.facts_old_orders o
    where f.store_id = p_store_id and f.order_id = o.order_id;
    delete from public.analytics_refund_facts f using pg_temp.facts_old_refunds o
    where f.store_id = p_store_id and f.refund_id = o.refund_id;
  end if;
  insert into public.analytics_order_facts select * from pg_temp.facts_new_orders;
  insert into public.analytics_refund_facts select * from pg_temp.facts_new_refunds;
  return v_rows;
end
$$;

-- The customers' order-day rows that went and came are also recorded (pg_temp.rollup_customer_changes) for
-- the refresh's deltas.
create or replace function app.rollup_customers(p_store_id uuid, p_keys text[], p_diff boolean default true)
returns date[]
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
    where o.store_id = p_store_id and app.order_counts(st.platform, o.status, o.test, o.currency, st.currency)
      and coalesce(o.customer_external_id, c.external_id) is not null
      and (p_keys is null or o.customer_external_id = any(p_keys)
           or (o.customer_external_id is null and o.customer_id in (
             select x.id from public.customers x where x.store_id = p_store_id and x.external_id = any(p_keys))))
  ) k
  window w as (partition by k.customer_key order by k.day);
  analyze pg_temp.rollup_new;

  -- Only rows that differ are written: most touched customers keep their order days (a discount changed).
  create temp table if not exists pg_temp.rollup_customer_changes (day date, prev_day date, next_day date,
    sign integer) on commit drop;
  -- The rows that went and came: the refresh applies them as deltas of the days' customer figures.
  with gone as (
    delete from public.daily_customer_orders d
    where d.store_id = p_store_id and (p_keys is null or d.customer_key = any(p_keys))
      and not exists (select 1 from pg_temp.rollup_new n
                      where n.day = d.day and n.customer_key = d.customer_key
                        and n.prev_day is not distinct from d.prev_day and n.next_day is not distinct from d.next_day)
    returning d.day, d.prev_day, d.next_day
  ), kept as (
    insert into pg_temp.rollup_customer_changes select g.day, g.prev_day, g.next_day, -1 from gone g
    where p_diff returning day
  )
  select array_agg(distinct gone.day) into v_gone from gone;
  with added as (
    insert into public.daily_customer_orders (org_id, store_id, day, customer_key, prev_day, next_day)
    select st.org_id, p_store_id, n.day, n.customer_key, n.prev_day, n.next_day
    from pg_temp.rollup_new n
    -- a row still there after the delete is identical (an anti-join here may rescan the rows this insert adds)
    on conflict (store_id, day, customer_key) do nothing
    returning day, prev_day, next_day
  ), kept as (
    insert into pg_temp.rollup_customer_changes select a.day, a.prev_day, a.next_day, 1 from added a
    where p_diff returning day
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

-- Store and product figures of whole days (a rebuild, an explicit range); product days also count their
-- sources, and the orders' facts are gathered on the way (pg_temp.rollup_order_facts).
create or replace function app.rollup_days(p_store_id uuid, p_days date[]) returns integer
language plpgsql volatile security definer set search_path = '' set work_mem = '64MB'
as $$
declare
  st record;
  v_rows integer;
  v_hashagg text;
  v_work_mem text;
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
  where app.order_counts(st.platform, o.status, o.test, o.currency, st.currency);
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
  cross join lateral (select x.status, x.test, x.currency from public.orders x where x.id = r.order_id offset 0) o
  cross join lateral (select x.order_line_id, x.line_external_id, x.subtotal, x.store_id
                      from public.refund_lines x where x.refund_id = r.id offset 0) rl
  left join lateral (
    select y.product_id from public.order_lines y
    where y.id = coalesce(rl.order_line_id, (select z.id from public.order_lines z
                                             where z.store_id = rl.store_id and z.external_id = rl.line_external_id))
    offset 0
  ) ol on true
  where app.order_counts(st.platform, o.status, o.test, o.currency, st.currency);
  analyze pg_temp.rollup_lines;
  analyze pg_temp.rollup_refund_lines;

  -- Per order: its figures and its lines with a product, as app.analytics_apply_facts computes them (the store
  -- days sum them; a rebuild stores them as the orders' facts). Grouped by sorting: hashing many groups of
  -- arrays spills.
  create temp table if not exists pg_temp.rollup_order_facts (like public.analytics_order_facts) on commit drop;
  truncate pg_temp.rollup_order_facts;
  v_hashagg := current_setting('enable_hashagg');
  v_work_mem := current_setting('work_mem');
  perform set_config('enable_hashagg', 'off', true);
  perform set_config('work_mem', '256MB', true);  -- a rebuild sorts every line in memory (~100 MB at 1M lines)
  insert into pg_temp.rollup_order_facts
  select c.id, p_store_id, c.day, coalesce(l.gross, 0),
         -- line discounts plus the order-level share (total_discounts - line discounts), never negative
         coalesce(l.line_discounts, 0) + greatest(c.total_discounts - coalesce(l.line_discounts, 0), 0),
         c.total_shipping, c.total_tax, c.total_fees, coalesce(l.units, 0),
         coalesce(l.product_ids, '{}'), coalesce(l.product_units, '{}'), coalesce(l.product_gross, '{}'),
         coalesce(l.product_discounts, '{}')
  from pg_temp.rollup_orders c
  left join (
    select x.order_id, sum(x.gross) as gross, sum(x.line_discount) as line_discounts, sum(x.quantity) as units,
           array_agg(x.product_id) filter (where x.product_id is not null) as product_ids,
           array_agg(x.quantity) filter (where x.product_id is not null) as product_units,
           array_agg(x.gross) filter (where x.product_id is not null) as product_gross,
           array_agg(x.line_discount) filter (where x.product_id is not null) as product_discounts
    from pg_temp.rollup_lines x group by x.order_id
  ) l on l.order_id = c.id;
  perform set_config('enable_hashagg', v_hashagg, true);
  perform set_config('work_mem', v_work_mem, true);

  insert into public.daily_store_metrics as m (
    org_id, store_id, day, gross_sales, discounts, returns, net_sales, shipping, taxes, fees, total_sales,
    orders, units_sold, refunds, new_customers, returning_customers, customers_again, returning_week,
    returning_month, computed_at)
  with per_order as (
    select f.order_id as id, f.day, f.shipping as total_shipping, f.taxes as total_tax, f.fees as total_fees,
           f.gross, f.units, f.discounts
    from pg_temp.rollup_order_facts f
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
    cross join lateral (select x.status, x.test, x.currency from public.orders x where x.id = r.order_id offset 0) o
    left join (select y.refund_id, sum(y.subtotal) as subtotal from pg_temp.rollup_refund_lines y
               group by y.refund_id) rl on rl.refund_id = r.id
    where app.order_counts(st.platform, o.status, o.test, o.currency, st.currency)
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
    gross_sales numeric, line_discounts numeric, returns numeric, refunds integer, sources integer) on commit drop;
  truncate pg_temp.rollup_cells;
  insert into pg_temp.rollup_cells
  select coalesce(s.day, r.day), coalesce(s.product_id, r.product_id),
         coalesce(s.units, 0), coalesce(s.gross, 0), coalesce(s.line_discounts, 0), coalesce(r.returns, 0),
         coalesce(r.refunds, 0), coalesce(s.lines, 0) + coalesce(r.refunds, 0)
  from (select x.day, x.product_id, sum(x.quantity) as units, sum(x.gross) as gross,
               sum(x.line_discount) as line_discounts, count(*) as lines
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
                                                 line_discounts, returns, refunds, sources)
  select st.org_id, p_store_id, c.day, c.product_id, c.units_sold, c.gross_sales, c.line_discounts, c.returns,
         c.refunds, c.sources
  from pg_temp.rollup_cells c
  on conflict (store_id, day, product_id) do update set
    units_sold = excluded.units_sold, gross_sales = excluded.gross_sales, line_discounts = excluded.line_discounts,
    returns = excluded.returns, refunds = excluded.refunds, sources = excluded.sources
  where (m.units_sold, m.gross_sales, m.line_discounts, m.returns, m.refunds, m.sources)
    is distinct from (excluded.units_sold, excluded.gross_sales, excluded.line_discounts, excluded.returns,
                      excluded.refunds, excluded.sources);
  return v_rows;
end
$$;

-- Every order's and refund's facts of a store, from what app.rollup_days just gathered for all its days
-- (pg_temp.rollup_order_facts; rollup_refund_lines: every counting refund's lines), as
-- app.analytics_apply_facts computes them for a few.
create or replace function app.rebuild_facts(p_store_id uuid) returns void
language plpgsql volatile security definer set search_path = '' set work_mem = '64MB' set enable_hashagg = off
as $$
declare
  st record;
begin
  select * into st from app.analytics_store(p_store_id);
  delete from public.analytics_order_facts where store_id = p_store_id;
  delete from public.analytics_refund_facts where store_id = p_store_id;
  insert into public.analytics_order_facts select * from pg_temp.rollup_order_facts;
  insert into public.analytics_refund_facts
  select r.id, p_store_id, (r.refunded_at at time zone st.timezone)::date, coalesce(l.returns, 0), r.shipping,
         r.tax, coalesce(l.product_ids, '{}'), coalesce(l.product_returns, '{}')
  from public.refunds r
  join public.orders o on o.id = r.order_id
  left join (
    select p.refund_id, sum(p.subtotal) as returns,
           array_agg(p.product_id) filter (where p.product_id is not null) as product_ids,
           array_agg(p.subtotal) filter (where p.product_id is not null) as product_returns
    from (select y.refund_id, y.product_id, sum(y.subtotal) as subtotal from pg_temp.rollup_refund_lines y
          group by y.refund_id, y.product_id) p
    group by p.refund_id
  ) l on l.refund_id = r.id
  where r.store_id = p_store_id and app.order_counts(st.platform, o.status, o.test, o.currency, st.currency);
end
$$;

-- Stores holding orders in another currency than their own rebuild on their next read.
update public.analytics_state a set full_needed = true
where exists (select 1 from public.orders o join public.stores s on s.id = o.store_id
              where o.store_id = a.store_id and s.currency is not null and o.currency <> s.currency);
