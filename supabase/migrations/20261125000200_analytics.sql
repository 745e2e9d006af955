-- Daily store metrics (docs/metrics.md): one row per store and shop-local day, recomputed from the synced
-- orders, lines and refunds by app.refresh_daily_store_metrics. Money is numeric(14,2) in the shop's
-- currency, so sums are exact to the cent.

-- Which orders count (SPEC "Rules for the corners"): never test orders; Shopify every other order,
-- cancelled ones included; WooCommerce all but Woo Analytics' default exclusions.
create function app.order_counts(p_platform text, p_status text, p_test boolean) returns boolean
language sql immutable
as $$
  select not p_test and (p_platform <> 'woocommerce'
    or coalesce(p_status, '') not in ('pending', 'failed', 'cancelled', 'checkout-draft', 'trash'))
$$;

-- New and returning customers per bucket of shop-local days within [p_from, p_to]. A bucket is a day,
-- an ISO week (Monday), a month, or the whole range ('period'); the first and last buckets are clipped
-- to the range. New: the customer's first counting order ever falls in the (clipped) bucket. Returning:
-- an order in the bucket and a first counting order before it. Guest orders count in neither.
-- Security invoker: as a user, Row Level Security limits it to their organizations' rows.
create function app.customer_counts(p_store_id uuid, p_from date, p_to date, p_interval text)
returns table (bucket date, new_customers integer, returning_customers integer)
language sql stable security invoker set search_path = ''
as $$
  with s as (
    select st.id, st.platform, st.timezone from public.stores st where st.id = p_store_id
  ), keyed as (
    select coalesce(o.customer_external_id, c.external_id) as customer_key,
           (o.placed_at at time zone s.timezone)::date as day
    from s
    join public.orders o on o.store_id = s.id
    left join public.customers c on c.id = o.customer_id
    where app.order_counts(s.platform, o.status, o.test)
  ), firsts as (
    select k.customer_key, min(k.day) as first_day from keyed k where k.customer_key is not null group by 1
  ), in_range as (
    select k.customer_key,
           case p_interval
             when 'day' then k.day
             when 'week' then date_trunc('week', k.day::timestamp)::date
             when 'month' then date_trunc('month', k.day::timestamp)::date
             else p_from
           end as bucket
    from keyed k
    where k.customer_key is not null and k.day between p_from and p_to
  )
  select r.bucket,
         (count(distinct r.customer_key) filter (where f.first_day >= greatest(r.bucket, p_from)))::integer,
         (count(distinct r.customer_key) filter (where f.first_day < greatest(r.bucket, p_from)))::integer
  from in_range r
  join firsts f on f.customer_key = r.customer_key
  group by r.bucket
$$;

create table public.daily_store_metrics (
  org_id uuid not null,
  store_id uuid not null,
  day date not null,
  gross_sales numeric(14, 2) not null default 0,
  discounts numeric(14, 2) not null default 0,
  returns numeric(14, 2) not null default 0,
  net_sales numeric(14, 2) not null default 0,
  shipping numeric(14, 2) not null default 0,
  taxes numeric(14, 2) not null default 0,
  fees numeric(14, 2) not null default 0,
  total_sales numeric(14, 2) not null default 0,
  orders integer not null default 0,
  units_sold integer not null default 0,
  refunds integer not null default 0,
  new_customers integer not null default 0,
  returning_customers integer not null default 0,
  computed_at timestamptz not null default now(),
  primary key (store_id, day),
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade
);
create index daily_store_metrics_org_idx on public.daily_store_metrics (org_id);

alter table public.daily_store_metrics enable row level security;
create policy daily_store_metrics_read on public.daily_store_metrics for select to authenticated
  using (org_id in (select app.member_org_ids()));
grant select on public.daily_store_metrics to authenticated;
grant all on public.daily_store_metrics to service_role;

-- Recompute [p_from, p_to] (shop-local days, inclusive) of one store; every day gets a row, zeros
-- included. Orders are dated on their placing day, refunds on their own day. Security definer so a
-- reader may refresh a stale range; it refuses a store outside the caller's organizations.
create function app.refresh_daily_store_metrics(p_store_id uuid, p_from date, p_to date)
returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  v_org uuid;
  v_platform text;
  v_tz text;
  v_start timestamptz;
  v_end timestamptz;
  v_rows integer;
begin
  select s.org_id, s.platform, s.timezone into v_org, v_platform, v_tz from public.stores s where s.id = p_store_id;
  if v_org is null or (auth.uid() is not null and v_org not in (select app.member_org_ids())) then
    raise exception 'store % not found', p_store_id using errcode = 'no_data_found';
  end if;
  if p_from is null or p_to is null or p_from > p_to or p_to - p_from > 4000 then
    raise exception 'bad range % .. %', p_from, p_to using errcode = 'invalid_parameter_value';
  end if;
  v_start := p_from::timestamp at time zone v_tz;
  v_end := (p_to + 1)::timestamp at time zone v_tz;

  insert into public.daily_store_metrics as m (
    org_id, store_id, day, gross_sales, discounts, returns, net_sales, shipping, taxes, fees, total_sales,
    orders, units_sold, refunds, new_customers, returning_customers, computed_at)
  with counted as (
    select o.id, (o.placed_at at time zone v_tz)::date as day, o.total_discounts, o.total_shipping,
           o.total_tax, o.total_fees
    from public.orders o
    where o.store_id = p_store_id and o.placed_at >= v_start and o.placed_at < v_end
      and app.order_counts(v_platform, o.status, o.test)
  ), per_order as (
    select c.id, c.day, c.total_shipping, c.total_tax, c.total_fees,
           coalesce(l.gross, 0) as gross, coalesce(l.units, 0) as units,
           -- line discounts plus the order-level share (total_discounts - line discounts), never negative
           coalesce(l.line_discounts, 0) + greatest(c.total_discounts - coalesce(l.line_discounts, 0), 0) as discounts
    from counted c
    left join lateral (
      select sum(ol.unit_price * ol.quantity) as gross, sum(ol.line_discount) as line_discounts,
             sum(ol.quantity) as units
      from public.order_lines ol where ol.order_id = c.id
    ) l on true
  ), order_days as (
    select p.day, sum(p.gross) as gross, sum(p.discounts) as discounts, sum(p.total_shipping) as shipping,
           sum(p.total_tax) as taxes, sum(p.total_fees) as fees, count(*) as orders, sum(p.units) as units
    from per_order p group by p.day
  ), refund_days as (
    select (r.refunded_at at time zone v_tz)::date as day, count(*) as refunds,
           sum(coalesce(rl.subtotal, 0)) as returns, sum(r.shipping) as shipping, sum(r.tax) as taxes
    from public.refunds r
    join public.orders o on o.id = r.order_id
    left join lateral (
      select sum(x.subtotal) as subtotal from public.refund_lines x where x.refund_id = r.id
    ) rl on true
    where r.store_id = p_store_id and r.refunded_at >= v_start and r.refunded_at < v_end
      and app.order_counts(v_platform, o.status, o.test)
    group by 1
  ), days as (
    select d::date as day from generate_series(p_from::timestamp, p_to::timestamp, interval '1 day') d
  ), figures as (
    select d.day,
           coalesce(od.gross, 0) as gross, coalesce(od.discounts, 0) as discounts,
           coalesce(rd.returns, 0) as returns,
           coalesce(od.shipping, 0) - coalesce(rd.shipping, 0) as shipping,
           coalesce(od.taxes, 0) - coalesce(rd.taxes, 0) as taxes,
           coalesce(od.fees, 0) as fees, coalesce(od.orders, 0) as orders, coalesce(od.units, 0) as units,
           coalesce(rd.refunds, 0) as refunds, coalesce(cc.new_customers, 0) as new_customers,
           coalesce(cc.returning_customers, 0) as returning_customers
    from days d
    left join order_days od on od.day = d.day
    left join refund_days rd on rd.day = d.day
    left join app.customer_counts(p_store_id, p_from, p_to, 'day') cc on cc.bucket = d.day
  )
  select v_org, p_store_id, f.day, f.gross, f.discounts, f.returns, f.gross - f.discounts - f.returns,
         f.shipping, f.taxes, f.fees, f.gross - f.discounts - f.returns + f.shipping + f.taxes + f.fees,
         f.orders, f.units, f.refunds, f.new_customers, f.returning_customers, now()
  from figures f
  on conflict (store_id, day) do update set
    gross_sales = excluded.gross_sales, discounts = excluded.discounts, returns = excluded.returns,
    net_sales = excluded.net_sales, shipping = excluded.shipping, taxes = excluded.taxes, fees = excluded.fees,
    total_sales = excluded.total_sales, orders = excluded.orders, units_sold = excluded.units_sold,
    refunds = excluded.refunds, new_customers = excluded.new_customers,
    returning_customers = excluded.returning_customers, computed_at = excluded.computed_at;
  get diagnostics v_rows = row_count;
  return v_rows;
end
$$;

revoke execute on function app.refresh_daily_store_metrics(uuid, date, date) from public;
grant execute on function app.order_counts(text, text, boolean), app.customer_counts(uuid, date, date, text)
  to authenticated, service_role;
grant execute on function app.refresh_daily_store_metrics(uuid, date, date) to authenticated, service_role;
