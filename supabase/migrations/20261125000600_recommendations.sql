-- Recommendations of the advisor (docs/decisions/0007-advisor.md): findings of the detectors, worded by a
-- phraser, with the figures they rest on. Written by the nightly run (service role); members read them and
-- accept or dismiss open ones; an accepted one is measured after a window and its outcome recorded.

create table public.recommendations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  product_id uuid references public.products (id) on delete set null,
  kind text not null,
  title text not null check (length(title) <= 200),
  rationale text not null check (length(rationale) <= 2000),
  evidence jsonb not null default '[]'::jsonb,        -- list of figures {metric,label,value,unit,currency,period,query}
  expected_impact jsonb,                              -- {metric,value,unit,currency,arithmetic}
  confidence numeric(4, 3) not null check (confidence between 0 and 1),
  score double precision not null default 0,
  status text not null default 'open' check (status in ('open', 'accepted', 'dismissed', 'expired', 'measured')),
  dedupe_key text not null,
  run_day date not null,                              -- the shop-local day of the run that created it
  phraser text not null default 'template' check (phraser in ('template', 'model')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  accepted_at timestamptz,
  dismissed_at timestamptz,
  acted_by uuid,
  outcome jsonb,                                      -- {metric,before,after,window,verdict}
  measured_at timestamptz,
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade
);
-- The same finding is never open twice for a store; a run inserts with `on conflict do nothing`.
create unique index recommendations_one_open on public.recommendations (store_id, dedupe_key) where status = 'open';
create index recommendations_store_list on public.recommendations (store_id, created_at desc, id desc);
create index recommendations_store_day on public.recommendations (store_id, run_day);
create index recommendations_followup on public.recommendations (accepted_at) where status = 'accepted';
create index recommendations_org_idx on public.recommendations (org_id);

alter table public.recommendations enable row level security;
create policy recommendations_read on public.recommendations for select to authenticated
  using (org_id in (select app.member_org_ids()));
-- Members give feedback (accept / dismiss); only these columns may change (grants below).
create policy recommendations_feedback on public.recommendations for update to authenticated
  using (org_id in (select app.member_org_ids())) with check (org_id in (select app.member_org_ids()));
grant select on public.recommendations to authenticated;
grant update (status, accepted_at, dismissed_at, acted_by, updated_at) on public.recommendations to authenticated;
grant all on public.recommendations to service_role;
