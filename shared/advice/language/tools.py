"""The advisor's tools: what a model (or the offline answerer) may ask about one store. Each maps to an
analytics service call for the store the server bound — a tool never takes a store id — and records the
figures it returns in a ledger, under ids ("f1", "f2", ...) that answers cite."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, Field, ValidationError

from shared.advice.evidence import Figure
from shared.advice.language import figures as F
from shared.advice.language.figures import CitedFigure
from shared.analytics import customers, forecast, funnel, products, summary
from shared.errors import DomainError

MAX_TOP_PRODUCTS = 10


class GetSummary(BaseModel):
    """Sales of the store for a period (inclusive shop-local days) beside the previous period of equal
    length: net, gross and total sales, orders, units, average order value, new and returning customers."""

    date_from: str = Field(description="first day, YYYY-MM-DD")
    date_to: str = Field(description="last day, YYYY-MM-DD")


class GetTopProducts(BaseModel):
    """The store's best-selling products of a period by net sales, with units sold, stock and days of
    inventory."""

    date_from: str = Field(description="first day, YYYY-MM-DD")
    date_to: str = Field(description="last day, YYYY-MM-DD")
    limit: int = Field(description=f"how many products, 1..{MAX_TOP_PRODUCTS}")


class GetProductForecast(BaseModel):
    """A product's demand forecast for the next 30 days: expected units, stock on hand, the day it runs out
    and how many units to reorder."""

    product: str = Field(description="the product's id, or its title as the merchant wrote it")


class GetCustomerSegments(BaseModel):
    """The store's customers today by RFM segment (champions, loyal, at risk, lost, ...)."""


class GetFunnel(BaseModel):
    """Storefront sessions, funnel steps and conversion rate (orders ÷ sessions) for a period; empty when the
    store sends no storefront events."""

    date_from: str = Field(description="first day, YYYY-MM-DD")
    date_to: str = Field(description="last day, YYYY-MM-DD")


TOOL_MODELS: dict[str, type[BaseModel]] = {
    "get_summary": GetSummary, "get_top_products": GetTopProducts, "get_product_forecast": GetProductForecast,
    "get_customer_segments": GetCustomerSegments, "get_funnel": GetFunnel,
}


def tool_definitions() -> list[dict[str, Any]]:
    """Chat Completions `tools`: strict function schemas from the argument models."""
    from openai import pydantic_function_tool

    return [dict(pydantic_function_tool(model, name=name)) for name, model in TOOL_MODELS.items()]


@dataclass
class FigureLedger:
    """Every figure a request's tools produced, by id: what an answer may cite."""

    figures: dict[str, CitedFigure] = field(default_factory=dict)
    # The product a figure is about, by figure id: names an answer may quote (see numbers.untraceable_numbers).
    subjects: dict[str, str] = field(default_factory=dict)

    def add(self, figures: list[Figure], subjects: list[str | None] | None = None) -> list[CitedFigure]:
        cited = []
        for i, f in enumerate(figures):
            c = CitedFigure(id=f"f{len(self.figures) + 1}", **f.model_dump())
            self.figures[c.id] = c
            subject = subjects[i] if subjects else None
            if subject:
                self.subjects[c.id] = subject
            cited.append(c)
        return cited

    def names(self) -> list[str]:
        return sorted(set(self.subjects.values()))


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ToolError(f"{name} must be a date as YYYY-MM-DD") from None


class ToolError(Exception):
    """A call the tool cannot answer; its message goes back to the model."""


_FIND_PRODUCT = """
select id, title from products
where store_id = %(store)s and deleted_at is null
  and (id::text = %(q)s or lower(title) = lower(%(q)s) or title ilike '%%' || %(q)s || '%%')
order by (id::text = %(q)s) desc, (lower(title) = lower(%(q)s)) desc, length(title), id limit 1
"""

_NAMED_IN = """
select id, title from products
where store_id = %(store)s and deleted_at is null and length(title) >= 3
  and position(lower(title) in lower(%(text)s)) > 0
order by length(title) desc, id limit 1
"""


async def find_product(conn: AsyncConnection[DictRow], store_id: uuid.UUID, query: str) -> tuple[uuid.UUID, str]:
    cur = await conn.execute(_FIND_PRODUCT, {"store": store_id, "q": query.strip()[:200]})
    row = await cur.fetchone()
    if row is None:
        raise ToolError("no product of this store matches")
    return row["id"], row["title"]


async def product_named_in(conn: AsyncConnection[DictRow], store_id: uuid.UUID,
                           text: str) -> tuple[uuid.UUID, str] | None:
    """The product whose full title the text contains (the longest such title)."""
    cur = await conn.execute(_NAMED_IN, {"store": store_id, "text": text})
    row = await cur.fetchone()
    return (row["id"], row["title"]) if row else None


class StoreTools:
    """The tools, bound to one store and the caller's RLS-scoped connection."""

    def __init__(self, conn: AsyncConnection[DictRow], store_id: uuid.UUID, ledger: FigureLedger) -> None:
        self.conn = conn
        self.store_id = store_id
        self.ledger = ledger

    async def get_summary(self, date_from: date, date_to: date) -> list[CitedFigure]:
        s = await summary.summary(self.conn, store_id=self.store_id, date_from=date_from, date_to=date_to)
        return self.ledger.add(F.summary_figures(s))

    async def get_top_products(self, date_from: date, date_to: date, limit: int) -> list[CitedFigure]:
        page = await products.product_metrics(self.conn, store_id=self.store_id, date_from=date_from,
                                              date_to=date_to, limit=max(1, min(limit, MAX_TOP_PRODUCTS)),
                                              cursor=None)
        page.items = [i for i in page.items if i.units_sold > 0 or i.net_sales.amount != "0.00"]
        figures, titles = F.product_figures(page)
        return self.ledger.add(figures, titles)

    async def get_product_forecast(self, product_id: uuid.UUID, title: str) -> list[CitedFigure]:
        fc = await forecast.forecast(self.conn, product_id, 30)
        figures = F.forecast_figures(fc, title)
        return self.ledger.add(figures, [title] * len(figures))

    async def get_customer_segments(self) -> list[CitedFigure]:
        c = await customers.customer_analytics(self.conn, store_id=self.store_id, cohort_months=1)
        return self.ledger.add(F.segment_figures(c))

    async def get_funnel(self, date_from: date, date_to: date) -> list[CitedFigure]:
        f = await funnel.funnel(self.conn, store_id=self.store_id, date_from=date_from, date_to=date_to)
        return self.ledger.add(F.funnel_figures(f))

    async def _dispatch(self, name: str, args: BaseModel) -> list[CitedFigure]:
        if isinstance(args, GetSummary):
            return await self.get_summary(_day(args.date_from, "date_from"), _day(args.date_to, "date_to"))
        if isinstance(args, GetTopProducts):
            return await self.get_top_products(_day(args.date_from, "date_from"), _day(args.date_to, "date_to"),
                                               args.limit)
        if isinstance(args, GetProductForecast):
            product_id, title = await find_product(self.conn, self.store_id, args.product)
            return await self.get_product_forecast(product_id, title)
        if isinstance(args, GetCustomerSegments):
            return await self.get_customer_segments()
        if isinstance(args, GetFunnel):
            return await self.get_funnel(_day(args.date_from, "date_from"), _day(args.date_to, "date_to"))
        raise ToolError(f"unknown tool {name!r}")

    async def call(self, name: str, arguments: str) -> dict[str, Any]:
        """Run a tool the model asked for; the result (figures or an error) is what the model reads back."""
        model = TOOL_MODELS.get(name)
        if model is None:
            return {"error": f"unknown tool {name!r}; use one of {sorted(TOOL_MODELS)}"}
        try:
            args = model.model_validate(json.loads(arguments or "{}"))
            cited = await self._dispatch(name, args)
        except (ValidationError, json.JSONDecodeError):
            return {"error": "the arguments do not match the tool's schema"}
        except (ToolError, DomainError) as error:
            return {"error": str(error)}
        if not cited:
            return {"figures": [], "note": "the synced data has nothing for this"}
        return {"figures": [c.model_dump(mode="json", exclude={"query"}) for c in cited]}
