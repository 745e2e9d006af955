"""POST /api/v1/events: a batch is validated as a whole, stored in one statement, idempotent by event_id."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import Tenant

URL = "/api/v1/events"


def _at(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) - timedelta(minutes=1) + delta).isoformat().replace("+00:00", "Z")


def event(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    return {"type": "page_view", "store_id": str(tenant.store_id), "session_id": "s-1", "occurred_at": _at(),
            **fields}


def stored(conn: psycopg.Connection[Any], session_id: str) -> list[dict[str, Any]]:
    return conn.execute("select * from events where session_id = %s order by occurred_at, type",
                        (session_id,)).fetchall()


async def test_a_valid_batch_is_stored(client: httpx.AsyncClient, world: dict[str, Tenant],
                                       service_conn: psycopg.Connection[Any]) -> None:
    a, session = world["a"], f"s-{uuid.uuid4().hex}"
    batch = [
        event(a, session_id=session, occurred_at=_at(-timedelta(minutes=3))),
        event(a, type="product_view", session_id=session, product_id=str(a.product_ids[0]),
              occurred_at=_at(-timedelta(minutes=2)), properties={"referrer": "newsletter", "n": 2}),
        event(a, type="add_to_cart", session_id=session, product_id=str(a.product_ids[0])),
    ]

    r = await client.post(URL, json=batch, headers=a.member)

    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 3, "duplicates": 0}
    rows = stored(service_conn, session)
    assert [row["type"] for row in rows] == ["page_view", "product_view", "add_to_cart"]
    assert {row["org_id"] for row in rows} == {a.org_id}
    assert rows[1]["product_id"] == a.product_ids[0]
    assert rows[1]["properties"] == {"referrer": "newsletter", "n": 2}
    assert rows[0]["properties"] == {} and rows[0]["event_id"] is None


async def test_an_offset_timestamp_is_kept_as_the_same_instant(
        client: httpx.AsyncClient, world: dict[str, Tenant], service_conn: psycopg.Connection[Any]) -> None:
    a, session = world["a"], f"s-{uuid.uuid4().hex}"
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    local = when.astimezone(timezone(timedelta(hours=-5))).isoformat()  # ...-05:00
    offset = (when + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"

    r = await client.post(URL, json=[event(a, session_id=session, occurred_at=offset),
                                     event(a, session_id=session, occurred_at=local, type="purchase")],
                          headers=a.member)

    assert r.status_code == 202, r.text
    assert {row["occurred_at"] for row in stored(service_conn, session)} == {when}


async def test_duplicates_by_event_id_are_counted_and_stored_once(
        client: httpx.AsyncClient, world: dict[str, Tenant], service_conn: psycopg.Connection[Any]) -> None:
    a, session = world["a"], f"s-{uuid.uuid4().hex}"
    first = [event(a, session_id=session, event_id="e-1"), event(a, session_id=session, event_id="e-2"),
             event(a, session_id=session)]

    r1 = await client.post(URL, json=first, headers=a.member)
    r2 = await client.post(URL, json=[*first, event(a, session_id=session, event_id="e-3"),
                                      event(a, session_id=session, event_id="e-3")], headers=a.admin)

    assert r1.json() == {"accepted": 3, "duplicates": 0}
    # e-1, e-2 stored before, the second e-3 repeats the first one; events without event_id always insert.
    assert r2.status_code == 202 and r2.json() == {"accepted": 2, "duplicates": 3}
    rows = stored(service_conn, session)
    assert sorted(str(row["event_id"]) for row in rows) == ["None", "None", "e-1", "e-2", "e-3"]


async def test_another_organizations_store_is_404_and_nothing_is_stored(
        client: httpx.AsyncClient, world: dict[str, Tenant], service_conn: psycopg.Connection[Any]) -> None:
    a, b, session = world["a"], world["b"], f"s-{uuid.uuid4().hex}"

    r = await client.post(URL, json=[event(a, session_id=session), event(b, session_id=session)], headers=a.member)

    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert str(b.store_id) not in r.text
    assert stored(service_conn, session) == []


async def test_an_unknown_store_is_404(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    a = world["a"]
    r = await client.post(URL, json=[event(a, store_id=str(uuid.uuid4()))], headers=a.member)
    assert r.status_code == 404


async def test_a_product_of_another_store_is_422_for_that_item(
        client: httpx.AsyncClient, world: dict[str, Tenant], service_conn: psycopg.Connection[Any]) -> None:
    a, b, session = world["a"], world["b"], f"s-{uuid.uuid4().hex}"
    batch = [event(a, session_id=session, product_id=str(a.product_ids[1])),
             event(a, session_id=session, product_id=str(b.product_ids[0])),
             event(a, session_id=session, product_id=str(uuid.uuid4()))]

    r = await client.post(URL, json=batch, headers=a.member)

    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "1", "product_id"], ["body", "2", "product_id"]]
    assert stored(service_conn, session) == []


def _big_properties() -> dict[str, str]:
    return {"blob": "x" * 4100}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"occurred_at": "2026-11-25T10:00:00"}, ["body", "1", "occurred_at"]),
        ({"type": "page_visit"}, ["body", "1", "type"]),
        ({"colour": "blue"}, ["body", "1", "colour"]),
        ({"properties": _big_properties()}, ["body", "1", "properties"]),
        ({"occurred_at": _at(timedelta(minutes=10))}, ["body", "1", "occurred_at"]),
        ({"occurred_at": _at(-timedelta(days=31))}, ["body", "1", "occurred_at"]),
        ({"session_id": ""}, ["body", "1", "session_id"]),
        ({"session_id": "s" * 201}, ["body", "1", "session_id"]),
        ({"event_id": ""}, ["body", "1", "event_id"]),
        ({"properties": ["not", "an", "object"]}, ["body", "1", "properties"]),
        ({"store_id": "not-a-uuid"}, ["body", "1", "store_id"]),
        ({"product_id": "not-a-uuid"}, ["body", "1", "product_id"]),
        ({"session_id": "a\u0000b"}, ["body", "1", "session_id"]),
        ({"properties": {"k": "a\u0000b"}}, ["body", "1", "properties"]),
    ],
)
async def test_a_bad_item_fails_the_whole_batch(
        client: httpx.AsyncClient, world: dict[str, Tenant], service_conn: psycopg.Connection[Any],
        change: dict[str, Any], loc: list[str]) -> None:
    a, session = world["a"], f"s-{uuid.uuid4().hex}"

    r = await client.post(URL, json=[event(a, session_id=session), {**event(a, session_id=session), **change}],
                          headers=a.member)

    assert r.status_code == 422, r.text
    body = r.json()
    assert body["status"] == 422 and body["errors"]
    assert loc in [e["loc"] for e in body["errors"]]
    assert stored(service_conn, session) == []


def compact_batch(tenant: Tenant, session: str, size: int) -> bytes:
    """Small enough that 501 items stay under the test app's 64 KiB body limit."""
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    item = {"type": "purchase", "store_id": str(tenant.store_id), "session_id": session,
            "occurred_at": at.isoformat().replace("+00:00", "Z")}
    return json.dumps([item] * size, separators=(",", ":")).encode()


async def post_compact(client: httpx.AsyncClient, tenant: Tenant, body: bytes) -> httpx.Response:
    return await client.post(URL, content=body, headers={**tenant.member, "Content-Type": "application/json"})


@pytest.mark.parametrize("size", [0, 501])
async def test_the_batch_size_is_1_to_500(client: httpx.AsyncClient, world: dict[str, Tenant],
                                          service_conn: psycopg.Connection[Any], size: int) -> None:
    a, session = world["a"], uuid.uuid4().hex[:4]

    r = await post_compact(client, a, compact_batch(a, session, size))

    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body"]
    assert stored(service_conn, session) == []


async def test_a_full_batch_of_500_is_accepted(client: httpx.AsyncClient, world: dict[str, Tenant],
                                               service_conn: psycopg.Connection[Any]) -> None:
    a, session = world["a"], uuid.uuid4().hex[:4]

    r = await post_compact(client, a, compact_batch(a, session, 500))

    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 500, "duplicates": 0}
    assert len(stored(service_conn, session)) == 500


async def test_a_body_that_is_not_a_list_is_422_and_no_token_is_401(client: httpx.AsyncClient,
                                                                     world: dict[str, Tenant]) -> None:
    a = world["a"]
    assert (await client.post(URL, json=event(a), headers=a.member)).status_code == 422
    assert (await client.post(URL, json=[event(a)])).status_code == 401
