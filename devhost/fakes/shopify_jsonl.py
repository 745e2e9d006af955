"""Bulk query planning and JSONL export for the Shopify fake.

What a bulk query may be (checked like Shopify, reference §6): one top-level connection
(`products`, `orders` or `customers`, with `query`/`sortKey`/`reverse`), at most 5 connections,
connections nested at most 2 deep, no connection inside a list field (so `refunds { ... }` is
fine, `refunds { refundLineItems }` is not). Fragments are allowed; page arguments are ignored.

Each node's line carries the fields the query selects, resolved through the same resolver
tables as the paged API (not through graphql-core's executor: at 200k orders it is far too
slow). Nested connection items get their own lines with `__parentId`. They come after their
parent, but one parent late, so a client that assumes "immediately after" breaks in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values

from devhost.fakes.shopify_context import ShopifyContext
from devhost.fakes.shopify_order_resolvers import Resolver
from devhost.fakes.shopify_paging import NestedConnection
from devhost.fakes.shopify_schema import is_connection

ROOT_RESOURCES = ("products", "orders", "customers")
MAX_CONNECTIONS = 5
MAX_DEPTH = 2


class BulkQueryError(ValueError):
    """The query cannot run in bulk; the message goes into `userErrors`."""


@dataclass(frozen=True, slots=True)
class BulkPlan:
    resource: str
    query: str | None
    sort_key: str
    reverse: bool
    node_type: GraphQLObjectType
    node_fields: tuple[FieldNode, ...]
    fragments: Mapping[str, FragmentDefinitionNode]
    nested: tuple[str, ...]  # field names of the nested connections, for object counts


def plan_bulk_query(schema: GraphQLSchema, text: str) -> BulkPlan:
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise BulkQueryError(f"Invalid bulk query: {exc.message}") from exc
    errors = validate(schema, document)
    if errors:
        raise BulkQueryError(f"Invalid bulk query: {errors[0].message}")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        raise BulkQueryError("Bulk queries must contain exactly one query operation.")
    walker = _Walker({d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)})
    roots = list(walker.fields(operations[0].selection_set))
    if len(roots) != 1 or roots[0].name.value not in ROOT_RESOURCES:
        raise BulkQueryError("Bulk queries must select one top-level connection: products, orders or customers.")
    root = roots[0]
    root_type = schema.query_type
    assert root_type is not None
    conn_type = get_named_type(root_type.fields[root.name.value].type)
    assert isinstance(conn_type, GraphQLObjectType)
    node_type = get_named_type(conn_type.fields["nodes"].type)
    assert isinstance(node_type, GraphQLObjectType)
    node_fields = walker.node_fields(root)
    nested = walker.check_limits(node_type, node_fields)
    args = get_argument_values(root_type.fields[root.name.value], root)
    return BulkPlan(
        resource=root.name.value,
        query=args.get("query"),
        sort_key=args.get("sortKey", "ID"),
        reverse=bool(args.get("reverse")),
        node_type=node_type,
        node_fields=tuple(node_fields),
        fragments=walker.fragments,
        nested=tuple(nested),
    )


class _Walker:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments

    def fields(self, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                yield from self.fields(self.fragments[selection.name.value].selection_set)

    def node_fields(self, connection: FieldNode) -> list[FieldNode]:
        """One node's fields, whether selected under `nodes` or `edges { node }`."""
        found: list[FieldNode] = []
        for sub in self.fields(connection.selection_set):
            if sub.name.value == "nodes":
                found.extend(self.fields(sub.selection_set))
            elif sub.name.value == "edges":
                for inner in self.fields(sub.selection_set):
                    if inner.name.value == "node":
                        found.extend(self.fields(inner.selection_set))
        return found

    def check_limits(self, node_type: GraphQLObjectType, node_fields: list[FieldNode]) -> list[str]:
        """Shopify's bulk limits; returns the nested connections directly under the root node."""
        nested: list[str] = []
        count = 1 + self._count(node_type, node_fields, depth=1, in_list=False, nested=nested)
        if count > MAX_CONNECTIONS:
            raise BulkQueryError(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections.")
        return nested

    def _count(self, parent: GraphQLObjectType, fields: Sequence[FieldNode], *, depth: int, in_list: bool,
               nested: list[str]) -> int:
        total = 0
        for node in fields:
            if node.name.value.startswith("__"):
                continue
            field_type = parent.fields[node.name.value].type
            named = get_named_type(field_type)
            if not isinstance(named, GraphQLObjectType):
                continue
            if is_connection(named.name):
                if in_list:
                    raise BulkQueryError(
                        "Queries that contain a connection field within a list field are not currently supported."
                    )
                if depth + 1 > MAX_DEPTH:
                    raise BulkQueryError(f"Bulk queries cannot nest connections more than {MAX_DEPTH} levels deep.")
                if depth == 1:
                    nested.append(node.name.value)
                child = get_named_type(named.fields["nodes"].type)
                assert isinstance(child, GraphQLObjectType)
                total += 1 + self._count(child, self.node_fields(node), depth=depth + 1, in_list=False, nested=nested)
            else:
                is_list = isinstance(field_type, GraphQLList) or (
                    isinstance(field_type, GraphQLNonNull) and isinstance(field_type.of_type, GraphQLList)
                )
                total += self._count(named, list(self.fields(node.selection_set)), depth=depth,
                                     in_list=in_list or is_list, nested=nested)
        return total


@dataclass(frozen=True, slots=True)
class _Field:
    """One selected field, resolved once per query instead of once per object."""

    key: str
    resolve: Callable[[Any, ShopifyContext], Any]
    sub: _Selection | None = None  # the selection of an object-typed field
    nested: NestedConnection | None = None  # a connection whose nodes get their own lines
    child: _Selection | None = None  # the selection of those nodes


@dataclass(frozen=True, slots=True)
class _Selection:
    fields: tuple[_Field, ...]
    id_of: Callable[[Any, ShopifyContext], Any]


Child = tuple[Any, _Selection]


class JsonlExporter:
    """Turns a plan into JSON objects, one per line, resolving fields through the tables."""

    def __init__(self, plan: BulkPlan, tables: Mapping[str, Mapping[str, Resolver]], *, interleave: bool) -> None:
        self._plan, self._tables, self._interleave = plan, tables, interleave
        self._walker = _Walker(plan.fragments)
        self._root = self._compile(plan.node_type, plan.node_fields)

    def roots(self, ctx: ShopifyContext) -> Sequence[Any]:
        plan = self._plan
        items = ctx.index.listing(plan.resource, plan.query, plan.sort_key).items
        return items[::-1] if plan.reverse else items

    def count(self, ctx: ShopifyContext) -> tuple[int, int]:
        """(root objects, all objects) without rendering anything."""
        roots = self.roots(ctx)
        nested = [f.nested for f in self._root.fields if f.nested is not None]
        children = sum(len(connection.items(root, ctx)) for root in roots for connection in nested)
        return len(roots), len(roots) + children

    def lines(self, ctx: ShopifyContext) -> Iterator[dict[str, Any]]:
        late: list[dict[str, Any]] = []
        for root in self.roots(ctx):
            children: list[Child] = []
            yield _render(self._root, root, ctx, children)
            parent_id = self._root.id_of(root, ctx)
            lines = [_render(selection, item, ctx, []) | {"__parentId": parent_id} for item, selection in children]
            if not self._interleave:
                yield from lines
                continue
            yield from late  # children of the previous parent, released after this parent
            late = lines
        yield from late

    def _compile(self, kind: GraphQLObjectType, nodes: Sequence[FieldNode]) -> _Selection:
        table = self._tables.get(kind.name, {})
        fields = []
        for node in nodes:
            name = node.name.value
            key = node.alias.value if node.alias else name
            if name == "__typename":
                fields.append(_Field(key, _constant(kind.name)))
                continue
            field_def = kind.fields[name]
            resolver = table.get(name)
            if isinstance(resolver, NestedConnection):
                child = self._compile(_node_type(field_def.type), self._walker.node_fields(node))
                fields.append(_Field(key, resolver, nested=resolver, child=child))
                continue
            args = get_argument_values(field_def, node) if node.arguments else {}
            resolve = partial(resolver, **args) if resolver else _plain(name)
            named = get_named_type(field_def.type)
            sub = self._compile(named, list(self._walker.fields(node.selection_set))) if isinstance(
                named, GraphQLObjectType) else None
            fields.append(_Field(key, resolve, sub=sub))
        return _Selection(tuple(fields), table.get("id") or _plain("id"))


def _render(selection: _Selection, source: Any, ctx: ShopifyContext, children: list[Child]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for field in selection.fields:
        if field.nested is not None and field.child is not None:
            child = field.child
            children.extend((item, child) for item in field.nested.items(source, ctx))
            continue
        value = field.resolve(source, ctx)
        if value is not None and field.sub is not None:
            if isinstance(value, list):  # the planner keeps connections out of lists
                value = [_render(field.sub, v, ctx, []) for v in value]
            else:
                value = _render(field.sub, value, ctx, children)
        result[field.key] = value
    return result


def _node_type(connection_type: Any) -> GraphQLObjectType:
    connection = get_named_type(connection_type)
    assert isinstance(connection, GraphQLObjectType)
    node_type = get_named_type(connection.fields["nodes"].type)
    assert isinstance(node_type, GraphQLObjectType)
    return node_type


def _constant(value: Any) -> Callable[[Any, ShopifyContext], Any]:
    return lambda source, ctx: value


def _plain(name: str) -> Callable[[Any, ShopifyContext], Any]:
    """Fields without a resolver read dict keys (money bags) or attributes."""
    def read(source: Any, ctx: ShopifyContext) -> Any:
        return source.get(name) if isinstance(source, dict) else getattr(source, name, None)

    return read
