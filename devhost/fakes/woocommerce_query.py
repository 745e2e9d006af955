"""Collection parameters of the WooCommerce fake: validation, filters, sorting (reference §3 and §4).

Invalid parameters fail like WordPress does (400 `rest_invalid_param` with per-parameter
details), not like FastAPI (422), so a client's error handling meets the real shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

MAX_PER_PAGE = 100
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                  "checkout-draft", "trash")
PRODUCT_STATUSES = ("draft", "pending", "private", "publish", "future", "trash")


class WooParamError(Exception):
    """One or more invalid parameters: name -> (error code, message)."""

    def __init__(self, problems: dict[str, tuple[str, str]]) -> None:
        super().__init__(", ".join(problems))
        self.problems = problems

    def body(self) -> dict[str, Any]:
        return {
            "code": "rest_invalid_param",
            "message": f"Invalid parameter(s): {', '.join(self.problems)}",
            "data": {
                "status": 400,
                "params": {name: message for name, (_, message) in self.problems.items()},
                "details": {name: {"code": code, "message": message, "data": None}
                            for name, (code, message) in self.problems.items()},
            },
        }


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    orderby: tuple[str, ...]
    default_orderby: str
    default_order: str = "desc"
    dated: bool = True  # accepts after/before/modified_after/modified_before/dates_are_gmt
    statuses: tuple[str, ...] = ()  # empty: no status filter


ORDERS = CollectionSpec(("date", "id", "include", "title", "slug", "modified"), "date", statuses=ORDER_STATUSES)
PRODUCTS = CollectionSpec(("date", "id", "include", "title", "slug", "modified", "price", "popularity", "rating"),
                          "date", statuses=PRODUCT_STATUSES)
VARIATIONS = CollectionSpec(("date", "id", "include", "title", "slug", "modified"), "date", statuses=PRODUCT_STATUSES)
REFUNDS = CollectionSpec(("date", "id", "include", "title", "slug", "modified"), "date")
CUSTOMERS = CollectionSpec(("id", "include", "name", "registered_date"), "name", default_order="asc", dated=False)


@dataclass(frozen=True, slots=True)
class ListParams:
    page: int
    per_page: int
    offset: int | None
    order: str
    orderby: str
    after: datetime | None = None
    before: datetime | None = None
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    status: tuple[str, ...] = ()  # empty: "any" (everything but trash)
    role: str = "customer"
    customer: int | None = None
    search: str | None = None
    fields: tuple[str, ...] = ()

    def filter_key(self) -> tuple[Any, ...]:
        """Everything but the page window: listings are cached by it."""
        return (self.order, self.orderby, self.after, self.before, self.modified_after, self.modified_before,
                self.include, self.exclude, self.status, self.role, self.customer, self.search)


def parse_list_params(query: Mapping[str, str], spec: CollectionSpec, zone: ZoneInfo) -> ListParams:
    problems: dict[str, tuple[str, str]] = {}
    reader = _Reader(query, problems)
    page = reader.integer("page", 1, minimum=1)
    per_page = reader.integer("per_page", 10, minimum=1, maximum=MAX_PER_PAGE)
    offset = reader.integer("offset", None, minimum=0)
    order = reader.choice("order", ("asc", "desc"), spec.default_order)
    orderby = reader.choice("orderby", spec.orderby, spec.default_orderby)
    gmt = reader.boolean("dates_are_gmt", default=False)
    dates = {name: reader.date(name, UTC if gmt else zone) if spec.dated else None
             for name in ("after", "before", "modified_after", "modified_before")}
    status = reader.statuses(spec.statuses) if spec.statuses else ()
    params = ListParams(
        page=page or 1, per_page=per_page or 10, offset=offset, order=order, orderby=orderby, **dates,
        include=reader.ids("include"), exclude=reader.ids("exclude"), status=status,
        role=query.get("role", "customer"), customer=reader.integer("customer", None, minimum=0),
        search=query.get("search") or None,
        fields=tuple(f.strip() for f in query.get("_fields", "").split(",") if f.strip()),
    )
    if problems:
        raise WooParamError(problems)
    return params


class _Reader:
    def __init__(self, query: Mapping[str, str], problems: dict[str, tuple[str, str]]) -> None:
        self._query, self._problems = query, problems

    def integer(self, name: str, default: int | None, *, minimum: int, maximum: int | None = None) -> int | None:
        raw = self._query.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"-?\d+", raw):
            self._problems[name] = ("rest_invalid_type", f"{name} is not of type integer.")
            return default
        value = int(raw)
        if maximum is not None and not minimum <= value <= maximum:
            message = f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)"
            self._problems[name] = ("rest_out_of_bounds", message)
        elif value < minimum:
            self._problems[name] = ("rest_out_of_bounds", f"{name} must be greater than or equal to {minimum}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        raw = self._query.get(name) or default
        if raw not in allowed:
            self._problems[name] = ("rest_not_in_enum", f"{name} is not one of {', '.join(allowed)}.")
            return default
        return raw

    def boolean(self, name: str, *, default: bool) -> bool:
        raw = self._query.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        self._problems[name] = ("rest_invalid_type", f"{name} is not of type boolean.")
        return default

    def date(self, name: str, naive_zone: ZoneInfo | Any) -> datetime | None:
        raw = self._query.get(name)
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            self._problems[name] = ("rest_invalid_date", "Invalid date.")
            return None
        # No offset: site time unless dates_are_gmt (reference §4).
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=naive_zone)

    def ids(self, name: str) -> tuple[int, ...]:
        raw = self._query.get(name, "")
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            self._problems[name] = ("rest_invalid_type", f"{name}[0] is not of type integer.")
            return ()
        return tuple(int(p) for p in parts)

    def statuses(self, allowed: tuple[str, ...]) -> tuple[str, ...]:
        parts = tuple(p.strip() for p in self._query.get("status", "any").split(",") if p.strip())
        if parts in ((), ("any",)):
            return ()
        bad = [p for p in parts if p not in allowed]
        if bad:
            self._problems["status"] = ("rest_not_in_enum", f"status[0] is not one of any, {', '.join(allowed)}.")
            return ()
        return parts


@dataclass(frozen=True, slots=True)
class Adapter:
    """How to read one kind of item for filtering and sorting."""

    woo_id: Callable[[Any], int]
    created: Callable[[Any], datetime]
    modified: Callable[[Any], datetime]
    status: Callable[[Any], str] = lambda item: "publish"
    sort_values: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    customer: Callable[[Any], int] = lambda item: 0
    text: Callable[[Any], str] = lambda item: ""


def select(items: list[Any], params: ListParams, adapter: Adapter) -> list[Any]:
    """Filter and sort like core: `any` hides trash; date filters are strict; ties break on id."""
    def keep(item: Any) -> bool:
        status = adapter.status(item)
        if params.status and status not in params.status:
            return False
        if not params.status and status == "trash":
            return False
        if params.include and adapter.woo_id(item) not in params.include:
            return False
        if params.exclude and adapter.woo_id(item) in params.exclude:
            return False
        if params.customer is not None and adapter.customer(item) != params.customer:
            return False
        if params.search and params.search.lower() not in adapter.text(item).lower():
            return False
        return _in_window(adapter.created(item), params.after, params.before) and _in_window(
            adapter.modified(item), params.modified_after, params.modified_before)

    chosen = [item for item in items if keep(item)]
    value = adapter.sort_values.get(params.orderby, adapter.woo_id)
    if params.orderby == "include" and params.include:
        value = _include_position(params.include, adapter)
    chosen.sort(key=lambda item: (value(item), adapter.woo_id(item)), reverse=params.order == "desc")
    return chosen


def _include_position(include: tuple[int, ...], adapter: Adapter) -> Callable[[Any], int]:
    return lambda item: include.index(adapter.woo_id(item))


def _in_window(moment: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or moment > after) and (before is None or moment < before)
