"""The sync's steps, called by the store_sync orchestration's activities (blocking, service role).

Progress lives in sync_jobs.checkpoint after every page, in the same transaction as the page's rows, so
a sync that is cancelled or whose worker dies resumes at the next page and never writes a page twice
in a way that matters (upserts are idempotent). Watermarks move to stores.sync_state only when a whole
run has succeeded.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from psycopg import Connection
from psycopg.rows import DictRow

from shared.db.pool import Database
from shared.ports import SecretStore
from shared.stores import persist
from shared.stores.connections import ClientFactory, StoreConnection, load_connection
from shared.stores.platform import BulkItem, BulkStoreClient, FetchedPage, PlatformError, StoreClient
from shared.stores.prefetch import chunks_ahead
from shared.stores.records import (
    ENTITIES,
    CustomerRecord,
    Entity,
    OrderLineRecord,
    OrderRecord,
    ProductRecord,
    Record,
    VariantRecord,
)

# Re-read a little before the watermark: platforms' updated_at filters are strict and clocks drift.
WATERMARK_OVERLAP = timedelta(minutes=5)
PAGE_SIZE = 100


class SyncCancelled(Exception):
    """The job was cancelled (or the store disconnected) while it ran."""


@dataclass(frozen=True)
class JobRow:
    id: uuid.UUID
    org_id: uuid.UUID
    store_id: uuid.UUID
    mode: str
    status: str
    checkpoint: dict[str, Any]
    counts: dict[str, int]


def _lock_job(conn: Connection[DictRow], job_id: uuid.UUID, *, lock: bool = True) -> JobRow:
    suffix = " for update" if lock else ""
    row = conn.execute(f"select * from sync_jobs where id = %s{suffix}", (job_id,)).fetchone()
    if row is None:
        raise LookupError(f"sync job {job_id} does not exist")
    return JobRow(row["id"], row["org_id"], row["store_id"], row["mode"], row["status"], row["checkpoint"],
                  row["counts"])


@dataclass(frozen=True)
class PlanStep:
    entity: Entity
    bulk: bool  # export the whole entity as a file (Shopify full syncs) rather than page by page


# Platforms whose full syncs go through bulk exports: cheaper than pages under the cost throttle.
BULK_PLATFORMS = frozenset({"shopify"})


def begin(conn: Connection[DictRow], job_id: uuid.UUID) -> list[PlanStep]:
    """Mark the job running and return the entities it still has to do (all, or the rest after a restart)."""
    job = _lock_job(conn, job_id)
    if job.status not in ("queued", "running"):
        raise SyncCancelled(job.status)
    state = conn.execute("select sync_state, platform from stores where id = %s and status = 'active'",
                         (job.store_id,)).fetchone()
    if state is None:
        raise SyncCancelled("store disconnected")
    checkpoint = dict(job.checkpoint)
    for entity in ENTITIES:
        if entity not in checkpoint:
            since = None
            watermark = state["sync_state"].get(entity, {}).get("watermark")
            if job.mode == "incremental" and watermark:
                since = (datetime.fromisoformat(watermark) - WATERMARK_OVERLAP).isoformat()
            checkpoint[entity] = {"cursor": None, "since": since, "done": False, "max_seen": None}
    conn.execute(
        "update sync_jobs set status = 'running', started_at = coalesce(started_at, now()), heartbeat_at = now(), "
        "checkpoint = %s where id = %s", (json.dumps(checkpoint), job_id))
    bulk = job.mode == "full" and state["platform"] in BULK_PLATFORMS
    return [PlanStep(e, bulk) for e in ENTITIES if not checkpoint[e]["done"]]


def _counts_of(page: FetchedPage) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in page.records:
        if isinstance(record, ProductRecord):
            counts["products"] = counts.get("products", 0) + 1
            counts["variants"] = counts.get("variants", 0) + len(record.variants)
        elif isinstance(record, CustomerRecord):
            counts["customers"] = counts.get("customers", 0) + 1
        elif isinstance(record, OrderRecord):
            counts["orders"] = counts.get("orders", 0) + 1
            counts["refunds"] = counts.get("refunds", 0) + len(record.refunds)
    return counts


def _write_page(conn: Connection[DictRow], job: JobRow, entity: Entity, page: FetchedPage) -> int:
    records = list(page.records)
    if entity == "products":
        return persist.upsert_products(conn, job.org_id, job.store_id, [r for r in records
                                                                         if isinstance(r, ProductRecord)])
    if entity == "customers":
        return persist.upsert_customers(conn, job.org_id, job.store_id, [r for r in records
                                                                           if isinstance(r, CustomerRecord)])
    return persist.upsert_orders(conn, job.org_id, job.store_id, [r for r in records if isinstance(r, OrderRecord)])


@dataclass(frozen=True)
class StepResult:
    entity: Entity
    records: int
    done: bool


def _running_job(db: Database, job_id: uuid.UUID, secrets: SecretStore) -> tuple[JobRow, StoreConnection]:
    """The job and how to reach its store; SyncCancelled unless the job is running."""
    with db.service_sync() as conn:
        job = _lock_job(conn, job_id, lock=False)
        connection = load_connection(conn, job.store_id, secrets)
    if job.status != "running":
        raise SyncCancelled(job.status)
    return job, connection


def sync_page(db: Database, job_id: uuid.UUID, entity: Entity, clients: ClientFactory,
              secrets: SecretStore) -> StepResult:
    """Fetch the next page of `entity` (outside any transaction), then store it and move the checkpoint
    in one transaction, unless the job was cancelled or moved on in the meantime."""
    job, connection = _running_job(db, job_id, secrets)
    step = job.checkpoint[entity]
    if step["done"]:
        return StepResult(entity, 0, True)
    client: StoreClient = clients(connection)
    try:
        since = datetime.fromisoformat(step["since"]) if step["since"] else None
        page = client.fetch_page(entity, updated_since=since, cursor=step["cursor"], page_size=PAGE_SIZE)
        throttle = client.throttle
    finally:
        client.close()
    with db.service_sync() as conn:
        current = _lock_job(conn, job_id)
        if current.status != "running":
            raise SyncCancelled(current.status)
        if current.checkpoint[entity]["cursor"] != step["cursor"]:
            # Another delivery of this activity got here first; its page is this page.
            return StepResult(entity, 0, bool(current.checkpoint[entity]["done"]))
        written = _write_page(conn, current, entity, page)
        _record_progress(conn, current, entity, page, written, throttle.waits, throttle.waited_seconds)
    return StepResult(entity, len(page.records), page.next_cursor is None)


def _record_progress(conn: Connection[DictRow], job: JobRow, entity: Entity, page: FetchedPage, written: int,
                     waits: int, waited: float, extra_counts: dict[str, int] | None = None) -> None:
    checkpoint = dict(job.checkpoint)
    step = dict(checkpoint[entity])
    newest = max(filter(None, [step["max_seen"], page.max_updated_at.isoformat() if page.max_updated_at else None]),
                 default=None, key=lambda v: datetime.fromisoformat(v))
    step.update(cursor=page.next_cursor, done=page.next_cursor is None, max_seen=newest)
    checkpoint[entity] = step
    counts = dict(job.counts)
    for key, n in [*_counts_of(page).items(), *(extra_counts or {}).items()]:
        counts[key] = counts.get(key, 0) + n
    finished = sum(1 for e in ENTITIES if checkpoint[e]["done"])
    progress = min(0.99, (finished + (0 if step["done"] else 0.5)) / len(ENTITIES))
    conn.execute(
        "update sync_jobs set checkpoint = %s, counts = %s, progress = greatest(progress, %s), heartbeat_at = now(), "
        "rows_written = rows_written + %s, throttle = jsonb_build_object("
        "'waits', coalesce((throttle->>'waits')::int, 0) + %s, "
        "'waited_seconds', round((coalesce((throttle->>'waited_seconds')::numeric, 0) + %s)::numeric, 3)) "
        "where id = %s",
        (json.dumps(checkpoint), json.dumps(counts), progress, written, waits, waited, job.id))


def finish(conn: Connection[DictRow], job_id: uuid.UUID, error: str | None) -> str:
    """End the job: succeeded (watermarks advance) or failed with the reason. A cancelled job stays so."""
    job = _lock_job(conn, job_id)
    if job.status not in ("queued", "running"):
        return job.status
    if error is not None:
        conn.execute(
            "update sync_jobs set status = 'failed', finished_at = now(), errors = errors || jsonb_build_array("
            "jsonb_build_object('message', %s::text, 'at', now())) where id = %s", (error[:500], job_id))
        return "failed"
    state = {e: {"watermark": job.checkpoint[e]["max_seen"]} for e in ENTITIES if job.checkpoint[e]["max_seen"]}
    # A sync request made after this job started may concern a change it did not read: it stays for the next.
    conn.execute(
        "update stores s set sync_state = s.sync_state || %s::jsonb, last_synced_at = now(), "
        "sync_requested_at = case when s.sync_requested_at <= coalesce(j.started_at, j.created_at) then null "
        "else s.sync_requested_at end from sync_jobs j where s.id = %s and j.id = %s",
        (json.dumps(state), job.store_id, job_id))
    conn.execute("update sync_jobs set status = 'succeeded', progress = 1, finished_at = now() where id = %s",
                 (job_id,))
    return "succeeded"


__all__ = ["ClientFactory", "StoreConnection", "SyncCancelled", "begin", "finish", "sync_page"]


# Bulk exports (Shopify full syncs): start, poll, then stream the file into the database in chunks.
BULK_CHUNK = 5_000


def supports_bulk(client: StoreClient) -> bool:
    return all(hasattr(client, name) for name in ("start_bulk", "bulk_status", "iter_bulk"))


def _bulk_client(clients: ClientFactory, connection: StoreConnection) -> BulkStoreClient:
    client = clients(connection)
    if not supports_bulk(client):
        client.close()
        raise PlatformError(f"{connection.platform} has no bulk export")
    return cast(BulkStoreClient, client)


def bulk_start(db: Database, job_id: uuid.UUID, entity: Entity, clients: ClientFactory,
               secrets: SecretStore) -> str:
    """Start the export for `entity` once; a restarted run reuses the operation the checkpoint names."""
    job, connection = _running_job(db, job_id, secrets)
    step = job.checkpoint[entity]
    if step.get("bulk_id"):
        return str(step["bulk_id"])
    client = _bulk_client(clients, connection)
    try:
        since = datetime.fromisoformat(step["since"]) if step["since"] else None
        operation_id = client.start_bulk(entity, updated_since=since)
    finally:
        client.close()
    _update_step(db, job_id, entity, bulk_id=operation_id, offset=0)
    return str(operation_id)


def bulk_poll(db: Database, job_id: uuid.UUID, entity: Entity, clients: ClientFactory,
              secrets: SecretStore) -> str:
    """The export's state: "running", "completed" (its URL saved in the checkpoint) or "failed"."""
    job, connection = _running_job(db, job_id, secrets)
    client = _bulk_client(clients, connection)
    try:
        status = client.bulk_status(job.checkpoint[entity]["bulk_id"])
    finally:
        client.close()
    if status.state == "completed":
        _update_step(db, job_id, entity, bulk_url=status.url)
    elif status.state == "failed":
        raise PlatformError(f"the {entity} export failed: {status.error or 'no reason given'}")
    return str(status.state)


def _update_step(db: Database, job_id: uuid.UUID, entity: Entity, **changes: Any) -> None:
    with db.service_sync() as conn:
        job = _lock_job(conn, job_id)
        checkpoint = dict(job.checkpoint)
        checkpoint[entity] = {**checkpoint[entity], **changes}
        conn.execute("update sync_jobs set checkpoint = %s, heartbeat_at = now() where id = %s",
                     (json.dumps(checkpoint), job_id))


def bulk_ingest(db: Database, job_id: uuid.UUID, entity: Entity, clients: ClientFactory,
                secrets: SecretStore) -> int:
    """Stream the finished export into the database, BULK_CHUNK items per transaction with the checkpoint.

    The next chunk is downloaded and parsed while the current one is written. After a crash the stream
    is read again from the start and the items already stored are skipped, so a restarted run neither
    repeats nor loses rows. Returns the items stored now.
    """
    job, connection = _running_job(db, job_id, secrets)
    step = job.checkpoint[entity]
    if not step.get("bulk_url"):  # an empty export has no file
        _update_step(db, job_id, entity, done=True, cursor=None)
        return 0
    client = _bulk_client(clients, connection)
    stored = 0
    try:
        chunks = chunks_ahead(client.iter_bulk(step["bulk_url"], entity), BULK_CHUNK,
                              skip=int(step.get("offset", 0)))
        for chunk in chunks:
            # Every full chunk is followed by at least one more (maybe empty), which ends the entity.
            stored += _store_bulk_chunk(db, job_id, entity, chunk, done=len(chunk) < BULK_CHUNK)
    finally:
        client.close()
    return stored


def _store_bulk_chunk(db: Database, job_id: uuid.UUID, entity: Entity, items: list[BulkItem], *, done: bool) -> int:
    with db.service_sync() as conn:
        job = _lock_job(conn, job_id)
        if job.status != "running":
            raise SyncCancelled(job.status)
        written = write_bulk_items(conn, job.org_id, job.store_id, items)
        parents: list[Record] = [r for p, r in items
                                 if p is None and isinstance(r, ProductRecord | CustomerRecord | OrderRecord)]
        page = FetchedPage(records=parents, next_cursor=None if done else "bulk",
                           max_updated_at=max((r.updated_at for r in parents if r.updated_at), default=None))
        _record_progress(conn, job, entity, page, written, 0, 0.0, extra_counts=_child_counts(items))
        offset = int(job.checkpoint[entity].get("offset", 0)) + len(items)
        conn.execute("update sync_jobs set checkpoint = jsonb_set(checkpoint, %s, %s::jsonb) where id = %s",
                     ([entity, "offset"], json.dumps(offset), job_id))
    return len(items)


def _child_counts(items: list[BulkItem]) -> dict[str, int]:
    variants = sum(1 for parent, record in items if parent is not None and isinstance(record, VariantRecord))
    return {"variants": variants} if variants else {}


def write_bulk_items(conn: Connection[DictRow], org_id: uuid.UUID, store_id: uuid.UUID,
                     items: list[BulkItem]) -> int:
    """Parents first, then children tied to them by external id (parents always come first in the file)."""
    products = [r for p, r in items if p is None and isinstance(r, ProductRecord)]
    customers = [r for p, r in items if p is None and isinstance(r, CustomerRecord)]
    orders = [r for p, r in items if p is None and isinstance(r, OrderRecord)]
    written = persist.upsert_products(conn, org_id, store_id, products, replace_children=False)
    written += persist.upsert_customers(conn, org_id, store_id, customers)
    written += persist.upsert_orders(conn, org_id, store_id, orders, replace_children=False)
    written += persist.upsert_variants(conn, org_id, store_id,
                                       [(p, r) for p, r in items if p is not None and isinstance(r, VariantRecord)])
    written += persist.upsert_order_lines(conn, org_id, store_id, [(p, r) for p, r in items
                                                                   if p is not None and isinstance(r, OrderLineRecord)])
    return written
