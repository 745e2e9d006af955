"""A real Azurite for the devhost trigger tests, started once per run on free ports."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devhost.azurite import Azurite

Waiter = Callable[..., None]


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    azurite = Azurite(Path(tmp_path_factory.mktemp("azurite")))
    yield azurite.start()
    azurite.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Fresh container/queue names, so tests sharing one Azurite never see each other's data."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{token}"


@pytest.fixture
def wait_for() -> Waiter:
    def wait(condition: Callable[[], object], timeout: float = 10.0, message: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {message}")
            time.sleep(0.02)

    return wait
