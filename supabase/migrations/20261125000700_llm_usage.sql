-- Language model usage: one row per model call (phrasing advice, answering a question), with its tokens and
-- its cost in micro-USD at the configured prices (LLM_PRICE_INPUT_PER_1M / LLM_PRICE_OUTPUT_PER_1M), so
-- usage can be reported and capped per organization. Written by the service; members read their own.

create table public.llm_usage (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  store_id uuid references public.stores (id) on delete set null,
  purpose text not null check (purpose in ('phrase', 'ask', 'rank')),
  model text not null,
  prompt_tokens integer not null check (prompt_tokens >= 0),
  completion_tokens integer not null check (completion_tokens >= 0),
  cost_micro_usd bigint not null check (cost_micro_usd >= 0),
  -- 'ok', or why the model's output was not used: refusal, malformed, untraceable, length, content_filter
  outcome text not null default 'ok',
  created_at timestamptz not null default now()
);
create index llm_usage_org_created_idx on public.llm_usage (org_id, created_at);

alter table public.llm_usage enable row level security;
create policy llm_usage_read on public.llm_usage for select to authenticated
  using (org_id in (select app.member_org_ids()));
revoke insert, update, delete on public.llm_usage from authenticated, anon;
grant select on public.llm_usage to authenticated;
grant all on public.llm_usage to service_role;
