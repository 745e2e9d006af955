"""chunks_ahead: the same chunks as a plain loop would make, errors passed on, an early stop stops it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shared.stores.prefetch import chunks_ahead


@pytest.mark.parametrize(("n", "expected"), [(0, [[]]), (3, [[0, 1, 2]]), (4, [[0, 1, 2, 3], []]),
                                             (6, [[0, 1, 2, 3], [4, 5]])])
def test_chunks_and_a_final_short_chunk(n: int, expected: list[list[int]]) -> None:
    assert list(chunks_ahead(range(n), 4)) == expected


def test_skip_drops_the_first_items() -> None:
    assert list(chunks_ahead(range(7), 3, skip=4)) == [[4, 5, 6], []]


def test_a_producer_error_reaches_the_consumer_after_the_good_chunks() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise ConnectionResetError("download dropped")

    chunks = chunks_ahead(items(), 2)
    assert [next(chunks), next(chunks)] == [[0, 1], [2, 3]]
    with pytest.raises(ConnectionResetError):
        next(chunks)


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    produced = 0

    def endless() -> Iterator[int]:
        nonlocal produced
        while True:
            produced += 1
            yield produced

    chunks = chunks_ahead(endless(), 10, depth=1)
    assert next(chunks) == list(range(1, 11))
    chunks.close()
    assert not any(t.name == "chunks-ahead" and t.is_alive() for t in threading.enumerate())
    assert produced < 100
