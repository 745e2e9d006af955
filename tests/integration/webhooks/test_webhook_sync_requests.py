"""A WooCommerce refund arrives only as `order.updated` listing {id, reason, total}: a webhook whose order lists
refunds other than the stored ones asks for the store's next incremental sync, which reads them whole."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from shared.bootstrap import Container
from shared.stores import sync
from shared.stores.maintenance import create_due_syncs
from shared.webhooks.processing import process_batch, process_delivery
from tests.integration.webhooks.test_webhook_batch_apply import deliver_woo, never, woo_order
from tests.support import insert_synced_store


def _order(number: int, minute: int, refunds: list[int]) -> dict[str, Any]:
    return {**woo_order(number, minute, {number * 10: 1}),
            "refunds": [{"id": r, "reason": "", "total": "-5.00"} for r in refunds]}


def _requested(conn: psycopg.Connection[Any], store: uuid.UUID) -> bool:
    return bool(conn.execute("select sync_requested_at is not null as r from stores where id = %s",
                             (store,)).fetchone()["r"])


def _store_refund(conn: psycopg.Connection[Any], store: uuid.UUID, order: int, refund: int) -> None:
    conn.execute("insert into refunds (org_id, store_id, order_id, external_id, refunded_at, total) "
                 "select org_id, store_id, id, %s, now(), 5 from orders where store_id = %s and external_id = %s",
                 (str(refund), store, str(order)))


def test_an_order_listing_a_refund_not_stored_asks_for_a_sync(tenant: Any, service_conn: Any,
                                                               container: Container) -> None:
    t, _ = tenant
    store = insert_synced_store(service_conn, t, "woocommerce", "UTC", "Woo")
    process_delivery(container.db, container.secrets, deliver_woo(service_conn, store, "order.created",
                                                                  _order(801, 1, [])))
    assert not _requested(service_conn, store)

    process_delivery(container.db, container.secrets, deliver_woo(service_conn, store, "order.updated",
                                                                  _order(801, 2, [9001])))
    assert _requested(service_conn, store)
    status = service_conn.execute("select financial_status from orders where store_id = %s and external_id = '801'",
                                  (store,)).fetchone()["financial_status"]
    assert status == "partially_refunded"  # the order itself is applied as before


def test_in_a_batch_the_stored_refunds_ask_for_nothing_and_one_no_longer_listed_does(
        tenant: Any, service_conn: Any, container: Container) -> None:
    t, _ = tenant
    store = insert_synced_store(service_conn, t, "woocommerce", "UTC", "Woo")
    process_batch(container.db, container.secrets,
                  [deliver_woo(service_conn, store, "order.created", _order(n, 1, [])) for n in (802, 803)],
                  resend=never)
    _store_refund(service_conn, store, 802, 9101)  # what a sync read

    process_batch(container.db, container.secrets,
                  [deliver_woo(service_conn, store, "order.updated", _order(802, 2, [9101])),
                   deliver_woo(service_conn, store, "order.updated", _order(803, 2, []))], resend=never)
    assert not _requested(service_conn, store)

    # The refund was deleted on the platform: only a sync's replace removes it.
    process_batch(container.db, container.secrets,
                  [deliver_woo(service_conn, store, "order.updated", _order(802, 3, []))], resend=never)
    assert _requested(service_conn, store)


def test_an_order_whose_exchange_rate_came_after_its_refunds_asks_for_a_sync(
        tenant: Any, service_conn: Any, container: Container) -> None:
    t, _ = tenant
    store = insert_synced_store(service_conn, t, "woocommerce", "UTC", "Woo")  # a USD shop
    euros = {**_order(804, 1, [9201]), "currency": "EUR"}  # no rate: stored in euros
    process_delivery(container.db, container.secrets, deliver_woo(service_conn, store, "order.created", euros))
    _store_refund(service_conn, store, 804, 9201)  # read in euros by a sync
    service_conn.execute("update stores set sync_requested_at = null where id = %s", (store,))

    process_delivery(container.db, container.secrets, deliver_woo(service_conn, store, "order.updated", euros))
    assert not _requested(service_conn, store)  # same refunds, same currency

    rated = {**euros, "date_modified_gmt": "2030-01-01T00:05:00", "meta_data": [
        {"key": "_wcpay_multi_currency_order_default_currency", "value": "USD"},
        {"key": "_wcpay_multi_currency_order_exchange_rate", "value": "0.9"}]}
    process_delivery(container.db, container.secrets, deliver_woo(service_conn, store, "order.updated", rated))
    assert service_conn.execute("select currency from orders where store_id = %s and external_id = '804'",
                                (store,)).fetchone()["currency"] == "USD"
    assert _requested(service_conn, store)  # its refund is still in euros: a sync reads it converted


def test_a_request_makes_a_fresh_store_due_and_a_sync_clears_only_requests_made_before_it_started(
        tenant: Any, database_url: str) -> None:
    t, _ = tenant
    with psycopg.connect(database_url, row_factory=dict_row) as conn, conn.transaction(force_rollback=True):
        # Other tests' stores may be due too: whatever this creates is rolled back.
        store = insert_synced_store(conn, t, "woocommerce", "UTC", "Woo")
        conn.execute("update stores set credentials_secret = 'x', freshness_minutes = 360 where id = %s", (store,))
        assert store not in _due(conn)  # synced an hour ago

        conn.execute("update stores set sync_requested_at = now() - interval '1 minute' where id = %s", (store,))
        job = _due(conn)[store]
        sync.begin(conn, job)
        conn.execute("update sync_jobs set started_at = now() - interval '30 seconds' where id = %s", (job,))
        assert sync.finish(conn, job, None) == "succeeded"
        assert not _requested(conn, store)  # asked before the sync started: it read the change

        conn.execute("update stores set sync_requested_at = now() - interval '1 minute' where id = %s", (store,))
        job = _due(conn)[store]
        sync.begin(conn, job)
        conn.execute("update sync_jobs set started_at = now() - interval '2 minutes' where id = %s", (job,))
        assert sync.finish(conn, job, None) == "succeeded"
        assert _requested(conn, store)  # asked while it ran: maybe after it read that order
        assert store in _due(conn)


def _due(conn: psycopg.Connection[Any]) -> dict[uuid.UUID, uuid.UUID]:
    jobs = [job for job, _ in create_due_syncs(conn)]
    return {r["store_id"]: r["id"] for r in conn.execute("select id, store_id from sync_jobs where id = any(%s)",
                                                         (jobs,)).fetchall()}
