"""HTTP under the Shopify client: one GraphQL POST with pacing, bounded retries and the port's errors.

The access token travels only in the `X-Shopify-Access-Token` header of API calls, never as a client
default: bulk result URLs are signed storage URLs that must not receive it. httpx logs URLs, never
headers, and no message here includes a header or a request body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shared.stores.platform import InvalidCredentials, PlatformError, PlatformUnavailable, ThrottleReport
from shared.stores.shopify.pacing import HEADROOM_POINTS, PacingState

log = logging.getLogger(__name__)

# Network failures worth another try; UnsupportedProtocol, LocalProtocolError and the like are our bugs.
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long one request keeps trying before the client gives up with PlatformUnavailable."""

    attempts: int = 5  # tries of one request through 5xx, resets and timeouts before PlatformUnavailable
    base_delay: float = 0.5  # first backoff; doubled each retry, with jitter
    max_delay: float = 60.0  # longest single wait (reference §11: cap about 60 s)
    throttled_attempts: int = 20  # THROTTLED/429 answers in a row before PlatformUnavailable


class QueryCostTooHigh(PlatformError):
    """MAX_COST_EXCEEDED: the query is above the single-query limit; a smaller page may pass."""

    def __init__(self, message: str, cost: float | None, limit: float | None) -> None:
        super().__init__(message)
        self.cost, self.limit = cost, limit


class _Transient(Exception):
    """Worth a retry with backoff."""


class _Throttled(Exception):
    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.delay = delay


class ShopifyHttp:
    """GraphQL calls to one shop's endpoint and downloads of its bulk files; one per client."""

    def __init__(self, *, endpoint: str, access_token: str, timeout: float, policy: RetryPolicy,
                 throttle: ThrottleReport, pacing: PacingState, page_cost_share: float, sleep: Callable[[float], None],
                 clock: Callable[[], float], jitter: Callable[[], float],
                 transport: httpx.BaseTransport | None = None) -> None:
        self._endpoint, self._token = endpoint, access_token
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": "retail-ai-advisor-sync/1.0", "Accept": "application/json"},
        )
        self._policy, self._throttle, self._pacing, self._share = policy, throttle, pacing, page_cost_share
        self._sleep, self._clock, self._jitter = sleep, clock, jitter

    def __repr__(self) -> str:  # never the token
        return f"ShopifyHttp({self._endpoint!r})"

    def close(self) -> None:
        self._client.close()

    def execute(self, query: str, variables: Mapping[str, Any], *, cost_key: str, first: int = 1) -> dict[str, Any]:
        """`data` of one GraphQL call, paced before it and retried through throttling and transient failures."""
        failures = throttled = 0
        refilled = False  # just slept what a THROTTLED answer said was missing: no second wait
        while True:
            if not refilled:
                self._pace(cost_key, first)
            refilled = False
            try:
                return self._attempt(query, variables, cost_key, first)
            except _Throttled as exc:
                throttled += 1
                if throttled > self._policy.throttled_attempts:
                    raise PlatformUnavailable(f"Shopify kept throttling ({exc})") from None
                self._wait(min(exc.delay, self._policy.max_delay), rejected=True)
                refilled = True
            except _Transient as exc:
                failures += 1
                if failures >= self._policy.attempts:
                    raise PlatformUnavailable(f"Shopify failed {failures} times: {exc}") from None
                delay = self.backoff(failures)
                log.warning("shopify %s failed (%s); retry %d in %.1fs", cost_key, exc, failures, delay)
                self._sleep(delay)

    def stream_lines(self, url: str) -> Iterator[str]:
        """Lines of a bulk result file, streamed in flat memory.

        A dropped download resumes where it broke: with a Range request where the host honours it
        (signed storage URLs do), else by reading again and skipping what was delivered. It matters
        because the consumer pauses between lines (refund reads, database writes) and storage hosts
        drop idle downloads.
        """
        offset = failures = 0
        failed_at = -1
        while True:
            try:
                for line, end in self._download(url, offset):
                    offset = end
                    yield line
                return
            except _Transient as exc:
                failures = 1 if offset > failed_at else failures + 1  # progress since: a fresh problem
                failed_at = offset
                if failures >= self._policy.attempts:
                    raise PlatformUnavailable(f"bulk download failed {failures} times: {exc}") from None
                self._sleep(self.backoff(failures))

    def backoff(self, failures: int) -> float:
        """Exponential with equal jitter, so retries of many workers do not land together."""
        ceiling = min(self._policy.max_delay, self._policy.base_delay * 2.0 ** (failures - 1))
        return ceiling * (0.5 + 0.5 * self._jitter())

    def wait_for_platform(self, seconds: float) -> None:
        """A wait the platform asked for outside the cost bucket (a busy bulk slot): counted like pacing."""
        self._wait(seconds, rejected=False)

    def _pace(self, cost_key: str, first: int) -> None:
        wait = self._pacing.seconds_until(self._pacing.estimate(cost_key, first, self._share), self._clock())
        if wait > 0:
            self._wait(wait, rejected=False)

    def _wait(self, seconds: float, *, rejected: bool) -> None:
        self._throttle.waits += 1
        self._throttle.waited_seconds += seconds
        self._throttle.rejected += int(rejected)
        self._sleep(seconds)

    def _attempt(self, query: str, variables: Mapping[str, Any], cost_key: str, first: int) -> dict[str, Any]:
        try:
            response = self._client.post(self._endpoint, json={"query": query, "variables": dict(variables)},
                                         headers={"X-Shopify-Access-Token": self._token})
            body = _json_body(response)
        except _TRANSIENT_ERRORS as exc:
            raise _Transient(type(exc).__name__) from None
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body, dict) else None
        if isinstance(cost, dict):
            self._observe(cost, cost_key, first)
        _check_status(response, body, cost)
        if not isinstance(body, dict):
            raise PlatformError(f"Shopify answered {response.status_code} with an unexpected body")
        if body.get("errors"):
            _raise_for_errors(body["errors"], cost)
        for warning in (body.get("extensions") or {}).get("search") or ():
            log.warning("shopify ignored part of a search query: %s", warning)
        data = body.get("data")
        if not isinstance(data, dict):
            raise PlatformError("Shopify answered without data")
        return data

    def _observe(self, cost: Mapping[str, Any], cost_key: str, first: int) -> None:
        status = cost.get("throttleStatus")
        if isinstance(status, Mapping):
            self._pacing.observe(status, self._clock())
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._pacing.record(cost_key, first, float(requested))

    def _download(self, url: str, offset: int) -> Iterator[tuple[str, int]]:
        """(line, byte offset just after it) from `offset` on."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with self._client.stream("GET", url, headers=headers, follow_redirects=True,
                                     timeout=httpx.Timeout(60.0, connect=10.0)) as response:
                if response.status_code == 416:  # nothing after `offset`: the file was complete
                    return
                if response.status_code >= 500:
                    raise _Transient(f"{response.status_code} from the bulk file host")
                if response.status_code >= 400:
                    raise PlatformError(f"bulk file unavailable ({response.status_code}; URLs expire after 7 days)")
                position = offset if response.status_code == 206 else 0
                pending = b""
                for chunk in response.iter_bytes():
                    *complete, pending = (pending + chunk).split(b"\n")
                    for raw in complete:
                        position += len(raw) + 1
                        if position > offset and raw.strip():
                            yield raw.decode().strip(), position
                if pending.strip() and position + len(pending) > offset:
                    yield pending.decode().strip(), position + len(pending)
        except _TRANSIENT_ERRORS as exc:
            raise _Transient(type(exc).__name__) from None


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _check_status(response: httpx.Response, body: Any, cost: Any) -> None:
    status = response.status_code
    if status in (401, 403):
        raise InvalidCredentials(f"Shopify refused the access token ({status})")
    if status == 429:
        raise _Throttled("429 Too Many Requests", _retry_after(response) or _refill_delay(cost))
    if status >= 500 or (status == 200 and body is None):
        # A 200 without JSON is a proxy's page or a cut-off body: the next try usually passes.
        raise _Transient(f"{status} from Shopify")
    if status == 404:
        raise PlatformError("Shopify answered 404: wrong shop domain or unsupported API version")
    if status in (402, 423):
        raise PlatformUnavailable(f"the shop is frozen or locked ({status})")
    if status >= 400:
        raise PlatformError(f"Shopify answered {status}")


def _raise_for_errors(errors: Any, cost: Any) -> None:
    raw = errors if isinstance(errors, list) else [errors]
    listed: list[dict[str, Any]] = [e if isinstance(e, dict) else {"message": str(e)} for e in raw]
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in listed}
    messages = "; ".join(str(e.get("message", ""))[:200] for e in listed)
    if "THROTTLED" in codes:
        _raise_throttled(cost)
    if "INTERNAL_SERVER_ERROR" in codes:
        raise _Transient("INTERNAL_SERVER_ERROR")
    if "ACCESS_DENIED" in codes:
        raise InvalidCredentials(f"Shopify denied access (missing scope?): {messages}")
    if "MAX_COST_EXCEEDED" in codes:
        # Cost and limit ride in the error's own extensions; the response's cost block may be missing.
        details = [e["extensions"] for e in listed if isinstance(e.get("extensions"), dict)]
        requested = cost.get("requestedQueryCost") if isinstance(cost, dict) else None
        costs = [c for c in (requested, *(d.get("cost") for d in details)) if isinstance(c, int | float)]
        limits = [m for m in (d.get("maxCost") for d in details) if isinstance(m, int | float)]
        raise QueryCostTooHigh(messages, float(costs[0]) if costs else None, float(limits[0]) if limits else None)
    raise PlatformError(f"Shopify GraphQL errors: {messages or codes}")


def _raise_throttled(cost: Any) -> None:
    status = cost.get("throttleStatus") if isinstance(cost, dict) else None
    requested = cost.get("requestedQueryCost") if isinstance(cost, dict) else None
    if isinstance(status, dict) and isinstance(requested, int | float):
        maximum = float(status.get("maximumAvailable") or 0)
        if maximum and requested > maximum:
            raise PlatformError(f"query cost {requested} can never fit the bucket ({maximum:g} points)")
    raise _Throttled("THROTTLED", _refill_delay(cost))


def _refill_delay(cost: Any) -> float:
    """(requestedQueryCost - currentlyAvailable) / restoreRate, at least 1 s (reference §4).

    Plus one point, as in pacing: the bucket reports whole points and two clocks never agree exactly.
    """
    try:
        status = cost["throttleStatus"]
        needed = float(cost["requestedQueryCost"]) + HEADROOM_POINTS - float(status["currentlyAvailable"])
        return max(1.0, needed / float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return 1.0


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(1.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None
