"""Bulk operations of the Shopify fake: run, poll, download (reference §6).

An operation is CREATED, then RUNNING, then COMPLETED (or FAILED when the fault config says so)
purely by the age the clock gives it, so a unit test moves it along with a ManualClock and a
benchmark simply waits. The JSONL is produced lazily when downloaded, from the store as it is.
Not supported: bulk mutations, `bulkOperationCancel`, EXPIRED, `fileSize` (always null).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLSchema

from devhost.fakes.clock import Clock
from devhost.fakes.shopify_context import ShopifyContext
from devhost.fakes.shopify_cost import ShopifyStats
from devhost.fakes.shopify_ids import gid, iso, parse_gid
from devhost.fakes.shopify_jsonl import BulkQueryError, JsonlExporter, plan_bulk_query
from devhost.fakes.shopify_order_resolvers import Resolver

CREATED, RUNNING, COMPLETED, FAILED = "CREATED", "RUNNING", "COMPLETED", "FAILED"


@dataclass(frozen=True, slots=True)
class BulkConfig:
    max_concurrent: int = 5  # API 2026-01 and later
    created_seconds: float = 0.5
    running_seconds: float = 2.0
    seconds_per_1000_objects: float = 0.05
    interleave_children: bool = True  # children one parent late (groupObjects: true turns it off)


@dataclass(slots=True)
class BulkOperation:
    number: int
    token: str
    query: str
    exporter: JsonlExporter
    started: float  # clock reading
    created_at: datetime  # wall time, for createdAt/completedAt
    root_count: int
    object_count: int
    fails: bool
    wait: float  # seconds in CREATED
    duration: float  # seconds in RUNNING

    @property
    def gid(self) -> str:
        return gid("BulkOperation", self.number)

    def status(self, now: float) -> str:
        age = now - self.started
        if age < self.wait:
            return CREATED
        if age < self.wait + self.duration:
            return RUNNING
        return FAILED if self.fails else COMPLETED

    def progress(self, now: float) -> float:
        return min(1.0, max(0.0, (now - self.started - self.wait) / self.duration)) if self.duration else 1.0

    @property
    def partial_lines(self) -> int:
        """A failed run got halfway."""
        return self.object_count // 2


class BulkRegistry:
    def __init__(
        self,
        *,
        schema: GraphQLSchema,
        tables: Mapping[str, Mapping[str, Resolver]],
        config: BulkConfig,
        clock: Clock,
        failing: Collection[int],
        stats: ShopifyStats,
    ) -> None:
        self._schema, self._tables, self._config, self._clock = schema, tables, config, clock
        self._failing, self._stats = failing, stats
        self._ops: dict[int, BulkOperation] = {}

    def run_query(self, ctx: ShopifyContext, query: str, group_objects: bool) -> dict[str, Any]:
        now = self._clock()
        running = [op for op in self._ops.values() if op.token == ctx.token and op.status(now) in (CREATED, RUNNING)]
        if len(running) >= self._config.max_concurrent:
            message = f"A bulk query operation for this app and shop is already in progress: {running[-1].gid}."
            return _user_error(None, message, "OPERATION_IN_PROGRESS")
        try:
            plan = plan_bulk_query(self._schema, query)
        except BulkQueryError as exc:
            return _user_error(["query"], str(exc), "INVALID")
        exporter = JsonlExporter(plan, self._tables, interleave=self._config.interleave_children and not group_objects)
        roots, objects = exporter.count(ctx)
        number = len(self._ops) + 1
        op = BulkOperation(
            number=number,
            token=ctx.token,
            query=query,
            exporter=exporter,
            started=now,
            created_at=datetime.now(UTC).replace(microsecond=0),
            root_count=roots,
            object_count=objects,
            fails=number in self._failing,
            wait=self._config.created_seconds,
            duration=self._config.running_seconds + self._config.seconds_per_1000_objects * objects / 1000,
        )
        self._ops[number] = op
        self._stats.bulk_operations += 1
        return {"bulkOperation": self.render(op, ctx), "userErrors": []}

    def find(self, ctx: ShopifyContext, op_gid: str) -> dict[str, Any] | None:
        op = self._ops.get(parse_gid(op_gid, "BulkOperation"))
        return None if op is None or op.token != ctx.token else self.render(op, ctx)

    def current(self, ctx: ShopifyContext) -> dict[str, Any] | None:
        mine = [op for op in self._ops.values() if op.token == ctx.token]
        return self.render(mine[-1], ctx) if mine else None

    def render(self, op: BulkOperation, ctx: ShopifyContext) -> dict[str, Any]:
        now = self._clock()
        status = op.status(now)
        done = status in (COMPLETED, FAILED)
        objects = {CREATED: 0, RUNNING: int(op.object_count * op.progress(now)), COMPLETED: op.object_count,
                   FAILED: op.partial_lines}[status]
        roots = op.root_count if status == COMPLETED else min(op.root_count, objects)
        finished = op.created_at + timedelta(seconds=op.wait + op.duration)
        base = f"{ctx.base_url}/bulk/{op.number}"
        return {
            "id": op.gid,
            "status": status,
            "errorCode": "INTERNAL_SERVER_ERROR" if status == FAILED else None,
            "createdAt": iso(op.created_at),
            "completedAt": iso(finished) if done else None,
            "objectCount": str(objects),
            "rootObjectCount": str(roots),
            "fileSize": None,
            # Shopify gives no URL for a run that found nothing; clients must cope.
            "url": f"{base}.jsonl" if status == COMPLETED and op.object_count else None,
            "partialDataUrl": f"{base}-partial.jsonl" if status == FAILED and op.partial_lines else None,
            "query": op.query,
            "type": "QUERY",
        }

    def download(self, number: int, *, partial: bool, ctx: ShopifyContext) -> Iterator[bytes] | None:
        """The JSONL body as chunks, or None when there is no such finished file."""
        op = self._ops.get(number)
        if op is None or op.status(self._clock()) != (FAILED if partial else COMPLETED):
            return None
        self._stats.bulk_downloads += 1
        limit = op.partial_lines if partial else None
        return _chunks(op.exporter.lines(ctx), limit)


def _chunks(lines: Iterator[dict[str, Any]], limit: int | None, size: int = 1 << 16) -> Iterator[bytes]:
    """Lines batched into ~64 KB chunks: one threadpool hop per chunk, not per line."""
    buffer: list[str] = []
    pending = 0
    for index, line in enumerate(lines):
        if limit is not None and index >= limit:
            break
        text = json.dumps(line, separators=(",", ":"))
        buffer.append(text)
        pending += len(text) + 1
        if pending >= size:
            yield ("\n".join(buffer) + "\n").encode()
            buffer, pending = [], 0
    if buffer:
        yield ("\n".join(buffer) + "\n").encode()


def _user_error(field: list[str] | None, message: str, code: str) -> dict[str, Any]:
    return {"bulkOperation": None, "userErrors": [{"field": field, "message": message, "code": code}]}


def bulk_query_fields() -> dict[str, Resolver]:
    return {
        "bulkOperation": lambda _, ctx, id: ctx.bulk.find(ctx, id),
        "currentBulkOperation": lambda _, ctx, type="QUERY": ctx.bulk.current(ctx) if type == "QUERY" else None,
    }


def bulk_mutation_fields() -> dict[str, Resolver]:
    return {
        "bulkOperationRunQuery": lambda _, ctx, query, groupObjects=False: ctx.bulk.run_query(ctx, query, groupObjects),
    }
