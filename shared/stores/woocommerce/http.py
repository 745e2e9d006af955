"""HTTP under the WooCommerce client: where the API lives, auth, bounded retries, Woo's error shape.

Credentials never reach a log line or an exception message: Basic auth travels in a header
httpx does not log, and the query-string fallback is added by a transport *below* httpx's
request logging (its INFO line prints the full URL), so even that line shows no secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from shared.stores.platform import InvalidCredentials, PlatformError, PlatformUnavailable, ThrottleReport
from shared.stores.urls import is_loopback

log = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3/"
Params = Mapping[str, str | int]
# Network failures worth another try; UnsupportedProtocol, LocalProtocolError and the like are our bugs.
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class WooNotFound(PlatformError):
    """404 from WooCommerce: no such route (`rest_no_route`) or no such resource (`…_invalid_id`)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying one request. Woo has no quota headers: its host, CDN or WAF is
    the limit, and answers 429/503 (maybe with Retry-After) or drops connections (reference §7, §11)."""

    retries: int = 4  # after the first attempt (5 attempts in all)
    base_delay: float = 1.0  # the first wait; doubled each retry, with jitter
    max_delay: float = 30.0  # longest single wait; a longer Retry-After gives up at once
    budget: float = 120.0  # total seconds one request may spend waiting before PlatformUnavailable


def api_root(base_url: str, api_base_url: str | None) -> httpx.URL:
    """`…/wp-json/wc/v3/` on the store (or the override), refusing plain http except to loopback.

    Basic auth over http hands the keys to anyone on the path (real Woo even refuses it there and
    wants OAuth 1.0a, reference §2). The rule is about the wire, so it is the same for `base_url` and
    the `api_base_url` override, and the same as the connect endpoint's: http only to a loopback
    host (tests, the local fake), which never leaves the machine.
    """
    url = httpx.URL(api_base_url or base_url)
    if url.scheme != "https" and not (url.scheme == "http" and is_loopback(url.host)):
        raise ValueError(f"WooCommerce needs an https URL (got {url.scheme}://{url.host}); "
                         "plain http is allowed only to a loopback host")
    path = url.path.rstrip("/")
    if not path.endswith(API_PATH.rstrip("/")):
        path += API_PATH.rstrip("/")
    return url.copy_with(path=path + "/", query=None, fragment=None)



class _QueryStringAuth(httpx.BaseTransport):
    """Adds consumer_key/consumer_secret to the URL on its way out, for hosts that strip Authorization."""

    def __init__(self, inner: httpx.BaseTransport, key: str, secret: str) -> None:
        self._inner, self._key, self._secret = inner, key, secret

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_merge_params({"consumer_key": self._key, "consumer_secret": self._secret})
        signed = httpx.Request(request.method, url, headers=request.headers, stream=request.stream,
                               extensions=request.extensions)
        return self._inner.handle_request(signed)

    def close(self) -> None:
        self._inner.close()


@dataclass(frozen=True, slots=True)
class Reply:
    data: Any  # the parsed JSON body
    headers: httpx.Headers


@dataclass(frozen=True, slots=True)
class _Transient:
    reason: str
    retry_after: float | None = None


class WooHttp:
    """GETs (and POSTs) JSON on the API root; retries GETs that may pass, maps what will not to the port's errors."""

    def __init__(self, *, root: httpx.URL, consumer_key: str, consumer_secret: str, query_string_auth: bool,
                 timeout: float, policy: RetryPolicy, throttle: ThrottleReport, sleep: Callable[[float], None],
                 clock: Callable[[], float], jitter: Callable[[], float],
                 transport: httpx.BaseTransport | None = None) -> None:
        inner = transport or httpx.HTTPTransport()
        self._query_auth = query_string_auth
        self._client = httpx.Client(
            base_url=root,
            auth=None if query_string_auth else httpx.BasicAuth(consumer_key, consumer_secret),
            transport=_QueryStringAuth(inner, consumer_key, consumer_secret) if query_string_auth else inner,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # Some WAFs block library user agents outright; say who we are instead.
            headers={"User-Agent": "retail-ai-advisor-sync/1.0", "Accept": "application/json"},
            follow_redirects=False,
        )
        self._policy, self._throttle = policy, throttle
        self._sleep, self._clock, self._jitter = sleep, clock, jitter

    def get(self, path: str, params: Params | None = None) -> Reply:
        """GET `path` (relative to the API root, or an absolute URL on the same store) as JSON."""
        started = self._clock()
        attempt = 0
        while True:
            outcome = self._attempt(path, params)
            if isinstance(outcome, Reply):
                return outcome
            delay = self._delay(attempt, outcome.retry_after)
            if attempt >= self._policy.retries or delay is None or \
                    self._clock() - started + delay > self._policy.budget:
                raise PlatformUnavailable(f"WooCommerce {path}: {outcome.reason} (gave up after {attempt + 1} "
                                          "attempts)")
            log.warning("woocommerce GET %s failed (%s); retry %d in %.1fs", path, outcome.reason, attempt + 1, delay)
            self._sleep(delay)
            self._throttle.waits += 1
            self._throttle.waited_seconds += delay
            attempt += 1

    def post(self, path: str, body: Mapping[str, Any]) -> Reply:
        """POST JSON once: a write is not retried (a lost answer may have created the resource)."""
        outcome = self._attempt(path, None, method="POST", body=body)
        if isinstance(outcome, _Transient):
            raise PlatformUnavailable(f"WooCommerce POST {path}: {outcome.reason}")
        return outcome

    def delete(self, path: str, params: Params | None = None) -> Reply:
        """DELETE once: the caller decides what a failure means (a retried delete may meet a 404)."""
        outcome = self._attempt(path, params, method="DELETE")
        if isinstance(outcome, _Transient):
            raise PlatformUnavailable(f"WooCommerce DELETE {path}: {outcome.reason}")
        return outcome

    def close(self) -> None:
        self._client.close()

    def _attempt(self, path: str, params: Params | None, *, method: str = "GET",
                 body: Mapping[str, Any] | None = None) -> Reply | _Transient:
        try:
            if method == "GET":
                response = self._client.get(path, params=params)
            else:
                response = self._client.request(method, path, params=params,
                                                json=dict(body) if body is not None else None)
        except _TRANSIENT_ERRORS as exc:
            return _Transient(type(exc).__name__)
        status = response.status_code
        if status == 429:
            self._throttle.rejected += 1
            return _Transient("429 too many requests", _retry_after(response))
        if status >= 500:  # incl. ModSecurity's 501 and hosts' 503 maintenance pages (reference §6)
            return _Transient(f"{status} {_describe(response)}", _retry_after(response))
        if status in (401, 403):
            raise InvalidCredentials(f"WooCommerce refused the API keys ({status} {_describe(response)})"
                                     f"{self._auth_hint(response)}")
        if 300 <= status < 400:
            moved = httpx.URL(response.headers.get("location", "")).copy_with(query=None)
            raise PlatformError(f"WooCommerce {path}: redirected ({status}) to {moved}; connect with that URL")
        if status == 404:
            raise WooNotFound(f"WooCommerce {path}: {status} {_describe(response)}", _code(response))
        if status >= 400:
            raise PlatformError(f"WooCommerce {path}: {status} {_describe(response)}")
        try:
            return Reply(response.json(), response.headers)
        except ValueError:
            # A 200 HTML page is a WAF challenge or a maintenance screen, not an answer (reference §6).
            return _Transient(f"{status} with a non-JSON body ({response.headers.get('content-type', '?')})")

    def _auth_hint(self, response: httpx.Response) -> str:
        if not self._query_auth and "consumer key is missing" in _describe(response).lower():
            return "; the host seems to strip the Authorization header: use the query-string fallback"
        return ""

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Exponential backoff with equal jitter; a Retry-After is a floor, and beyond max_delay a give-up."""
        policy = self._policy
        backoff = min(policy.max_delay, policy.base_delay * 2.0**attempt) * (0.5 + 0.5 * self._jitter())
        if retry_after is None:
            return backoff
        return None if retry_after > policy.max_delay else max(retry_after, backoff)


def _describe(response: httpx.Response) -> str:
    """Woo's error shape {"code","message","data":{"status"}} in one short line; never the body of a page."""
    try:
        body = response.json()
    except ValueError:
        return f"({response.headers.get('content-type', 'no content type')})"
    if isinstance(body, Mapping) and body.get("code"):
        return f"{body['code']}: {str(body.get('message', ''))[:200]}"
    return "(unexpected error body)"


def _code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code") or "") if isinstance(body, Mapping) else ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
