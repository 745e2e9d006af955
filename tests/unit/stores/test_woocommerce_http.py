"""The WooCommerce client's HTTP rules and cursor, on scripted answers (httpx.MockTransport, no server)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.stores.platform import InvalidCredentials, PlatformError, PlatformUnavailable
from shared.stores.woocommerce import RetryPolicy, WooCommerceClient
from shared.stores.woocommerce.client import _Cursor
from shared.stores.woocommerce.http import api_root

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, sleeps: list[float] | None = None, **kwargs: Any) -> WooCommerceClient:
    sink = sleeps if sleeps is not None else []
    return WooCommerceClient(base_url="https://shop.example", consumer_key="ck_0123456789",
                             consumer_secret="cs_0123456789", transport=httpx.MockTransport(handler),
                             sleep=sink.append, jitter=lambda: 1.0, **kwargs)


def _woo_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": {"status": status}})


@pytest.mark.parametrize(("base", "override", "root"), [
    ("https://shop.example", None, "https://shop.example/wp-json/wc/v3/"),
    ("https://shop.example/blog/", None, "https://shop.example/blog/wp-json/wc/v3/"),
    ("https://shop.example", "http://127.0.0.1:8082", "http://127.0.0.1:8082/wp-json/wc/v3/"),
    ("https://shop.example", "http://localhost:1/wp-json/wc/v3", "http://localhost:1/wp-json/wc/v3/"),
])
def test_api_root_is_under_wp_json_wc_v3(base: str, override: str | None, root: str) -> None:
    assert str(api_root(base, override)) == root


@pytest.mark.parametrize(("base", "override"), [
    ("http://shop.example", None), ("https://shop.example", "http://10.0.0.5:8082"), ("ftp://shop.example", None),
])
def test_plain_http_is_refused_except_to_loopback(base: str, override: str | None) -> None:
    with pytest.raises(ValueError, match="https"):
        api_root(base, override)


def test_a_retry_after_longer_than_the_longest_wait_gives_up_at_once() -> None:
    sleeps: list[float] = []
    client = _client(lambda r: httpx.Response(429, headers={"Retry-After": "600"}), sleeps)
    with pytest.raises(PlatformUnavailable, match="429"):
        client.fetch_page("orders", updated_since=None, cursor=None, page_size=10)
    assert sleeps == [] and client.throttle.rejected == 1


def test_the_retry_budget_bounds_the_total_time_of_one_request() -> None:
    sleeps: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = WooCommerceClient(base_url="https://shop.example", consumer_key="ck_0123456789",
                               consumer_secret="cs_0123456789", transport=httpx.MockTransport(
                                   lambda r: httpx.Response(503)), sleep=sleep, clock=lambda: now[0],
                               jitter=lambda: 1.0, retry=RetryPolicy(retries=10, base_delay=4, max_delay=30,
                                                                     budget=20))
    with pytest.raises(PlatformUnavailable):
        client.fetch_page("orders", updated_since=None, cursor=None, page_size=10)
    assert sleeps == [4, 8] and client.throttle.waited_seconds == 12  # 16 more would pass the budget of 20


def test_a_html_page_with_200_is_treated_as_transient() -> None:
    answers = iter([httpx.Response(200, text="<html>checking your browser</html>"),
                    httpx.Response(200, json=[], headers={"X-WP-TotalPages": "0"})])
    client = _client(lambda r: next(answers))
    page = client.fetch_page("customers", updated_since=None, cursor=None, page_size=10)
    assert page.records == [] and page.next_cursor is None and client.throttle.waits == 1


def test_missing_route_is_a_platform_error_and_not_retried() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return _woo_error(404, "rest_no_route", "No route was found matching the URL and request method.")

    with pytest.raises(PlatformError, match="rest_no_route"):
        _client(handler).fetch_page("products", updated_since=None, cursor=None, page_size=10)
    assert len(calls) == 1


def test_a_stripped_authorization_header_gets_a_hint_about_the_query_string_fallback() -> None:
    client = _client(lambda r: _woo_error(401, "woocommerce_rest_authentication_error", "Consumer key is missing."))
    with pytest.raises(InvalidCredentials, match="query-string fallback"):
        client.verify()


def test_a_redirect_is_reported_without_following_it_or_leaking_the_query() -> None:
    client = _client(lambda r: httpx.Response(301, headers={"Location": "https://www.shop.example/x?k=1"}))
    with pytest.raises(PlatformError, match=re.escape("https://www.shop.example/x;")) as raised:
        client.verify()
    assert "k=1" not in str(raised.value)


def test_basic_auth_is_sent_and_modified_after_is_an_inclusive_utc_second() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=[], headers={"X-WP-TotalPages": "0"})

    since = datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    _client(handler).fetch_page("orders", updated_since=since, cursor=None, page_size=250)
    (request,) = requests
    assert request.headers["authorization"].startswith("Basic ")
    assert dict(request.url.params) == {
        "orderby": "modified", "order": "asc", "per_page": "100", "page": "1", "status": "any",
        "modified_after": "2026-03-01T11:59:59", "dates_are_gmt": "true"}


def test_without_paging_headers_a_full_page_means_there_may_be_more() -> None:
    rows = [{"id": i, "email": f"c{i}@example.com", "date_created_gmt": "2026-01-01T00:00:00"} for i in (1, 2)]
    client = _client(lambda r: httpx.Response(200, json=rows))
    assert client.fetch_page("customers", updated_since=None, cursor=None, page_size=2).next_cursor == "2"
    assert client.fetch_page("customers", updated_since=None, cursor="2", page_size=5).next_cursor is None


def test_cursor_round_trips_and_rejects_garbage() -> None:
    cursor = _Cursor(page=3, after=datetime(2026, 3, 1, 11, 59, 59, tzinfo=UTC), seen=frozenset({7, 12}))
    assert _Cursor.decode(cursor.encode()) == cursor
    assert _Cursor.decode("4") == _Cursor(page=4)
    with pytest.raises(ValueError, match="cursor"):
        _Cursor.decode("page-two")
