"""The process's one Container, shared by every trigger; devhost installs its own before serving."""

from __future__ import annotations

import threading

from shared.bootstrap import Container, build_container
from shared.config import get_settings
from shared.logging import configure_logging

_lock = threading.Lock()
_container: list[Container] = []


def install(container: Container) -> None:
    """Use `container` for this process (devhost and tests: local engine, local secrets)."""
    with _lock:
        _container[:] = [container]


def container() -> Container:
    """The container, built on first use from Settings with the Azure Durable client adapter."""
    with _lock:
        if not _container:
            from functions.http_api.durable_client import DurableClientOrchestrations

            settings = get_settings()
            configure_logging(settings.log_level)
            _container.append(build_container(settings, orchestrations=DurableClientOrchestrations()))
        return _container[0]
