"""The deterministic advisor: answers a question by keyword intent and simple date phrases, from the same
tools as the model, in the same shape. Every sentence is a template around figure values, so its answers
pass the same number check; when no intent matches it says it does not know (and cites nothing)."""

from __future__ import annotations

import calendar
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

from shared.advice.language.figures import CitedFigure
from shared.advice.language.tools import StoreTools, product_named_in

I_DONT_KNOW = "I don't know — the synced data does not say."
DEFAULT_DAYS = 30

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date


@dataclass(frozen=True)
class OfflineAnswer:
    answer: str
    figures: list[CitedFigure]


def _month(year: int, month: int) -> Period:
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _named_month(q: str, today: date) -> Period | None:
    """"in October", "for oct 2025", "November 2026": the latest such month not after today without a year."""
    pattern = r"\b(?:in|for|during)\s+([a-z]{3,9})\b(?:\s+(\d{4}))?|\b([a-z]{3,9})\s+(\d{4})\b"
    for m in re.finditer(pattern, q):
        word, year_text = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        month = _MONTHS.get(word)
        if month is None:
            continue
        year = int(year_text) if year_text else (today.year if month <= today.month else today.year - 1)
        return _month(year, month)
    return None


def parse_period(question: str, today: date) -> Period:
    """The period a question names; the last 30 days (today included) when it names none."""
    q = question.lower()
    dates = re.findall(r"\d{4}-\d{2}-\d{2}", q)
    if len(dates) >= 2:
        a, b = sorted(date.fromisoformat(d) for d in dates[:2])
        return Period(a, b)
    last_n = re.search(r"\b(?:last|past)\s+(\d{1,3})\s+days?\b", q)
    if last_n:
        return Period(today - timedelta(days=max(int(last_n.group(1)), 1) - 1), today)
    fixed = _fixed_period(q, today)
    return fixed or _named_month(q, today) or Period(today - timedelta(days=DEFAULT_DAYS - 1), today)


def _fixed_period(q: str, today: date) -> Period | None:
    week_start = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    prev_month_end = first - timedelta(days=1)
    table: list[tuple[str, Period]] = [
        ("yesterday", Period(today - timedelta(days=1), today - timedelta(days=1))),
        ("today", Period(today, today)),
        ("last week", Period(week_start - timedelta(days=7), week_start - timedelta(days=1))),
        ("this week", Period(week_start, today)),
        ("last month", _month(prev_month_end.year, prev_month_end.month)),
        ("this month", Period(first, today)),
        ("last year", Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))),
        ("this year", Period(date(today.year, 1, 1), today)),
    ]
    return next((p for phrase, p in table if phrase in q), None)


def _has(q: str, *words: str) -> bool:
    return any(re.search(rf"\b{re.escape(w)}", q) for w in words)


def _by(figures: list[CitedFigure], metric: str) -> CitedFigure | None:
    return next((f for f in figures if f.metric == metric), None)


def _money(f: CitedFigure) -> str:
    return f"{f.value} {f.currency}" if f.currency else f.value


async def _sales(tools: StoreTools, p: Period) -> OfflineAnswer:
    figs = await tools.get_summary(p.date_from, p.date_to)
    net, orders, units = _by(figs, "net_sales"), _by(figs, "orders"), _by(figs, "units_sold")
    assert net and orders and units
    text = (f"From {p.date_from} to {p.date_to}, net sales were {_money(net)} from {orders.value} orders "
            f"({units.value} units).")
    cited = [net, orders, units]
    aov = _by(figs, "aov")
    if aov and orders.value != "0":
        text += f" The average order value was {_money(aov)}."
        cited.append(aov)
    change = _by(figs, "net_sales_change_pct")
    prev = next((f for f in figs if f.metric == "net_sales" and f is not net), None)
    if change and prev:
        trend = "unchanged from" if change.value == "0" else \
            f"{'down' if change.value.startswith('-') else 'up'} {change.value.lstrip('-')} % on"
        text += f" That is {trend} the previous period ({_money(prev)})."
        cited += [change, prev]
    return OfflineAnswer(text, cited)


async def _best_sellers(tools: StoreTools, p: Period) -> OfflineAnswer:
    figs = await tools.get_top_products(p.date_from, p.date_to, 3)
    subjects = tools.ledger.subjects
    parts, cited = [], []
    for net in (f for f in figs if f.metric == "net_sales"):
        title = subjects[net.id]
        units = next((f for f in figs if f.metric == "units_sold" and subjects.get(f.id) == title), None)
        parts.append(f"“{title}” ({_money(net)} net" + (f", {units.value} units)" if units else ")"))
        cited += [net] + ([units] if units else [])
    if not parts:
        return OfflineAnswer(I_DONT_KNOW, [])
    text = f"Best sellers by net sales from {p.date_from} to {p.date_to}: " + "; ".join(parts) + "."
    return OfflineAnswer(text, cited)


async def _stock(tools: StoreTools, product: tuple[uuid.UUID, str]) -> OfflineAnswer:
    product_id, title = product
    figs = await tools.get_product_forecast(product_id, title)
    on_hand, out, reorder = _by(figs, "on_hand"), _by(figs, "stockout_date"), _by(figs, "reorder_quantity")
    demand = _by(figs, "forecast_units")
    if on_hand is None or demand is None:
        return OfflineAnswer(f"“{title}” does not track stock, so the synced data does not say when it runs out.",
                             [])
    text = f"“{title}” has {on_hand.value} units on hand; about {demand.value} units are expected to sell " \
           f"from {demand.period.replace('/', ' to ')}."
    cited = [on_hand, demand]
    text += f" At that rate it runs out on {out.value}." if out else " Stock lasts beyond that period."
    cited += [out] if out else []
    if reorder:
        lead = _by(figs, "lead_time_days")
        text += f" Suggested reorder: {reorder.value} units" + (
            f" (for a {lead.value}-day lead time)." if lead else ".")
        cited += [reorder] + ([lead] if lead else [])
    return OfflineAnswer(text, cited)


async def _customers(tools: StoreTools, p: Period) -> OfflineAnswer:
    figs = await tools.get_summary(p.date_from, p.date_to)
    new, ret = _by(figs, "new_customers"), _by(figs, "returning_customers")
    seg = await tools.get_customer_segments()
    total = _by(seg, "customers")
    assert new and ret and total
    text = (f"From {p.date_from} to {p.date_to}, {new.value} new and {ret.value} returning customers ordered. "
            f"The store has {total.value} customers with an order in all.")
    cited = [new, ret, total]
    champions = _by(seg, "segment_champions_customers")
    at_risk = _by(seg, "segment_at_risk_customers")
    if champions:
        text += f" Champions: {champions.value}."
        cited.append(champions)
    if at_risk:
        text += f" At risk: {at_risk.value}."
        cited.append(at_risk)
    return OfflineAnswer(text, cited)


async def _conversion(tools: StoreTools, p: Period) -> OfflineAnswer:
    figs = await tools.get_funnel(p.date_from, p.date_to)
    rate, sessions, orders = _by(figs, "conversion_rate_pct"), _by(figs, "sessions"), _by(figs, "orders")
    if not (rate and sessions and orders):
        return OfflineAnswer(I_DONT_KNOW + " The store sends no storefront events for that period.", [])
    text = (f"From {p.date_from} to {p.date_to}, {sessions.value} sessions led to {orders.value} orders: "
            f"a conversion rate of {rate.value} %.")
    return OfflineAnswer(text, [rate, sessions, orders])


Handler = Callable[[], Awaitable[OfflineAnswer]]


async def answer_offline(tools: StoreTools, question: str, today: date) -> OfflineAnswer:
    """Match an intent (conversion, stock of a named product, best sellers, customers, sales) and answer it."""
    q = question.lower()
    p = parse_period(question, today)
    if _has(q, "conversion", "convert", "funnel", "session"):
        return await _conversion(tools, p)
    if _has(q, "stock", "reorder", "restock", "run out", "runs out", "sell out", "inventory", "out of"):
        product = await product_named_in(tools.conn, tools.store_id, question)
        return await _stock(tools, product) if product else OfflineAnswer(I_DONT_KNOW, [])
    if _has(q, "best sell", "best-sell", "bestsell", "top product", "top seller", "top-selling", "sells best",
            "most sold", "most popular", "best product"):
        return await _best_sellers(tools, p)
    if _has(q, "customer", "repeat", "returning", "loyal", "churn", "segment"):
        return await _customers(tools, p)
    if _has(q, "sales", "revenue", "sold", "turnover", "orders", "earn", "made", "income", "how much", "aov"):
        return await _sales(tools, p)
    return OfflineAnswer(I_DONT_KNOW, [])
