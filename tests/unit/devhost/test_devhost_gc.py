"""devhost's garbage collector settings once started: the startup heap frozen, requests' objects left to die young."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from devhost.__main__ import YOUNG_GC_THRESHOLD, freeze_startup_heap


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restore_gc")
def test_startup_heap_is_frozen_and_the_young_generation_is_larger() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    survivor = [object() for _ in range(10)]  # a container alive at startup

    freeze_startup_heap()

    assert gc.get_freeze_count() > 0
    assert all(o is not survivor for o in gc.get_objects())  # left out of every later collection
    assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, before[1], before[2])
    assert YOUNG_GC_THRESHOLD > 700  # CPython's default
