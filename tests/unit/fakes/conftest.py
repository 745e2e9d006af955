"""Fixtures of the fake-platform tests: one small seeded store shared by the whole session."""

from __future__ import annotations

import pytest

from devhost.fakes import StoreModel, generate_store
from tests.unit.fakes.fake_support import SMALL


@pytest.fixture(scope="session")
def store() -> StoreModel:
    return generate_store(SMALL)
