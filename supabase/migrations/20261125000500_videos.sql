-- Product videos (issue 7): a record per upload, the products it shows, and one row per finished analysis
-- step, so a re-driven orchestration (same instance id video-<id>) skips the steps already done.
--
-- The API creates the record (status awaiting_upload) and hands out a write-only SAS URL for exactly one
-- blob, <org>/<video id>/<file>, in the videos container. The blob trigger starts video_analysis; its
-- activities (service role) write probe, steps, progress, insights and the final status.

create table public.videos (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null,
  store_id uuid not null,
  filename text not null check (length(filename) between 1 and 255),
  content_type text not null check (content_type in ('video/mp4', 'video/quicktime', 'video/webm')),
  size_bytes bigint not null check (size_bytes > 0),
  blob_name text not null unique,
  status text not null default 'awaiting_upload'
    check (status in ('awaiting_upload', 'processing', 'analyzed', 'failed')),
  failure_reason text,
  instance_id text not null unique,
  progress real not null default 0 check (progress between 0 and 1),
  probe jsonb,
  insights jsonb,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  uploaded_at timestamptz,
  started_at timestamptz,
  analyzed_at timestamptz,
  finished_at timestamptz,  -- analyzed or failed
  foreign key (store_id, org_id) references public.stores (id, org_id) on delete cascade,
  unique (id, org_id)
);
create index videos_org_idx on public.videos (org_id, created_at, id);
create index videos_store_idx on public.videos (store_id, created_at, id);
create index videos_live_idx on public.videos (updated_at) where status = 'processing';

-- Which products a video shows: their sales and views before and after the video are part of its insights.
create table public.video_products (
  video_id uuid not null,
  org_id uuid not null,
  product_id uuid not null references public.products (id) on delete cascade,
  primary key (video_id, product_id),
  foreign key (video_id, org_id) references public.videos (id, org_id) on delete cascade
);
create index video_products_org_idx on public.video_products (org_id);
create index video_products_product_idx on public.video_products (product_id);

-- One row per analysis step (probe, scan, insights): `runs` counts executions, `result` is set once the
-- step finished; an activity that finds its result returns it instead of working again.
create table public.video_steps (
  video_id uuid not null,
  org_id uuid not null,
  step text not null check (step in ('probe', 'scan', 'insights')),
  runs integer not null default 0,
  result jsonb,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (video_id, step),
  foreign key (video_id, org_id) references public.videos (id, org_id) on delete cascade
);
create index video_steps_org_idx on public.video_steps (org_id);

alter table public.videos enable row level security;
alter table public.video_products enable row level security;
alter table public.video_steps enable row level security;

-- Members create, read and delete their organizations' videos; analysis results are written by the service.
create policy videos_read on public.videos for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy videos_insert on public.videos for insert to authenticated
  with check (org_id in (select app.member_org_ids()));
create policy videos_delete on public.videos for delete to authenticated
  using (org_id in (select app.member_org_ids()));
create policy video_products_read on public.video_products for select to authenticated
  using (org_id in (select app.member_org_ids()));
create policy video_products_insert on public.video_products for insert to authenticated
  with check (org_id in (select app.member_org_ids()));
create policy video_steps_read on public.video_steps for select to authenticated
  using (org_id in (select app.member_org_ids()));

grant select, insert, delete on public.videos to authenticated;
grant select, insert on public.video_products to authenticated;
grant select on public.video_steps to authenticated;
grant all on public.videos, public.video_products, public.video_steps to service_role;
