"""The Shopify client's HTTP behaviour on scripted answers: throttling, retries, errors, the token (no server)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.stores.platform import InvalidCredentials, PlatformError, PlatformUnavailable
from shared.stores.shopify import RetryPolicy, ShopifyClient
from shared.stores.shopify.pacing import PacingState

TOKEN = "shpat_do_not_log_me"
SHOP = {"shop": {"name": "S", "ianaTimezone": "Europe/Berlin", "currencyCode": "EUR", "myshopifyDomain": "s"}}
Answer = Callable[[httpx.Request], httpx.Response]


def _cost(requested: float, available: float, *, actual: float | None = 1, maximum: float = 1000,
          rate: float = 50) -> dict[str, Any]:
    status = {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate}
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}


def _ok(data: dict[str, Any], requested: float = 1, available: float = 999) -> httpx.Response:
    return httpx.Response(200, json={"data": data, "extensions": _cost(requested, available)})


def _error(code: str, **cost: Any) -> httpx.Response:
    body: dict[str, Any] = {"errors": [{"message": code.title(), "extensions": {"code": code}}]}
    if cost:
        body["extensions"] = _cost(**cost)
    return httpx.Response(200, json=body)


class Script:
    """Answers requests in order and remembers them; the client's sleeps move its clock and land in `slept`."""

    def __init__(self, *answers: httpx.Response | Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.slept: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def client(self, **options: Any) -> ShopifyClient:
        return ShopifyClient(shop_domain="s", access_token=TOKEN, transport=httpx.MockTransport(self),
                             pacing=PacingState(), sleep=self.sleep, clock=lambda: self.now,
                             jitter=lambda: 1.0, **options)


def test_requests_go_to_the_pinned_version_with_the_token_header() -> None:
    script = Script(_ok(SHOP))
    script.client(api_version="2026-07").verify()
    (request,) = script.requests
    assert str(request.url) == "https://s.myshopify.com/admin/api/2026-07/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN


def test_throttled_waits_for_the_missing_points_and_retries() -> None:
    script = Script(_error("THROTTLED", requested=300, available=100, actual=None), _ok(SHOP))
    client = script.client()
    assert client.verify().currency == "EUR"
    assert script.slept == [4.02]  # (300 + 1 point of headroom - 100) / 50, and no second wait
    assert (client.throttle.waits, client.throttle.rejected, client.throttle.waited_seconds) == (1, 1, 4.02)


def test_429_honours_retry_after() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "3"}, json={"errors": "Exceeded"}), _ok(SHOP))
    client = script.client()
    client.verify()
    assert script.slept == [3.0] and client.throttle.rejected == 1


def test_transient_failures_back_off_exponentially_then_give_up() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    script = Script(httpx.Response(503), reset, _error("INTERNAL_SERVER_ERROR"), httpx.Response(200, text="<html>"))
    client = script.client(retry=RetryPolicy(attempts=4, base_delay=0.5))
    with pytest.raises(PlatformUnavailable):
        client.verify()
    assert script.slept == [0.5, 1.0, 2.0]
    assert client.throttle.waits == 0  # failures are not the platform's limits


@pytest.mark.parametrize("answer", [httpx.Response(401, json={"errors": "[API] Invalid API key"}),
                                    httpx.Response(403, json={"errors": "Forbidden"}),
                                    _error("ACCESS_DENIED")])
def test_refused_credentials_or_scopes_are_invalid_credentials(answer: httpx.Response,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidCredentials) as raised:
        Script(answer).client().verify()
    assert TOKEN not in str(raised.value) and TOKEN not in caplog.text


def test_a_query_too_dear_for_the_bucket_is_an_error_not_an_endless_wait() -> None:
    with pytest.raises(PlatformError, match="never fit"):
        Script(_error("THROTTLED", requested=1200, available=1000, actual=None)).client().verify()


def test_a_page_above_the_single_query_limit_is_asked_again_smaller() -> None:
    empty = {"orders": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}
    script = Script(_error("MAX_COST_EXCEEDED", requested=1500, available=1000, maximum=20000), _ok(empty))
    page = script.client().fetch_page("orders", updated_since=None, cursor=None, page_size=100)
    firsts = [json.loads(r.content)["variables"]["first"] for r in script.requests]
    assert firsts[0] == 10 and 0 < firsts[1] < 10
    assert page.records == [] and page.next_cursor is None


def _jsonl_stream(lines: list[str], *, fail_after: int | None) -> httpx.SyncByteStream:
    class Stream(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for index, line in enumerate(lines):
                if index == fail_after:
                    raise httpx.ReadError("connection reset")
                yield (line + "\n").encode()

    return Stream()


def test_a_bulk_download_never_sends_the_token_and_resumes_after_a_reset() -> None:
    lines = [json.dumps({"id": f"gid://shopify/Customer/{n}", "numberOfOrders": "1"}) for n in range(5)]
    script = Script(httpx.Response(200, stream=_jsonl_stream(lines, fail_after=3)),
                    httpx.Response(200, stream=_jsonl_stream(lines, fail_after=None)))
    items = list(script.client().iter_bulk("https://storage.example/bulk.jsonl?sig=x", "customers"))
    assert [item.external_id[-1] for _, item in items] == ["0", "1", "2", "3", "4"]
    assert all("X-Shopify-Access-Token" not in r.headers for r in script.requests)
    assert len(script.slept) == 1


def test_a_bulk_download_resumes_with_a_range_request_where_the_host_honours_it() -> None:
    lines = [json.dumps({"id": f"gid://shopify/Customer/{n}", "numberOfOrders": "1"}) for n in range(4)]
    body = "".join(line + "\n" for line in lines).encode()

    def rest(request: httpx.Request) -> httpx.Response:
        start = int(request.headers["Range"].removeprefix("bytes=").removesuffix("-"))
        assert body[start - 1:start] == b"\n"  # resumes right after the last whole line delivered
        return httpx.Response(206, content=body[start:])

    script = Script(httpx.Response(200, stream=_jsonl_stream(lines, fail_after=2)), rest)
    items = list(script.client().iter_bulk("https://storage.example/bulk.jsonl", "customers"))
    assert [item.external_id[-1] for _, item in items] == ["0", "1", "2", "3"]


def test_plain_http_is_refused_except_to_a_loopback_host() -> None:
    with pytest.raises(ValueError, match="https"):
        ShopifyClient(shop_domain="s", access_token=TOKEN, api_base_url="http://staging.example")
    with pytest.raises(ValueError, match="shop domain"):
        ShopifyClient(shop_domain="evil.example/x?", access_token=TOKEN)
    ShopifyClient(shop_domain="s", access_token=TOKEN, api_base_url="http://127.0.0.1:8081").close()
