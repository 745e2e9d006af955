-- A webhook that shows a change only a sync can read asks for the next incremental sync. WooCommerce has no
-- refund topic: a refund arrives as `order.updated`, whose payload lists the order's refunds as {id, reason,
-- total} without their date or lines, which `/orders/{id}/refunds` gives. `start_due_syncs` (every 15 min)
-- starts an incremental sync for a store with a pending request whatever its freshness setting (default 6 h);
-- a sync that succeeds clears the requests made before it started.
alter table public.stores add column sync_requested_at timestamptz;
