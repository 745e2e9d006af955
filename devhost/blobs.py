"""Blob trigger: polls Azurite for new or changed blobs and calls each blobTrigger function once per version.

Like the Functions host, a function fires once per blob ETag: receipts (kept in SQLite beside the other
devhost state) survive restarts, a failing blob is retried up to `max_attempts` times and then reported
on the host's `webjobs-blobtrigger-poison` queue.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.functions.blob import InputStream
from azure.storage.blob import BlobProperties, BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient

from devhost.bus_messages import encode_queue_body
from devhost.discovery import DiscoveredFunction
from devhost.runners import ExtraArgs, WorkerThreads, call_function, resolve_settings

log = logging.getLogger(__name__)

POISON_QUEUE = "webjobs-blobtrigger-poison"
RECEIPTS_FILE = "blob-receipts.sqlite3"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class BlobPath:
    """A binding path such as "videos/{org}/{name}": the container, a listing prefix and a full-name matcher."""

    container: str
    prefix: str
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, path: str) -> BlobPath:
        container, _, blob = path.partition("/")
        if not container or "{" in container:
            raise ValueError(f"blob trigger path must start with a fixed container name: {path!r}")
        regex, position = "", 0
        for match in _PLACEHOLDER.finditer(blob):
            regex += re.escape(blob[position : match.start()]) + f"(?P<{match.group(1)}>.+?)"
            position = match.end()
        regex += re.escape(blob[position:]) if blob else ".+"
        return cls(container, blob.split("{", 1)[0], re.compile(regex))

    def matches(self, blob_name: str) -> bool:
        return self.pattern.fullmatch(blob_name) is not None


class ReceiptStore:
    """Which blob versions each function has done (or given up on), keyed by ETag."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS receipts (function TEXT, blob TEXT, etag TEXT, status TEXT,"
            " attempts INTEGER, error TEXT, updated TEXT, PRIMARY KEY (function, blob))"
        )

    def lookup(self, function: str, blob: str, etag: str) -> tuple[str, int] | None:
        """(status, attempts) for this version, None if it was never tried."""
        with self._lock:
            row = self._db.execute(
                "SELECT status, attempts FROM receipts WHERE function = ? AND blob = ? AND etag = ?",
                (function, blob, etag),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def record(self, function: str, blob: str, etag: str, status: str, attempts: int, error: str = "") -> None:
        # One row per blob: a new version replaces the receipt of the old one.
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (function, blob, etag, status, attempts, error, datetime.now(UTC).isoformat()),
            )


@dataclass(frozen=True)
class _Watch:
    fn: DiscoveredFunction
    path: BlobPath
    container: ContainerClient


class BlobTriggerRunner:
    """One thread lists the watched containers every `poll_interval` seconds and runs the functions."""

    def __init__(
        self,
        functions: Iterable[DiscoveredFunction],
        *,
        connection_string: str,
        state_dir: Path,
        poll_interval: float = 2.0,
        max_attempts: int = 5,
        extra_args: ExtraArgs | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        service = BlobServiceClient.from_connection_string(connection_string)
        self._watches = []
        for fn in functions:
            if fn.trigger_type == "blobTrigger":
                path = BlobPath.parse(resolve_settings(fn.trigger["path"], settings))
                self._watches.append(_Watch(fn, path, service.get_container_client(path.container)))
        self._poison = QueueClient.from_connection_string(connection_string, POISON_QUEUE)
        self._receipts = ReceiptStore(state_dir / RECEIPTS_FILE)
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self._extra_args = extra_args
        self._threads = WorkerThreads("blobs")
        self._poll_lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The blob-triggered functions this runner serves."""
        return sorted(w.fn.name for w in self._watches)

    def start(self) -> None:
        if self._threads.running:
            return
        for watch in self._watches:
            # The app may upload before anything else created the container; the host would wait for it.
            with contextlib.suppress(ResourceExistsError):
                watch.container.create_container()
        if self._watches:
            self._threads.start(self._loop, label="poller")
        log.info("blob triggers: %s", ", ".join(f"{w.fn.name}<-{w.fn.trigger['path']}" for w in self._watches))

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop polling; False if a function was still running at the timeout."""
        return self._threads.stop(timeout)

    def poll_once(self) -> int:
        """One scan of every watched container; returns how many blob versions were handed to functions."""
        with self._poll_lock:
            return sum(self._scan(watch) for watch in self._watches)

    def _loop(self) -> None:
        while not self._threads.stopping.is_set():
            try:
                self.poll_once()
            except AzureError:
                log.warning("blob trigger poll failed; retrying", exc_info=True)
            except Exception:
                # Function errors are handled per blob; anything else must not silently end the polling.
                log.exception("blob trigger poll failed unexpectedly; retrying")
            if self._threads.sleep(self.poll_interval):
                return

    def _scan(self, watch: _Watch) -> int:
        handled = 0
        try:
            blobs = list(watch.container.list_blobs(name_starts_with=watch.path.prefix or None))
        except ResourceNotFoundError:
            return 0  # container deleted meanwhile
        for props in blobs:
            if self._threads.stopping.is_set():
                break
            if not watch.path.matches(props.name):
                continue
            receipt = self._receipts.lookup(watch.fn.name, self._key(watch, props), str(props.etag))
            if receipt and receipt[0] in ("done", "poison"):
                continue
            handled += self._process(watch, props, attempts=receipt[1] if receipt else 0)
        return handled

    def _key(self, watch: _Watch, props: BlobProperties) -> str:
        return f"{watch.path.container}/{props.name}"

    def _process(self, watch: _Watch, props: BlobProperties, attempts: int) -> int:
        blob = watch.container.get_blob_client(props.name)
        try:
            # Only the listed version: if it changed since, the next scan sees the new ETag.
            data = blob.download_blob(etag=props.etag, match_condition=MatchConditions.IfNotModified).readall()
        except (ResourceModifiedError, ResourceNotFoundError):
            return 0
        key, etag = self._key(watch, props), str(props.etag)
        stream = InputStream(
            data=data, name=key, uri=blob.url, length=props.size,
            blob_properties=_properties(props), metadata=dict(props.metadata or {}),
        )  # fmt: skip
        try:
            call_function(watch.fn, stream, self._extra_args)
        except Exception as exc:
            self._failed(watch, props, attempts + 1, exc)
        else:
            self._receipts.record(watch.fn.name, key, etag, "done", attempts + 1)
            log.info("blob trigger %s ran for %s", watch.fn.name, key)
        return 1

    def _failed(self, watch: _Watch, props: BlobProperties, attempts: int, exc: Exception) -> None:
        key, etag, blob_type = self._key(watch, props), str(props.etag), _blob_type(props)
        error = f"{type(exc).__name__}: {exc}"
        if attempts < self.max_attempts:
            self._receipts.record(watch.fn.name, key, etag, "failed", attempts, error)
            log.warning("blob trigger %s failed on %s (attempt %d)", watch.fn.name, key, attempts, exc_info=exc)
            return
        self._receipts.record(watch.fn.name, key, etag, "poison", attempts, error)
        log.error("blob trigger %s gave up on %s after %d attempts: %s", watch.fn.name, key, attempts, error)
        message = {
            "Type": "BlobTrigger",
            "FunctionId": f"Host.Functions.{watch.fn.name}",
            "BlobType": blob_type,
            "ContainerName": watch.path.container,
            "BlobName": key.split("/", 1)[1],
            "ETag": etag,
        }
        with contextlib.suppress(ResourceExistsError):
            self._poison.create_queue()
        self._poison.send_message(encode_queue_body(json.dumps(message)))


def _properties(props: BlobProperties) -> dict[str, object]:
    settings = props.content_settings
    return {
        "ContentLength": props.size,
        "ContentType": settings.content_type if settings else None,
        "ETag": props.etag,
        "LastModified": props.last_modified.isoformat() if props.last_modified else None,
        "BlobType": _blob_type(props),
    }


def _blob_type(props: BlobProperties) -> str:
    return str(getattr(props.blob_type, "value", props.blob_type))
