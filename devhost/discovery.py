"""Finds every function of a FunctionApp by introspection, so there is no second registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

TRIGGER_TYPES = frozenset(
    {
        "httpTrigger",
        "orchestrationTrigger",
        "activityTrigger",
        "entityTrigger",
        "timerTrigger",
        "blobTrigger",
        "queueTrigger",
        "serviceBusTrigger",
    }
)


@dataclass(frozen=True)
class DiscoveredFunction:
    """One function of the app: its trigger binding, other bindings and the code to call."""

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    user_function: Callable[..., Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def callable(self) -> Callable[..., Any]:
        """The code devhost calls: DF's wrappers unwrapped to the user's own function."""
        fn = self.user_function
        if self.trigger_type == "orchestrationTrigger":
            return getattr(fn, "orchestrator_function", fn)
        if hasattr(fn, "client_function"):
            return fn.client_function
        return fn


_CACHE: dict[int, list[DiscoveredFunction]] = {}


def discover(app: func.FunctionApp) -> list[DiscoveredFunction]:
    """Every function in `app`. Cached: get_functions() may be called only once per app object."""
    key = id(app)
    if key not in _CACHE:
        found = []
        for f in app.get_functions():
            bindings = json.loads(f.get_function_json())["bindings"]
            trigger = next(b for b in bindings if b["type"] in TRIGGER_TYPES)
            found.append(
                DiscoveredFunction(
                    name=str(f.get_function_name()),
                    trigger_type=trigger["type"],
                    trigger=trigger,
                    bindings=bindings,
                    user_function=f.get_user_function(),
                )
            )
        _CACHE[key] = found
    return _CACHE[key]


def by_trigger(app: func.FunctionApp, trigger_type: str) -> list[DiscoveredFunction]:
    return [f for f in discover(app) if f.trigger_type == trigger_type]
