"""Bulk exports against the fake Shopify: start, poll, stream; the same records as paging."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.fakes.faults import FaultConfig
from devhost.fakes.model import StoreModel
from devhost.fakes.shopify_bulk import BulkConfig
from shared.stores.platform import BulkStatus
from shared.stores.records import ENTITIES, Entity, OrderRecord
from shared.stores.shopify import ShopifyClient
from tests.integration.stores.shopify_support import (
    FakeShop,
    assemble,
    expected,
    fetch_all,
    running_fake,
    shopify_orders,
    small_store,
    summarize,
)


@pytest.fixture(scope="module")
def store() -> StoreModel:
    return small_store()


@pytest.fixture
def fake(store: StoreModel) -> Iterator[FakeShop]:
    with running_fake(store) as shop:
        yield shop


def _finish(fake: FakeShop, client: ShopifyClient, operation_id: str) -> BulkStatus:
    for _ in range(20):
        status = client.bulk_status(operation_id)
        if status.state != "running":
            return status
        fake.clock.advance(1.0)
    raise AssertionError("the bulk operation never finished")


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_bulk_export_gives_the_same_records_as_paging(fake: FakeShop, store: StoreModel, entity: Entity) -> None:
    with fake.client() as client:
        operation_id = client.start_bulk(entity, updated_since=None)
        assert client.bulk_status(operation_id).state == "running"
        status = _finish(fake, client, operation_id)
        assert status.state == "completed" and status.url is not None and status.error is None
        exported = assemble(client.iter_bulk(status.url, entity))  # children after parents, each once
        paged = fetch_all(client, entity, page_size=100)
    assert status.root_object_count == len(exported)
    assert summarize(exported, entity) == summarize(paged, entity) == expected(store, entity)
    assert sorted(exported, key=lambda r: r.external_id) == sorted(paged, key=lambda r: r.external_id)


def test_a_bulk_export_since_a_moment_holds_only_newer_orders(fake: FakeShop, store: StoreModel) -> None:
    orders = sorted(shopify_orders(store), key=lambda o: o.updated_at)
    since = orders[-40].updated_at
    with fake.client() as client:
        status = _finish(fake, client, client.start_bulk("orders", updated_since=since))
        assert status.url is not None
        exported = assemble(client.iter_bulk(status.url, "orders"))
    assert {r.name for r in exported if isinstance(r, OrderRecord)} == {
        f"#{o.number}" for o in orders if o.updated_at >= since}


def test_starting_while_the_shops_bulk_slots_are_taken_waits_for_one(store: StoreModel) -> None:
    with running_fake(store, bulk=BulkConfig(max_concurrent=1)) as fake, fake.client(bulk_busy_wait=1.0) as client:
        first = client.start_bulk("products", updated_since=None)
        second = client.start_bulk("customers", updated_since=None)
        assert first != second
        assert client.throttle.waits >= 1 and client.throttle.rejected == 0
        assert client.bulk_status(first).state == "completed"


def test_a_failed_bulk_operation_reports_failed_with_its_error_code(store: StoreModel) -> None:
    with running_fake(store, faults=FaultConfig(fail_bulk_operations=(1,))) as fake, fake.client() as client:
        status = _finish(fake, client, client.start_bulk("orders", updated_since=None))
    assert status.state == "failed" and status.url is None
    assert status.error == "FAILED: INTERNAL_SERVER_ERROR"
    assert "partial_data_url" in status.extra


def test_an_export_that_found_nothing_completes_without_a_url(fake: FakeShop, store: StoreModel) -> None:
    later = max(o.updated_at for o in store.orders).replace(year=2030)
    with fake.client() as client:
        status = _finish(fake, client, client.start_bulk("orders", updated_since=later))
    assert status.state == "completed" and status.url is None and status.object_count == 0
