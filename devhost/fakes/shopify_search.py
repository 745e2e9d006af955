"""Shopify search syntax (`query:` argument) for the fake: `field:value` terms joined by AND.

Supported: comparators `:` `:>` `:>=` `:<` `:<=`; quoted values; the fields in `_FIELDS`.
Like Shopify, an unknown field (or an unparseable value) does not fail the request: the term is
ignored and a warning is returned for `extensions.search`. An unquoted timestamp (with a time
part) is one of those: the reference says date values must be quoted, and silently matching
everything is exactly the failure a careless client should see in tests.
`OR`, `NOT`, `-field:` and free-text terms are not supported (warned and ignored).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

Predicate = Callable[[Any], bool]

_TERM = re.compile(r"""(?P<field>[A-Za-z_]+):(?P<op>>=|<=|>|<)?(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<raw>\S+))""")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class SearchWarning:
    field: str
    message: str


def _dates(attr: str) -> Callable[[Any], datetime]:
    return operator.attrgetter(attr)


_DATE_FIELDS: dict[str, dict[str, Callable[[Any], datetime]]] = {
    "orders": {"created_at": _dates("created_at"), "updated_at": _dates("updated_at"),
               "processed_at": _dates("processed_at")},
    "products": {"created_at": _dates("created_at"), "updated_at": _dates("updated_at")},
    "customers": {"created_at": _dates("created_at"), "updated_at": _dates("updated_at")},
}
_TEXT_FIELDS: dict[str, dict[str, Callable[[Any], str]]] = {
    "orders": {},
    "products": {"status": lambda p: str(p.status), "product_type": lambda p: p.product_type,
                 "vendor": lambda p: p.vendor},
    "customers": {},
}


def parse_search(
    resource: str, text: str | None, zone: ZoneInfo, legacy_id: Callable[[Any], int]
) -> tuple[list[Predicate], list[SearchWarning]]:
    """Predicates for the supported terms of `text`, and warnings for the rest."""
    predicates: list[Predicate] = []
    warnings: list[SearchWarning] = []
    if not text:
        return predicates, warnings
    rest = _TERM.sub(" ", text)
    for word in rest.split():
        if word.upper() != "AND":
            warnings.append(SearchWarning(word, "Unsupported search syntax: ignored by the fake."))
    for match in _TERM.finditer(text):
        field, op = match["field"].lower(), match["op"] or ""
        quoted = match["raw"] is None
        value = match["dq"] if match["dq"] is not None else match["sq"] if match["sq"] is not None else match["raw"]
        predicate = _predicate(resource, field, op, value, quoted, zone, legacy_id)
        if isinstance(predicate, SearchWarning):
            warnings.append(predicate)
        else:
            predicates.append(predicate)
    return predicates, warnings


def _predicate(
    resource: str, field: str, op: str, value: str, quoted: bool, zone: ZoneInfo,
    legacy_id: Callable[[Any], int],
) -> Predicate | SearchWarning:
    compare = _OPS[op]
    if field in _DATE_FIELDS[resource]:
        if not quoted and ":" in value:
            return SearchWarning(field, "Invalid date: timestamps must be quoted.")
        moment = _parse_moment(value, zone)
        if moment is None:
            return SearchWarning(field, f"Invalid date: {value!r}.")
        getter = _DATE_FIELDS[resource][field]
        return lambda item: compare(getter(item), moment)
    if field == "id" and value.isdigit():
        wanted = int(value)
        return lambda item: compare(legacy_id(item), wanted)
    if field == "test" and resource == "orders" and value.lower() in ("true", "false"):
        flag = value.lower() == "true"
        return lambda item: bool(item.test) is flag
    if field in _TEXT_FIELDS[resource] and op == "":
        allowed = {v.strip().lower() for v in value.split(",")}
        text_of = _TEXT_FIELDS[resource][field]
        return lambda item: text_of(item).lower() in allowed
    return SearchWarning(field, "Invalid search field for this query.")


def _parse_moment(value: str, zone: ZoneInfo) -> datetime | None:
    """ISO timestamp (Z or offset; naive means the shop's zone) or a date (midnight, shop's zone)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=zone)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
