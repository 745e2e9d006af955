"""Storefront events (`POST /api/v1/events`): validated batches stored idempotently by `event_id`."""

from shared.events.ingest import MAX_BATCH, EventBatch, EventIn, IngestResult, ingest_events

__all__ = ["MAX_BATCH", "EventBatch", "EventIn", "IngestResult", "ingest_events"]
