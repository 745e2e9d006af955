-- Per-store sync state: the updated_at watermark of each entity after the last complete sync, and
-- the platform's API origin override. Watermarks advance only when a whole run has committed.
alter table public.stores add column sync_state jsonb not null default '{}'::jsonb;

-- Fees on an order (Woo fee lines, Shopify duties): part of total sales, not of net sales.
alter table public.orders add column total_fees numeric(14, 2) not null default 0;

-- Rows touched per sync, for the incremental-sync benchmark and for operators.
alter table public.sync_jobs add column rows_written bigint not null default 0;

-- One place that numbers a store's sync jobs and names their orchestration instance
-- (sync-<store>-<n>: deterministic, so a double click or a racing timer starts one sync, not two).
-- Security invoker: called by a user, Row Level Security decides whether they may.
create function app.create_sync_job(p_store_id uuid, p_mode text, p_requested_by uuid)
returns table (id uuid, instance_id text)
language plpgsql security invoker set search_path = public
as $$
declare
  v_org uuid;
  v_seq bigint;
begin
  select s.org_id into v_org from public.stores s where s.id = p_store_id and s.status = 'active';
  if v_org is null then
    raise exception 'store % is not connected', p_store_id using errcode = 'no_data_found';
  end if;
  select count(*) + 1 into v_seq from public.sync_jobs j where j.store_id = p_store_id;
  return query
    insert into public.sync_jobs as j (org_id, store_id, mode, instance_id, requested_by)
    values (v_org, p_store_id, p_mode, 'sync-' || p_store_id || '-' || v_seq, p_requested_by)
    returning j.id, j.instance_id;
end
$$;
grant execute on function app.create_sync_job(uuid, text, uuid) to authenticated;
