"""Which storage queue serves which trigger: Service Bus paths and queue names made valid storage queue names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from devhost.discovery import DiscoveredFunction
from devhost.runners import resolve_settings

DEAD_LETTER_SUFFIX = "-deadletter"
_MAX_QUEUE_NAME = 63
# Leaves room for the dead-letter suffix, so every queue's dead-letter queue is a valid name too.
_MAX_BASE_NAME = _MAX_QUEUE_NAME - len(DEAD_LETTER_SUFFIX)


def storage_queue_name(entity: str) -> str:
    """A valid storage queue name (3-63 chars, a-z 0-9 and single inner hyphens) for a Service Bus path."""
    name = re.sub(r"[^a-z0-9]+", "-", entity.lower()).strip("-")
    if len(name) > _MAX_BASE_NAME or len(name) < 3:
        # A hash of the original keeps shortened or padded names distinct.
        digest = hashlib.sha256(entity.encode()).hexdigest()[:8]
        name = f"{name[: _MAX_BASE_NAME - 9].rstrip('-')}-{digest}".lstrip("-")
    return name


def subscription_queue_name(topic: str, subscription: str) -> str:
    return storage_queue_name(f"{topic}-{subscription}")


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}{DEAD_LETTER_SUFFIX}"


# Defaults of the Functions host: Service Bus entities dead-letter after 10, storage queues after 5.
SERVICE_BUS_MAX_DELIVERY_COUNT = 10
STORAGE_QUEUE_MAX_DEQUEUE_COUNT = 5


@dataclass(frozen=True)
class Route:
    """One trigger function and the storage queue it consumes."""

    fn: DiscoveredFunction
    entity: str  # the Service Bus path ("orders", "store-events/Subscriptions/sync") or the queue name
    queue: str
    is_service_bus: bool
    topic: str | None = None
    max_delivery_count: int = SERVICE_BUS_MAX_DELIVERY_COUNT


def routes_for(
    functions: Iterable[DiscoveredFunction],
    settings: Mapping[str, str] | None = None,
    max_delivery_counts: Mapping[str, int] | None = None,
    max_delivery_count: int = SERVICE_BUS_MAX_DELIVERY_COUNT,
) -> list[Route]:
    """A route per serviceBusTrigger/queueTrigger function; `max_delivery_counts` overrides per entity."""
    overrides = {k.lower(): v for k, v in (max_delivery_counts or {}).items()}
    routes = []
    for fn in functions:
        if fn.trigger_type not in ("serviceBusTrigger", "queueTrigger"):
            continue
        entity, queue, topic = _entity(fn, settings)
        is_service_bus = fn.trigger_type == "serviceBusTrigger"
        default = max_delivery_count if is_service_bus else STORAGE_QUEUE_MAX_DEQUEUE_COUNT
        limit = overrides.get(entity.lower(), overrides.get(queue, default))
        routes.append(Route(fn, entity, queue, is_service_bus, topic, limit))
    _check_distinct(routes)
    return routes


def _entity(fn: DiscoveredFunction, settings: Mapping[str, str] | None) -> tuple[str, str, str | None]:
    """(Service Bus path or queue name, storage queue, topic) of a trigger binding."""
    binding = fn.trigger
    if binding.get("topicName"):
        topic = resolve_settings(binding["topicName"], settings)
        subscription = resolve_settings(binding["subscriptionName"], settings)
        return f"{topic}/Subscriptions/{subscription}", subscription_queue_name(topic, subscription), topic
    entity = resolve_settings(binding["queueName"], settings)
    return entity, storage_queue_name(entity), None


def _check_distinct(routes: list[Route]) -> None:
    # Two Service Bus names that normalise to one storage queue would silently share messages.
    seen: dict[str, str] = {}
    for route in routes:
        other = seen.setdefault(route.queue, route.entity)
        if other.lower() != route.entity.lower():
            raise ValueError(f"{other!r} and {route.entity!r} both map to storage queue {route.queue!r}")
