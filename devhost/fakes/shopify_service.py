"""One GraphQL request through the Shopify fake: parse, validate, cost, throttle, execute.

The order matters and mirrors Shopify: malformed or invalid queries are answered without
touching the bucket; a query above the single-query limit is rejected; then the requested cost
is charged (or the call is THROTTLED with nothing charged); after execution the difference to
the actual cost goes back into the bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from devhost.fakes.clock import Clock
from devhost.fakes.model import StoreModel
from devhost.fakes.shopify_bulk import BulkRegistry
from devhost.fakes.shopify_context import ShopifyContext
from devhost.fakes.shopify_cost import CostCalculator, LeakyBucket, ShopifyStats, ThrottleConfig
from devhost.fakes.shopify_paging import ShopifyIndex

RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


@dataclass(frozen=True, slots=True)
class GraphQLReply:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str]


class ShopifyService:
    def __init__(
        self,
        *,
        store: StoreModel,
        schema: GraphQLSchema,
        index: ShopifyIndex,
        bulk: BulkRegistry,
        throttle: ThrottleConfig,
        clock: Clock,
        stats: ShopifyStats,
    ) -> None:
        self._store, self._schema, self._index, self._bulk = store, schema, index, bulk
        self._throttle, self._clock, self._stats = throttle, clock, stats
        self._buckets: dict[str, LeakyBucket] = {}

    def bucket(self, token: str) -> LeakyBucket:
        """One bucket per (app, store): here, per access token."""
        if token not in self._buckets:
            self._buckets[token] = LeakyBucket(self._throttle, self._clock)
        return self._buckets[token]

    def drain_all(self) -> None:
        """A THROTTLED storm: every bucket empties at once (a fault, see FaultConfig)."""
        for bucket in self._buckets.values():
            bucket.drain()

    def context(self, token: str, base_url: str) -> ShopifyContext:
        return ShopifyContext(self._store, self._index, self._bulk, token, base_url)

    def execute(self, token: str, request: GraphQLRequest, base_url: str) -> GraphQLReply:
        try:
            document = parse(request.query)
        except GraphQLError as exc:
            return _errors([exc])
        errors = validate(self._schema, document)
        operation = get_operation_ast(document, request.operation_name)
        if errors or operation is None:
            return _errors(errors or [GraphQLError("No operation named in the document.")])
        variables = get_variable_values(self._schema, operation.variable_definitions or (), request.variables or {})
        if isinstance(variables, list):
            return _errors(variables)
        calculator = CostCalculator(self._schema, document, variables)
        cost = calculator.requested(operation)
        bucket = self.bucket(token)
        if cost.errors:
            return _errors(cost.errors, self._cost(cost.requested, 0, bucket))
        if cost.requested > self._throttle.max_query_cost:
            self._stats.rejected_max_cost += 1
            return _errors([_max_cost_error(cost.requested, self._throttle.max_query_cost)])
        if not bucket.take(cost.requested):
            return self._throttled(cost.requested, bucket)
        return self._run(document, operation, calculator, request.variables or {}, cost.requested, token, base_url)

    def _run(
        self,
        document: Any,
        operation: OperationDefinitionNode,
        calculator: CostCalculator,
        variables: dict[str, Any],  # raw: graphql-core coerces them again while executing
        requested: int,
        token: str,
        base_url: str,
    ) -> GraphQLReply:
        ctx = self.context(token, base_url)
        result = execute_sync(self._schema, document, context_value=ctx, variable_values=variables,
                              operation_name=operation.name.value if operation.name else None)
        actual = min(requested, calculator.actual(operation, result.data))
        bucket = self.bucket(token)
        bucket.give_back(requested - actual)
        self._stats.points_requested += requested
        self._stats.points_charged += actual
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        payload["data"] = result.data
        extensions: dict[str, Any] = {"cost": self._cost(requested, actual, bucket)}
        if ctx.search:
            extensions["search"] = ctx.search
        payload["extensions"] = extensions
        return GraphQLReply(200, payload, {})

    def _throttled(self, requested: int, bucket: LeakyBucket) -> GraphQLReply:
        self._stats.throttled += 1
        payload = {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS}}],
            "extensions": {"cost": self._cost(requested, None, bucket)},
        }
        headers = {}
        if self._throttle.throttled_status == 429:
            wait = (requested - bucket.available()) / self._throttle.restore_rate
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return GraphQLReply(self._throttle.throttled_status, payload, headers)

    @staticmethod
    def _cost(requested: int, actual: int | None, bucket: LeakyBucket) -> dict[str, Any]:
        return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": bucket.status()}


def _errors(errors: list[GraphQLError], cost: dict[str, Any] | None = None) -> GraphQLReply:
    payload: dict[str, Any] = {"errors": [error.formatted for error in errors]}
    if cost is not None:
        payload["extensions"] = {"cost": cost}
    return GraphQLReply(200, payload, {})


def _max_cost_error(cost: int, limit: int) -> GraphQLError:
    message = (
        f"Query cost is {cost}, which exceeds the single query max cost limit ({limit}).\n\n"
        "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
        "cost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
        "See https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n"
    )
    extensions = {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": limit, "documentation": RATE_LIMIT_DOCS}
    return GraphQLError(message, extensions=extensions)
