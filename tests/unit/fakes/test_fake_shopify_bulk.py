"""Bulk operations of the fake Shopify (reference §6): lifecycle, limits and JSONL integrity."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI

from devhost.fakes import BulkConfig, FaultConfig, ManualClock, StoreModel, create_fake_shopify
from devhost.fakes.shopify_paging import shopify_visible
from tests.unit.fakes.fake_support import SHOPIFY_TOKEN, client_for, gql

RUN = """mutation Run($query: String!, $group: Boolean) {
  bulkOperationRunQuery(query: $query, groupObjects: $group) {
    bulkOperation { id status url } userErrors { field message code } } }"""
STATUS = """query($id: ID!) { bulkOperation(id: $id) {
  id status errorCode objectCount rootObjectCount url partialDataUrl createdAt completedAt type } }"""
ORDERS_WITH_LINES = """{ orders { edges { node { id name totalPriceSet { shopMoney { amount } } customer { id }
  refunds { id } lineItems { edges { node { id quantity sku originalTotalSet { shopMoney { amount } } } } } } } } }"""
TIMING = BulkConfig(created_seconds=1.0, running_seconds=4.0, seconds_per_1000_objects=0.0)


def make_app(store: StoreModel, clock: ManualClock, **kwargs: Any) -> FastAPI:
    kwargs.setdefault("bulk", TIMING)
    return create_fake_shopify(store, access_token=SHOPIFY_TOKEN, clock=clock, **kwargs)


async def run(client: httpx.AsyncClient, query: str, group: bool = False) -> dict[str, Any]:
    reply = await gql(client, RUN, {"query": query, "group": group})
    payload: dict[str, Any] = reply.json()["data"]["bulkOperationRunQuery"]
    return payload


async def status(client: httpx.AsyncClient, op_id: str) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, STATUS, {"id": op_id})).json()["data"]["bulkOperation"]
    return result


async def finished_lines(client: httpx.AsyncClient, clock: ManualClock, query: str,
                         group: bool = False) -> list[dict[str, Any]]:
    op = (await run(client, query, group))["bulkOperation"]
    clock.advance(10)
    done = await status(client, op["id"])
    assert done["status"] == "COMPLETED"
    download = await client.get(done["url"])
    assert download.status_code == 200
    lines = [json.loads(line) for line in download.text.splitlines()]
    assert len(lines) == int(done["objectCount"])
    return lines


async def test_operation_goes_created_running_completed_with_the_clock(store: StoreModel) -> None:
    clock = ManualClock()
    async with client_for(make_app(store, clock)) as client:
        started = await run(client, ORDERS_WITH_LINES)
        assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
        op_id = started["bulkOperation"]["id"]
        assert op_id.startswith("gid://shopify/BulkOperation/")
        clock.advance(2.0)
        running = await status(client, op_id)
        assert running["status"] == "RUNNING" and running["url"] is None
        assert 0 < int(running["objectCount"]) < sum(1 + len(o.line_items) for o in store.orders)
        clock.advance(5.0)
        done = await status(client, op_id)
        current = (await gql(client, "{ currentBulkOperation { id status } }")).json()["data"]
    assert done["status"] == "COMPLETED" and done["url"].endswith(".jsonl") and done["completedAt"]
    assert done["type"] == "QUERY" and done["errorCode"] is None
    assert current["currentBulkOperation"] == {"id": op_id, "status": "COMPLETED"}


async def test_jsonl_rebuilds_every_order_with_its_lines(store: StoreModel) -> None:
    clock = ManualClock()
    async with client_for(make_app(store, clock)) as client:
        lines = await finished_lines(client, clock, ORDERS_WITH_LINES)
    visible = [o for o in store.orders if shopify_visible(o)]
    parents = {line["id"]: line for line in lines if "__parentId" not in line}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    position = {line["id"]: index for index, line in enumerate(lines)}
    for index, line in enumerate(lines):
        if "__parentId" in line:
            assert position[line["__parentId"]] < index  # children come after their parent
            children[line["__parentId"]].append(line)
    assert len(parents) == len(visible)
    assert sum(len(c) for c in children.values()) == sum(len(o.line_items) for o in visible)
    by_gid = {f"gid://shopify/Order/{5_900_000_000_000 + o.id}": o for o in visible}
    for gid, line in parents.items():
        order = by_gid[gid]
        assert Decimal(line["totalPriceSet"]["shopMoney"]["amount"]) * 100 == order.total_cents
        assert len(line["refunds"]) == len(order.refunds)  # a list stays on its parent's line
        assert sum(c["quantity"] for c in children[gid]) == sum(li.quantity for li in order.line_items)
        gross = sum(Decimal(c["originalTotalSet"]["shopMoney"]["amount"]) for c in children[gid])
        assert gross * 100 == order.gross_cents


async def test_children_are_not_always_right_after_their_parent(store: StoreModel) -> None:
    clock = ManualClock()
    async with client_for(make_app(store, clock)) as client:
        interleaved = await finished_lines(client, clock, ORDERS_WITH_LINES)
        grouped = await finished_lines(client, clock, ORDERS_WITH_LINES, group=True)

    def late_children(lines: list[dict[str, Any]]) -> int:
        current, late = None, 0
        for line in lines:
            if "__parentId" not in line:
                current = line["id"]
            elif line["__parentId"] != current:
                late += 1
        return late

    assert late_children(interleaved) > 0
    assert late_children(grouped) == 0


async def test_products_export_carries_variants_as_children(store: StoreModel) -> None:
    query = "{ products { edges { node { id title variants { edges { node { id sku price } } } } } } }"
    clock = ManualClock()
    async with client_for(make_app(store, clock)) as client:
        lines = await finished_lines(client, clock, query)
    assert sum("__parentId" not in line for line in lines) == len(store.products)
    assert sum("__parentId" in line for line in lines) == len(store.variants)


async def test_search_filters_the_root_objects(store: StoreModel) -> None:
    query = """{ orders(query: "created_at:>='2026-09-01' test:false") { edges { node { id createdAt } } } }"""
    clock = ManualClock()
    async with client_for(make_app(store, clock)) as client:
        lines = await finished_lines(client, clock, query)
    assert all(line["createdAt"] >= "2026-09-01" for line in lines)
    assert len(lines) == sum(1 for o in store.orders if shopify_visible(o) and not o.test
                             and o.created_at.astimezone(store.shop.zone).date().isoformat() >= "2026-09-01")


async def test_invalid_bulk_queries_get_user_errors(store: StoreModel) -> None:
    lines = "lineItems { edges { node { id } } }"
    cases = {
        "{ shop { name } }": "top-level connection",
        "{ orders { edges { node { " + " ".join(f"l{i}: {lines}" for i in range(5)) + " } } } }": "more than 5",
        "{ products { edges { node { variants { edges { node { product { variants { edges { node { id } } } } } } } }"
        " } } }": "nest",
        "{ orders { edges { node { refunds { refundLineItems { edges { node { id } } } } } } } }":
            "Queries that contain a connection field within a list field are not currently supported.",
        "{ orders { edges { node { nope } } } }": "Invalid bulk query",
    }
    async with client_for(make_app(store, ManualClock())) as client:
        for query, expected in cases.items():
            result = await run(client, query)
            assert result["bulkOperation"] is None
            assert result["userErrors"][0]["code"] == "INVALID"
            assert expected in result["userErrors"][0]["message"], query


async def test_concurrency_limit_reports_operation_in_progress(store: StoreModel) -> None:
    clock = ManualClock()
    app = make_app(store, clock, bulk=BulkConfig(max_concurrent=1, created_seconds=1.0, running_seconds=1.0))
    async with client_for(app) as client:
        first = await run(client, ORDERS_WITH_LINES)
        second = await run(client, ORDERS_WITH_LINES)
        clock.advance(60)
        third = await run(client, ORDERS_WITH_LINES)
    assert second["bulkOperation"] is None
    error = second["userErrors"][0]
    assert error["code"] == "OPERATION_IN_PROGRESS"
    assert error["message"].endswith(f"already in progress: {first['bulkOperation']['id']}.")
    assert third["userErrors"] == []


async def test_a_failing_operation_offers_partial_data(store: StoreModel) -> None:
    clock = ManualClock()
    async with client_for(make_app(store, clock, faults=FaultConfig(fail_bulk_operations=(1,)))) as client:
        op = (await run(client, ORDERS_WITH_LINES))["bulkOperation"]
        clock.advance(60)
        failed = await status(client, op["id"])
        assert failed["status"] == "FAILED" and failed["errorCode"] == "INTERNAL_SERVER_ERROR"
        assert failed["url"] is None and failed["partialDataUrl"]
        partial = await client.get(failed["partialDataUrl"])
        missing = await client.get(failed["partialDataUrl"].replace("-partial", ""))
    assert len(partial.text.splitlines()) == int(failed["objectCount"]) > 0
    assert missing.status_code == 404


async def test_an_empty_export_completes_without_a_url(store: StoreModel) -> None:
    query = """{ orders(query: "created_at:>='2031-01-01'") { edges { node { id } } } }"""
    clock = ManualClock()
    async with client_for(make_app(store, clock)) as client:
        op = (await run(client, query))["bulkOperation"]
        number = int(op["id"].rsplit("/", 1)[1]) - 4_100_000_000_000
        early = await client.get(f"/bulk/{number}.jsonl")
        clock.advance(60)
        done = await status(client, op["id"])
    assert early.status_code == 404
    assert done["status"] == "COMPLETED" and done["objectCount"] == "0" and done["url"] is None


async def test_an_unknown_operation_id_reads_as_null(store: StoreModel) -> None:
    async with client_for(make_app(store, ManualClock())) as client:
        op = (await run(client, ORDERS_WITH_LINES))["bulkOperation"]
        unknown = (await gql(client, STATUS, {"id": "gid://shopify/BulkOperation/4100000000999"})).json()
    assert op["id"] and unknown["data"]["bulkOperation"] is None
