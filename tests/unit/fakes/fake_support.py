"""Helpers of the fake-platform tests: the small store's config, credentials, a client bound to an app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from devhost.fakes import CatalogConfig

SMALL = CatalogConfig(seed=7, products=24, variants_per_product=2.5, customers=60, orders=600, days=365)
SHOPIFY_TOKEN = "shpat_unit_test"
WOO_KEY, WOO_SECRET = "ck_unit", "cs_unit"
GRAPHQL = "/admin/api/2026-10/graphql.json"


@asynccontextmanager
async def client_for(app: FastAPI, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake.test", **kwargs) as client:
        yield client


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
              token: str = SHOPIFY_TOKEN) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await client.post(GRAPHQL, json=body, headers={"X-Shopify-Access-Token": token})
