"""Read ahead in a background thread, so downloading and parsing overlap with database writes."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_PUT_TIMEOUT = 0.2


class _Done(Generic[T]):
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def chunks_ahead(items: Iterable[T], size: int, *, skip: int = 0, depth: int = 2) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter or empty), the first `skip` items dropped.

    A producer thread fills at most `depth` lists ahead of the consumer, so memory stays bounded. An error
    in the producer is raised in the consumer; a consumer that stops early stops the producer too.
    """
    slots: queue.Queue[list[T] | _Done[T]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: list[T] | _Done[T]) -> bool:
        while not stop.is_set():
            try:
                slots.put(value, timeout=_PUT_TIMEOUT)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        chunk: list[T] = []
        try:
            for index, item in enumerate(items):
                if index < skip:
                    continue
                chunk.append(item)
                if len(chunk) >= size and not put(chunk):
                    return
                if len(chunk) >= size:
                    chunk = []
            put(chunk)
            put(_Done())
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Done(exc))

    thread = threading.Thread(target=produce, daemon=True, name="chunks-ahead")
    thread.start()
    try:
        while True:
            value = slots.get()
            if isinstance(value, _Done):
                if value.error is not None:
                    raise value.error
                return
            yield value
    finally:
        stop.set()
        thread.join(timeout=5)
