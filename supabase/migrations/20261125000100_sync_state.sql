-- Per-store sync state: the updated_at watermark of each entity after the last complete sync, and
-- the platform's API origin override. Watermarks advance only when a whole run has committed.
alter table public.stores add column sync_state jsonb not null default '{}'::jsonb;

-- Rows touched per sync, for the incremental-sync benchmark and for operators.
alter table public.sync_jobs add column rows_written bigint not null default 0;
