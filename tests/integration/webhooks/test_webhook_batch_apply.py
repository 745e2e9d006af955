"""A batch's order deliveries applied together: newest wins, each marked once, failures alone, no deadlock."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.bootstrap import Container
from shared.webhooks.outcomes import Applied
from shared.webhooks.processing import process_batch, process_delivery
from tests.integration.webhooks.test_webhook_apply import deliver
from tests.support import build_tenant, insert_synced_store


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement run through Connection.execute while the test runs (all of the apply code's)."""
    seen: list[str] = []
    execute = psycopg.Connection.execute

    def counting(self: psycopg.Connection[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    return seen


def order(number: int, minute: int, *, lines: tuple[int, ...] = (1,), customer: int | None = None,
          quantity: int = 1) -> dict[str, Any]:
    at = f"2030-01-01T00:{minute:02d}:00Z"
    return {"id": number, "name": f"#{number}-v{minute}", "currency": "EUR", "created_at": "2030-01-01T00:00:00Z",
            "updated_at": at, "financial_status": "paid", "total_price": f"{minute}.00", "refunds": [],
            "customer": {"id": customer, "email": f"c{customer}@shop.test", "updated_at": at} if customer else None,
            "line_items": [{"id": number * 100 + n, "quantity": quantity, "price": "10.00", "name": f"item {n}"}
                           for n in lines]}


def stored(conn: psycopg.Connection[Any], store_id: uuid.UUID, number: int) -> tuple[str, list[str]]:
    row = conn.execute("select id, name from orders where store_id = %s and external_id = %s",
                       (store_id, f"gid://shopify/Order/{number}")).fetchone()
    lines = conn.execute("select external_id from order_lines where order_id = %s order by external_id",
                         (row["id"],)).fetchall()
    return row["name"], [line["external_id"].rsplit("/", 1)[1] for line in lines]


def deliveries(conn: psycopg.Connection[Any], ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    return {r["id"]: r for r in conn.execute(
        "select id, status, attempts, error, processed_at from webhook_deliveries where id = any(%s)", (ids,))}


def never(failed: list[uuid.UUID]) -> None:
    raise AssertionError(f"resent {failed}")


def test_order_deliveries_are_applied_together_and_the_newest_version_wins(
        tenant: Any, service_conn: Any, container: Container, database_url: str, statements: list[str]) -> None:
    t, domain = tenant
    # The same shop connected by another organization (the domain in other case): it gets the orders too.
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        other = build_tenant(conn, f"wc{uuid.uuid4().hex[:6]}")
        conn.execute("update stores set shop_domain = upper(%s) where id = %s", (domain, other.store_id))
    ids = [deliver(service_conn, domain, "orders/create", order(7000 + n, 1, customer=9000 + n)) for n in range(30)]
    older_first = [deliver(service_conn, domain, "orders/create", order(7100, 1, lines=(1, 2))),
                   deliver(service_conn, domain, "orders/updated", order(7100, 2, lines=(2, 3)))]
    newer_first = [deliver(service_conn, domain, "orders/updated", order(7200, 2, lines=(2, 3))),
                   deliver(service_conn, domain, "orders/paid", order(7200, 1, lines=(1, 2)))]
    batch = ids + older_first + newer_first
    statements.clear()
    results = process_batch(container.db, container.secrets, batch, resend=never)

    assert len(statements) < 30, statements  # one by one: about 10 per delivery
    assert sorted(r.detail for r in results) == [""] * 32 + [
        "order gid://shopify/Order/7100: a newer version is stored",
        "order gid://shopify/Order/7200: a newer version is stored"]
    rows = deliveries(service_conn, batch)
    assert {(r["status"], r["attempts"]) for r in rows.values()} == {("processed", 1)}
    assert all(r["processed_at"] is not None for r in rows.values())
    assert rows[older_first[0]]["error"] == "order gid://shopify/Order/7100: a newer version is stored"
    assert rows[newer_first[1]]["error"] == "order gid://shopify/Order/7200: a newer version is stored"
    for store_id in (t.store_id, other.store_id):
        assert stored(service_conn, store_id, 7100) == ("#7100-v2", ["710002", "710003"])
        assert stored(service_conn, store_id, 7200) == ("#7200-v2", ["720002", "720003"])
        assert stored(service_conn, store_id, 7029) == ("#7029-v1", ["702901"])
        linked = service_conn.execute(
            "select c.email from orders o join customers c on c.id = o.customer_id where o.store_id = %s "
            "and o.external_id = 'gid://shopify/Order/7005'", (store_id,)).fetchone()
        assert linked["email"] == "c9005@shop.test"

    # The bus delivers the message again: nothing is applied twice.
    again = process_batch(container.db, container.secrets, batch, resend=never)
    assert {r.status for r in again} == {"already"}
    assert {r["attempts"] for r in deliveries(service_conn, batch).values()} == {1}


def test_in_a_mixed_batch_a_malformed_order_fails_alone_and_the_rest_is_applied(
        tenant: Any, service_conn: Any, container: Container) -> None:
    t, domain = tenant
    process_delivery(container.db, container.secrets,
                     deliver(service_conn, domain, "orders/updated", order(7300, 5, lines=(1, 2))))
    older = deliver(service_conn, domain, "orders/updated", order(7300, 4, lines=(9,)))
    new = deliver(service_conn, domain, "orders/create", order(7301, 1))
    malformed = deliver(service_conn, domain, "orders/create", {"id": 7302, "updated_at": "2030-01-01T00:01:00Z"})
    product = deliver(service_conn, domain, "products/update", {
        "id": 1, "title": "Hoodie v9", "status": "active", "updated_at": "2030-01-02T00:00:00Z",
        "variants": [{"id": 10, "sku": "HOOD-BLU-S", "price": "59.00", "updated_at": "2030-01-02T00:00:00Z"}]})
    resent: list[list[uuid.UUID]] = []
    results = process_batch(container.db, container.secrets, [older, new, malformed, product], resend=resent.append)

    assert sorted(r.detail for r in results) == ["", "", "order gid://shopify/Order/7300: a newer version is stored"]
    assert resent == [[malformed]]
    rows = deliveries(service_conn, [older, new, malformed, product])
    assert [(rows[d]["status"], rows[d]["attempts"]) for d in (older, new, product)] == [("processed", 1)] * 3
    assert (rows[malformed]["status"], rows[malformed]["attempts"]) == ("received", 1)
    assert "created_at" in rows[malformed]["error"]
    assert stored(service_conn, t.store_id, 7300) == ("#7300-v5", ["730001", "730002"])
    assert stored(service_conn, t.store_id, 7301) == ("#7301-v1", ["730101"])
    assert service_conn.execute("select title from products where store_id = %s and external_id = "
                                "'gid://shopify/Product/1'", (t.store_id,)).fetchone()["title"] == "Hoodie v9"


def woo_order(number: int, minute: int, lines: dict[int, int]) -> dict[str, Any]:
    return {"id": number, "number": str(number), "status": "processing", "currency": "USD", "customer_id": 0,
            "date_created_gmt": "2030-01-01T00:00:00", "date_modified_gmt": f"2030-01-01T00:{minute:02d}:00",
            "total": f"{minute}.00", "refunds": [],
            "line_items": [{"id": line, "name": "Tee", "product_id": 5, "variation_id": 0, "quantity": quantity,
                            "subtotal": "10.00", "total": "10.00"} for line, quantity in lines.items()]}


def deliver_woo(conn: psycopg.Connection[Any], store_id: uuid.UUID, topic: str, payload: Any) -> uuid.UUID:
    delivery: uuid.UUID = conn.execute(
        "insert into webhook_deliveries (platform, delivery_id, topic, store_id, payload) "
        "values ('woocommerce', %s, %s, %s, %s) returning id",
        (uuid.uuid4().hex, topic, store_id, json.dumps(payload))).fetchone()["id"]
    return delivery


def test_woo_orders_in_a_batch_keep_their_stored_lines_and_a_disconnected_store_is_ignored(
        tenant: Any, service_conn: Any, container: Container) -> None:
    t, _ = tenant
    store = insert_synced_store(service_conn, t, "woocommerce", "UTC", "Woo")
    gone = insert_synced_store(service_conn, t, "woocommerce", "UTC", "Gone")
    service_conn.execute("update stores set status = 'disconnected' where id = %s", (gone,))
    process_delivery(container.db, container.secrets,
                     deliver_woo(service_conn, store, "order.created", woo_order(728, 1, {11: 1, 12: 1})))
    batch = [deliver_woo(service_conn, store, "order.updated", woo_order(728, 3, {11: 3})),
             deliver_woo(service_conn, store, "order.updated", woo_order(728, 2, {11: 2})),
             deliver_woo(service_conn, store, "order.created", woo_order(729, 1, {21: 1})),
             deliver_woo(service_conn, gone, "order.created", woo_order(730, 1, {31: 1}))]
    process_batch(container.db, container.secrets, batch, resend=never)

    rows = deliveries(service_conn, batch)
    assert [(rows[d]["status"], rows[d]["error"]) for d in batch] == [
        ("processed", None), ("processed", "order 728: a newer version is stored"), ("processed", None),
        ("ignored", "no connected store")]
    lines = service_conn.execute(
        "select o.external_id as o, l.external_id as l, l.quantity from orders o "
        "join order_lines l on l.order_id = o.id where o.store_id = %s order by 1, 2", (store,)).fetchall()
    # A Woo webhook's order replaces what it carries and keeps the rest (refunds, lines): the sync replaces them.
    assert [(r["o"], r["l"], r["quantity"]) for r in lines] == [("728", "11", 3), ("728", "12", 1), ("729", "21", 1)]
    assert service_conn.execute("select count(*) as n from orders where store_id = %s", (gone,)).fetchone()["n"] == 0


def test_a_database_error_in_the_batch_falls_back_to_one_by_one(
        tenant: Any, service_conn: Any, container: Container, caplog: pytest.LogCaptureFixture) -> None:
    t, domain = tenant
    good = [deliver(service_conn, domain, "orders/create", order(7400 + n, 1)) for n in range(3)]
    overflow = deliver(service_conn, domain, "orders/create", order(7410, 1, quantity=2**40))  # maps, fails in SQL
    resent: list[list[uuid.UUID]] = []
    with caplog.at_level(logging.WARNING, logger="shared.webhooks.processing"):
        results = process_batch(container.db, container.secrets, [*good, overflow], resend=resent.append)

    assert any("failed as a batch" in r.message for r in caplog.records)
    assert [r.status for r in results] == ["processed"] * 3
    assert resent == [[overflow]]
    rows = deliveries(service_conn, [*good, overflow])
    assert {(rows[d]["status"], rows[d]["attempts"]) for d in good} == {("processed", 1)}
    assert (rows[overflow]["status"], rows[overflow]["attempts"]) == ("received", 1)
    assert "out of range" in rows[overflow]["error"]
    assert stored(service_conn, t.store_id, 7402) == ("#7402-v1", ["740201"])


def test_concurrent_batches_with_shared_orders_do_not_deadlock_and_end_in_the_newest_version(
        tenant: Any, service_conn: Any, container: Container, database_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    t, domain = tenant
    with caplog.at_level(logging.WARNING, logger="shared.webhooks.processing"):
        for round_ in range(4):
            numbers = range(7500 + 100 * round_, 7540 + 100 * round_)
            # Each batch has every order; the first has the newer version of the even ones, the second of the odd
            # ones, and the second lists them in reverse.
            first = [deliver(service_conn, domain, "orders/updated",
                             order(n, 2 if n % 2 == 0 else 1, lines=(n % 2 + 1,))) for n in numbers]
            second = [deliver(service_conn, domain, "orders/updated",
                              order(n, 1 if n % 2 == 0 else 2, lines=(n % 2 + 3,))) for n in reversed(numbers)]
            # Another apply holds the first order: both batches queue behind it, then run into each other.
            with psycopg.connect(database_url) as holder:
                holder.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))",
                               (f"orders:{t.store_id}:gid://shopify/Order/{numbers[0]}",))
                outcomes = apply_at_once(container, first, second, when_waiting=holder.commit)
            assert all(isinstance(o, list) for o in outcomes), outcomes
            assert {r["status"] for r in deliveries(service_conn, first + second).values()} == {"processed"}
            for n in numbers:
                newest_lines = [f"{n}0{n % 2 + 1}"] if n % 2 == 0 else [f"{n}0{n % 2 + 3}"]
                assert stored(service_conn, t.store_id, n) == (f"#{n}-v2", newest_lines)
    assert not caplog.records  # neither batch fell back (a deadlock would have made it)


def apply_at_once(container: Container, *batches: list[uuid.UUID],
                  when_waiting: Callable[[], None]) -> list[list[Applied] | BaseException]:
    """process_batch for each batch, in threads started together; `when_waiting` once they all wait for a lock."""
    start = threading.Barrier(len(batches))
    outcomes: list[list[Applied] | BaseException] = [AssertionError("not finished")] * len(batches)

    def run(index: int, batch: list[uuid.UUID]) -> Callable[[], None]:
        def apply() -> None:
            start.wait()
            try:
                outcomes[index] = process_batch(container.db, container.secrets, batch, resend=never)
            except BaseException as exc:
                outcomes[index] = exc
        return apply

    threads = [threading.Thread(target=run(i, b)) for i, b in enumerate(batches)]
    for thread in threads:
        thread.start()
    with container.db.service_sync() as conn:
        waiting = 0
        for _ in range(500):
            waiting = conn.execute("select count(*) as n from pg_locks where locktype = 'advisory' and not granted"
                                   ).fetchone()["n"]
            if waiting >= len(batches):
                break
            time.sleep(0.01)
    when_waiting()
    for thread in threads:
        thread.join(timeout=60)
    assert waiting == len(batches), "the batches did not wait for the held order"
    return outcomes
