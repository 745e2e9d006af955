"""The advisor on a demo-like store synced through the fake Shopify: the planted stock-out, dead stock and refund
spike are found, the healthy best seller is not; persistence dedupes and caps; the API takes feedback; an
accepted recommendation is measured after its window. Every number in every title and rationale is a figure."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

import function_app
from devhost.durable import LocalDurableEngine
from devhost.fakes import CatalogConfig, ThrottleConfig, create_fake_shopify, generate_store
from devhost.fakes.model import StoreModel
from devhost.fakes.shopify_ids import parse_gid
from devhost.servers import serve_in_thread
from shared import runtime
from shared.advice import followup
from shared.advice.detectors import detect
from shared.advice.evidence import AdviceText, Figure, Impact, RecommendationDraft, RecommendationKind
from shared.advice.inputs import gather
from shared.advice.numbers import untraceable_numbers
from shared.advice.recommendations import SPARES, run_for_store
from shared.advice.templates import TemplatePhraser
from shared.bootstrap import Container, build_container
from shared.config import Settings
from tests.fake_stores import SHOPIFY_TOKEN, connect_fake_store, run_full_sync
from tests.support import Tenant


@dataclass
class Synced:
    tenant: Tenant
    model: StoreModel
    job: dict[str, Any]
    ids: dict[int, uuid.UUID]  # fake product id -> database id

    @property
    def store_id(self) -> uuid.UUID:
        return self.tenant.store_id

    def product(self, fake_id: int) -> uuid.UUID:
        return self.ids[fake_id]


def legacy_id_of(external_id: str) -> int:
    return parse_gid(external_id, "Product")


@pytest.fixture(scope="module")
def synced(database_url: str, settings: Settings) -> Synced:
    as_of = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    model = generate_store(CatalogConfig(seed=11, products=30, customers=150, orders=1800, days=200, as_of=as_of))
    fake = serve_in_thread(
        create_fake_shopify(
            model, access_token=SHOPIFY_TOKEN, throttle=ThrottleConfig(max_available=20_000, restore_rate=5_000)
        )
    )
    try:
        with LocalDurableEngine(function_app.app) as engine:
            runtime.install(build_container(settings, orchestrations=engine.client))
            tenant = connect_fake_store(database_url, settings, "shopify", fake.base_url, label="advisor",
                                        timezone="America/New_York", currency="USD")
            row = run_full_sync(database_url, engine, tenant.store_id)
    finally:
        fake.stop()
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        ids = {
            legacy_id_of(r["external_id"]): r["id"]
            for r in conn.execute(
                "select id, external_id from products where store_id = %s", (tenant.store_id,)
            ).fetchall()
        }
    return Synced(tenant, model, row, ids)


async def idle_conn(database_url: str) -> psycopg.AsyncConnection[DictRow]:
    """What run_for_store needs: a service connection with no transaction open (it opens its own)."""
    return await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row, autocommit=True)


def _rows(database_url: str, store_id: uuid.UUID) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "select * from recommendations where store_id = %s order by created_at, id", (store_id,)
        ).fetchall()


def test_a_successful_sync_runs_the_advisor_for_its_store(synced: Synced, database_url: str) -> None:
    assert synced.job["status"] == "succeeded", synced.job["errors"]
    rows = _rows(database_url, synced.store_id)
    assert 1 <= len(rows) <= 5
    assert {r["status"] for r in rows} == {"open"} and {r["phraser"] for r in rows} == {"template"}
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        audit = conn.execute(
            "select details from audit_log where action = 'advisor.run' and target_id = %s", (str(synced.store_id),)
        ).fetchall()
    assert audit and audit[0]["details"]["created"] == len(rows)


async def test_detectors_find_the_planted_situations_and_spare_the_healthy(
    synced: Synced, container: Container
) -> None:
    planted = synced.model.planted
    assert planted.stockout and planted.dead_stock and planted.refund_spike and planted.healthy
    async with container.db.as_service() as conn:
        drafts = detect(await gather(conn, synced.store_id))
    found = {(d.kind, d.product_id) for d in drafts}
    assert (RecommendationKind.STOCKOUT_RISK, synced.product(planted.stockout)) in found
    assert (RecommendationKind.DEAD_STOCK, synced.product(planted.dead_stock)) in found
    assert (RecommendationKind.REFUND_SPIKE, synced.product(planted.refund_spike)) in found
    assert [d for d in drafts if d.product_id == synced.product(planted.healthy)] == []
    for d in drafts:
        if d.expected_impact is not None:
            assert untraceable_numbers(d.expected_impact.arithmetic, d.figures, d.expected_impact) == [], d


def test_every_number_in_every_stored_title_and_rationale_is_a_figure(synced: Synced, database_url: str) -> None:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select r.*, p.title as product_title from recommendations r left join products p on p.id = r.product_id"
        ).fetchall()
    assert rows
    for r in rows:
        figures = [Figure.model_validate(f) for f in r["evidence"]]
        impact = None if r["expected_impact"] is None else Impact.model_validate(r["expected_impact"])
        text = f"{r['title']}\n{r['rationale']}"
        quoted = [r["product_title"]] if r["product_title"] else []
        assert untraceable_numbers(text, figures, impact, quoted=quoted) == [], text


async def test_a_second_run_the_same_day_adds_nothing_and_the_day_is_capped(
    synced: Synced, container: Container, database_url: str
) -> None:
    before = _rows(database_url, synced.store_id)
    async with await idle_conn(database_url) as conn:
        again = await run_for_store(conn, synced.store_id)
    assert again.created == [] and again.detected >= len(before)
    day = before[0]["run_day"]
    async with await idle_conn(database_url) as conn:
        tomorrow = await run_for_store(conn, synced.store_id, as_of=day + timedelta(days=1), limit=2)
    after = _rows(database_url, synced.store_id)
    assert len(tomorrow.created) <= 2 and len(after) == len(before) + len(tomorrow.created)
    open_keys = [r["dedupe_key"] for r in after if r["status"] == "open"]
    assert len(open_keys) == len(set(open_keys))  # never the same finding open twice


async def test_an_open_finding_that_is_no_longer_found_expires(
    synced: Synced, container: Container, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        gone = conn.execute(
            "insert into recommendations (org_id, store_id, kind, title, rationale, confidence, dedupe_key, run_day) "
            "values (%s, %s, 'data_quality', 'Old', 'Old', 0.5, 'data_quality:gone', current_date - 3) returning id",
            (synced.tenant.org_id, synced.store_id),
        ).fetchone()["id"]
    async with await idle_conn(database_url) as conn:
        result = await run_for_store(conn, synced.store_id)
    assert result.expired >= 1
    assert next(r for r in _rows(database_url, synced.store_id) if r["id"] == gone)["status"] == "expired"


async def test_accept_dismiss_conflict_and_another_organization(
    synced: Synced, client: httpx.AsyncClient, world: dict[str, Tenant]
) -> None:
    t = synced.tenant
    listed = await client.get(
        "/api/v1/recommendations", params={"store_id": str(t.store_id), "status": "open", "limit": 2}, headers=t.member
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    item = body["items"][0]
    assert set(item["evidence"][0]) >= {"metric", "value", "period", "query", "label", "unit", "currency"}
    rest = await client.get(
        "/api/v1/recommendations",
        params={"store_id": str(t.store_id), "status": "open", "cursor": body["next_cursor"]},
        headers=t.member,
    )
    assert item["id"] not in {i["id"] for i in rest.json()["items"]}
    other = world["b"]
    assert (await client.post(f"/api/v1/recommendations/{item['id']}/accept", headers=other.member)).status_code == 404
    assert (
        await client.get("/api/v1/recommendations", params={"store_id": str(t.store_id)}, headers=other.member)
    ).status_code == 404
    accepted = await client.post(f"/api/v1/recommendations/{item['id']}/accept", headers=t.member)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert (await client.post(f"/api/v1/recommendations/{item['id']}/dismiss", headers=t.member)).status_code == 409
    second = body["items"][1]
    dismissed = await client.post(f"/api/v1/recommendations/{second['id']}/dismiss", headers=t.admin)
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"


async def test_an_accepted_recommendation_is_measured_after_its_window(
    synced: Synced, container: Container, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        rec = conn.execute(
            "select id from recommendations where store_id = %s and status = 'accepted'", (synced.store_id,)
        ).fetchone()
        assert rec is not None
        conn.execute("update recommendations set accepted_at = now() - interval '15 days' where id = %s", (rec["id"],))
    async with container.db.as_service() as conn:
        measured = await followup.measure_due(conn, now=datetime.now(UTC))
    assert rec["id"] in measured
    row = next(r for r in _rows(database_url, synced.store_id) if r["id"] == rec["id"])
    assert row["status"] == "measured"
    assert set(row["outcome"]) == {"metric", "before", "after", "window", "verdict"}
    assert row["outcome"]["verdict"] in ("improved", "unchanged", "worse")
    async with container.db.as_service() as conn:
        assert rec["id"] not in await followup.measure_due(conn, now=datetime.now(UTC))


def test_the_nightly_orchestration_fans_out_over_active_stores(
    synced: Synced, settings: Settings, database_url: str
) -> None:
    before = len(_rows(database_url, synced.store_id))
    with LocalDurableEngine(function_app.app) as engine:
        runtime.install(build_container(settings, orchestrations=engine.client))
        instance = f"advisor-nightly-test-{uuid.uuid4().hex[:6]}"
        asyncio.run(engine.client.start("advisor_nightly", {}, instance))
        state = engine.client.wait_for_completion(instance, timeout=300)
    assert state is not None and state.failure is None, state
    result = state.output if isinstance(state.output, dict) else json.loads(state.output)
    assert result["stores"] >= 1 and result["failed"] == 0
    assert len(_rows(database_url, synced.store_id)) == before  # the day's run already happened: idempotent
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        runs = conn.execute(
            "select count(*) as n from audit_log where action = 'advisor.run' and target_id = %s",
            (str(synced.store_id),),
        ).fetchone()
    assert runs["n"] >= 3  # after the sync, the test's own run, and tonight's


async def test_product_views_from_events_find_a_viewed_but_unsold_product(
    synced: Synced, container: Container, database_url: str
) -> None:
    planted = synced.model.planted
    seen, unsold = synced.product(planted.stockout), synced.product(planted.dead_stock)
    at = datetime.now(UTC) - timedelta(days=3)
    with psycopg.connect(database_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into events (org_id, store_id, type, session_id, product_id, occurred_at) "
            "values (%s, %s, 'product_view', %s, %s, %s)",
            [
                (synced.tenant.org_id, synced.store_id, f"s-{pid}-{i}", pid, at)
                for pid, n in ((seen, 300), (unsold, 150))
                for i in range(n)
            ],
        )
    async with container.db.as_service() as conn:
        facts = await gather(conn, synced.store_id)
    assert facts.product_views == {seen: 300, unsold: 150}
    drafts = [d for d in detect(facts) if d.kind is RecommendationKind.LOW_CONVERSION and d.product_id]
    assert [d.product_id for d in drafts] == [unsold]
    assert {f.metric: f.value for f in drafts[0].figures}["view_conversion_pct"] == "0.0"


async def test_a_store_with_little_data_and_no_sync_gets_only_what_its_data_supports(
    container: Container, world: dict[str, Tenant]
) -> None:
    async with container.db.as_service() as conn:
        facts = await gather(conn, world["b"].store_id)
        drafts = detect(facts)
    assert facts.forecasts == {} or all(p in facts.recent for p in facts.forecasts)
    assert "data_quality:sync" in {d.dedupe_key for d in drafts}  # never synced
    assert not [d for d in drafts if d.kind is RecommendationKind.REVENUE_ANOMALY]


class NoTransactionPhraser:
    """The templates' wording, after looking at the run from the outside: its connection has no transaction open
    (nor a snapshot: the server sees it idle), and another connection can take the store's advisory lock at once."""

    def __init__(self, conn: psycopg.AsyncConnection[DictRow], database_url: str, store_id: uuid.UUID) -> None:
        self.conn, self.database_url, self.store_id = conn, database_url, store_id
        self.seen: list[tuple[psycopg.pq.TransactionStatus, str, bool]] = []

    async def phrase(self, draft: RecommendationDraft) -> AdviceText:
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as other:
            cur = await other.execute(
                "select (select state from pg_stat_activity where pid = %s) as state, "
                "pg_try_advisory_xact_lock(hashtextextended(%s, 0)) as got",  # released at once: autocommit
                (self.conn.info.backend_pid, f"advisor:{self.store_id}"),
            )
            row = await cur.fetchone()
        assert row is not None
        self.seen.append((self.conn.info.transaction_status, row[0], row[1]))
        return await TemplatePhraser().phrase(draft)


async def test_drafts_are_worded_with_no_transaction_open_and_the_store_unlocked(
    synced: Synced, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(
            "update recommendations set status = 'expired' where store_id = %s and status = 'open'", (synced.store_id,)
        )
        day = conn.execute(
            "select max(run_day) as d from recommendations where store_id = %s", (synced.store_id,)
        ).fetchone()["d"] + timedelta(days=1)
    async with await idle_conn(database_url) as conn:
        phraser = NoTransactionPhraser(conn, database_url, synced.store_id)
        result = await run_for_store(conn, synced.store_id, as_of=day, limit=3, phraser=phraser)
        assert phraser.seen, "nothing was worded"
        assert set(phraser.seen) == {(psycopg.pq.TransactionStatus.IDLE, "idle", True)}
        assert len(phraser.seen) <= 3 + SPARES and len(result.created) == min(3, len(phraser.seen))
        again = NoTransactionPhraser(conn, database_url, synced.store_id)
        second = await run_for_store(conn, synced.store_id, as_of=day, limit=3, phraser=again)
    assert second.created == []
    if len(result.created) == 3:
        assert again.seen == []  # the day is full: nothing is worded (no model call), nothing added
    assert len([r for r in _rows(database_url, synced.store_id) if r["run_day"] == day]) == len(result.created)


class RacingPhraser:
    """Templates; while wording its first draft, a whole other run of the same store and day happens."""

    def __init__(self, database_url: str, store_id: uuid.UUID, day: date, limit: int) -> None:
        self.database_url, self.store_id, self.day, self.limit = database_url, store_id, day, limit
        self.other: list[uuid.UUID] | None = None

    async def phrase(self, draft: RecommendationDraft) -> AdviceText:
        if self.other is None:
            self.other = []
            async with await idle_conn(self.database_url) as conn:
                result = await run_for_store(conn, self.store_id, as_of=self.day, limit=self.limit)
            self.other = result.created
        return await TemplatePhraser().phrase(draft)


async def test_two_runs_racing_on_a_day_add_at_most_the_cap_and_no_finding_twice(
    synced: Synced, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(
            "update recommendations set status = 'expired' where store_id = %s and status = 'open'", (synced.store_id,)
        )
        day = conn.execute(
            "select max(run_day) as d from recommendations where store_id = %s", (synced.store_id,)
        ).fetchone()["d"] + timedelta(days=1)
    racing = RacingPhraser(database_url, synced.store_id, day, limit=3)
    async with await idle_conn(database_url) as conn:
        mine = await run_for_store(conn, synced.store_id, as_of=day, limit=3, phraser=racing)
    assert racing.other  # the other run went first and took the room
    rows = [r for r in _rows(database_url, synced.store_id) if r["run_day"] == day]
    assert len(rows) == len(racing.other) + len(mine.created) <= 3
    open_keys = [r["dedupe_key"] for r in _rows(database_url, synced.store_id) if r["status"] == "open"]
    assert len(open_keys) == len(set(open_keys))
