"""The process's one Container, shared by every trigger and activity.

In Azure it is built on first use from Settings; the Functions entry points say which
OrchestrationPort to use (the Durable client binding). devhost and tests install their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from shared.bootstrap import Container, build_container
from shared.config import get_settings
from shared.logging import configure_logging
from shared.ports import OrchestrationPort

_lock = threading.Lock()
_container: list[Container] = []
_orchestrations_factory: list[Callable[[], OrchestrationPort]] = []


def use_orchestrations(factory: Callable[[], OrchestrationPort]) -> None:
    """Name the OrchestrationPort the container is built with (Azure: the Durable client adapter)."""
    _orchestrations_factory[:] = [factory]


def install(container: Container) -> None:
    """Use `container` for this process (devhost and tests: local engine, local secrets)."""
    with _lock:
        _container[:] = [container]


def container() -> Container:
    with _lock:
        if not _container:
            if not _orchestrations_factory:
                raise RuntimeError("no OrchestrationPort configured (functions.http_api sets it in Azure)")
            settings = get_settings()
            configure_logging(settings.log_level)
            _container.append(build_container(settings, orchestrations=_orchestrations_factory[0]()))
        return _container[0]
