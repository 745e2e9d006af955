"""Query cost and the leaky bucket of the Shopify fake (reference §4).

Cost, as Shopify reports it today: scalars and enums 0, objects 1, mutations 10, and a
connection `2 + m(n) * (1 + cost of one node)` with `m(n) = floor(2 ln max(2, n))`: logarithmic
in the page size. `actualQueryCost` is the same formula with the number of nodes actually
returned (0 for an empty page), so it never exceeds the request and a short last page is
refunded. The bucket runs on an injectable clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from devhost.fakes.clock import Clock
from devhost.fakes.faults import ApiStats
from devhost.fakes.shopify_schema import is_connection

MAX_PAGE_SIZE = 250
MUTATION_COST = 10
Instances = list[dict[str, Any]] | None  # response objects at this level (None: estimating)


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """The bucket of one (app, store) pair. Standard plan: 100 points/s restore."""

    max_available: float = 2000.0
    restore_rate: float = 100.0
    max_query_cost: int = 1000  # a single query above this is rejected on every plan
    throttled_status: int = 200  # sources disagree (200 vs 429); clients must handle both


@dataclass(slots=True)
class ShopifyStats(ApiStats):
    """What the Shopify fake saw (`app.state.stats`): requests, throttling, points, bulk runs."""

    throttled: int = 0  # THROTTLED answers (the bucket was short)
    rejected_max_cost: int = 0  # queries above the single-query limit
    points_requested: int = 0
    points_charged: int = 0  # actual cost summed: what the bucket really lost
    bulk_operations: int = 0
    bulk_downloads: int = 0


def page_multiplier(size: int) -> int:
    return int(2 * math.log(max(2, size)))


@dataclass(slots=True)
class QueryCost:
    requested: int
    errors: list[GraphQLError] = field(default_factory=list)


class CostCalculator:
    """Walks one operation with the schema: the requested cost up front, the actual one after."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues | None) -> None:
        self._schema, self._variables = schema, variables
        self._fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self._errors: list[GraphQLError] = []

    def requested(self, operation: OperationDefinitionNode) -> QueryCost:
        """Estimated cost, plus Shopify's page-size errors (checked before anything runs)."""
        cost = self._operation(operation, None)
        return QueryCost(cost, self._errors)

    def actual(self, operation: OperationDefinitionNode, data: dict[str, Any] | None) -> int:
        return self._operation(operation, None if data is None else [data])

    def _operation(self, operation: OperationDefinitionNode, data: Instances) -> int:
        if operation.operation is OperationType.MUTATION:
            return MUTATION_COST * sum(1 for _ in self._fields(operation.selection_set))
        return self._selection(operation.selection_set, self._schema.query_type, data)

    def _fields(self, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
        """Fields of a selection set, fragments flattened (our schema has no interfaces)."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self._fragments:
                yield from self._fields(self._fragments[selection.name.value].selection_set)

    def _selection(self, selection_set: SelectionSetNode | None, parent: Any, instances: Instances) -> int:
        total = 0
        for node in self._fields(selection_set):
            if node.name.value.startswith("__"):
                continue
            field_def = parent.fields[node.name.value]
            named = get_named_type(field_def.type)
            if not isinstance(named, GraphQLObjectType):
                continue  # scalars and enums are free
            children = None if instances is None else _children(instances, _key(node))
            if instances is not None and not children:
                continue  # null in the response: nothing was read
            if is_connection(named.name):
                total += self._connection(node, field_def, named, children)
            else:
                total += 1 + self._selection(node.selection_set, named, children)
        return total

    def _connection(self, node: FieldNode, field_def: Any, conn: GraphQLObjectType, instances: Instances) -> int:
        size = self._page_size(node, field_def) if instances is None else 0
        node_type = get_named_type(conn.fields["nodes"].type)
        per_node, returned = 1, 0
        for selection_set, list_key, node_key in self._node_selections(node):
            nodes = None if instances is None else [_nodes_of(inst, list_key, node_key) for inst in instances]
            flat = None if nodes is None else [n for group in nodes for n in group if n is not None]
            returned = max([returned, *(len(group) for group in nodes or [])])
            per_node += self._selection(selection_set, node_type, flat)
        if instances is not None:
            size = returned
            if size == 0:
                return 2
        return 2 + page_multiplier(size) * per_node

    def _node_selections(self, node: FieldNode) -> Iterator[tuple[SelectionSetNode | None, str, str | None]]:
        """Where one node's fields are selected: `nodes` (no node key) and `edges { node }`."""
        for sub in self._fields(node.selection_set):
            if sub.name.value == "nodes":
                yield sub.selection_set, _key(sub), None
            elif sub.name.value == "edges":
                for inner in self._fields(sub.selection_set):
                    if inner.name.value == "node":
                        yield inner.selection_set, _key(sub), _key(inner)

    def _page_size(self, node: FieldNode, field_def: Any) -> int:
        args = get_argument_values(field_def, node, self._variables)
        label = "first" if args.get("first") is not None else "last"
        size: int | None = args.get(label)
        path = [_key(node)]
        if size is None:
            message = "you must provide one of first or last"
            self._errors.append(GraphQLError(message, [node], path=path, extensions={"code": "BAD_REQUEST"}))
            return MAX_PAGE_SIZE
        if size < 0 or size > MAX_PAGE_SIZE:
            message = (f"Argument '{label}' on Field '{node.name.value}' has an invalid value ({size}). "
                       f"Expected a page size from 0 to {MAX_PAGE_SIZE}.")
            self._errors.append(GraphQLError(message, [node], path=path, extensions={"code": "BAD_REQUEST"}))
        return min(max(size, 0), MAX_PAGE_SIZE)


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _nodes_of(instance: dict[str, Any], list_key: str, node_key: str | None) -> list[Any]:
    items = instance.get(list_key) or []
    return items if node_key is None else [edge.get(node_key) for edge in items]


def _children(instances: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for inst in instances:
        value = inst.get(key)
        if isinstance(value, dict):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, dict))
    return found


class LeakyBucket:
    """Points restore continuously at `restore_rate` up to `max_available`."""

    def __init__(self, config: ThrottleConfig, clock: Clock) -> None:
        self._config, self._clock = config, clock
        self._available = config.max_available
        self._stamp = clock()

    def available(self) -> float:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._available = min(self._config.max_available, self._available + elapsed * self._config.restore_rate)
        self._stamp = now
        return self._available

    def take(self, points: int) -> bool:
        """Charge `points` up front, or refuse (THROTTLED) without charging anything."""
        if points > self.available():
            return False
        self._available -= points
        return True

    def give_back(self, points: int) -> None:
        self._available = min(self._config.max_available, self.available() + max(0, points))

    def drain(self) -> None:
        self.available()
        self._available = 0.0

    def status(self) -> dict[str, float | int]:
        return {
            "maximumAvailable": float(self._config.max_available),
            # Rounded down: a client pacing on this never asks for points that are not there.
            "currentlyAvailable": math.floor(self.available()),
            "restoreRate": float(self._config.restore_rate),
        }
