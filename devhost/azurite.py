"""Azurite (blob + queue) for devhost and the tests, from the repo's pinned npm package."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import psutil

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's published development key: it guards nothing, every Azurite accepts it.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
HOST = "127.0.0.1"
_PORT_RACE_RETRIES = 3


class AzuriteNotInstalledError(RuntimeError):
    """node_modules/.bin/azurite is missing."""


class AzuriteStartError(RuntimeError):
    """Azurite exited or did not open its ports in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def connection_string(blob_port: int, queue_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{HOST}:{blob_port}/{ACCOUNT_NAME};"
        f"QueueEndpoint=http://{HOST}:{queue_port}/{ACCOUNT_NAME};"
    )


def _listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on. A connect() alone cannot tell Azurite from another process that
    took the port first (Azurite then exits with EADDRINUSE just after the check passed)."""
    with contextlib.suppress(psutil.Error):
        return {c.laddr.port for c in psutil.Process(pid).net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN}
    return set()


class Azurite:
    """An Azurite process whose data lives in `data_dir` (kept across restarts), on free loopback ports."""

    def __init__(self, data_dir: Path, *, executable: Path | None = None, startup_timeout: float = 30.0) -> None:
        self.data_dir = data_dir.resolve()
        self.executable = executable or REPO_ROOT / "node_modules" / ".bin" / "azurite"
        self.startup_timeout = startup_timeout
        self.log_file = self.data_dir / "azurite.log"
        self.blob_port = 0
        self.queue_port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        if self._process is None:
            raise RuntimeError("Azurite is not running")
        return connection_string(self.blob_port, self.queue_port)

    def start(self) -> str:
        """Start Azurite and return its connection string once both services accept connections."""
        if self._process is not None:
            return self.connection_string
        if not self.executable.exists():
            raise AzuriteNotInstalledError(
                f"{self.executable} not found: run `npm ci` in {REPO_ROOT} to install the pinned Azurite"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A free port found here can be taken by someone else before Azurite binds it; try again then.
        attempt = 1
        while True:
            try:
                self._launch()
            except AzuriteStartError:
                self.stop()
                if attempt == _PORT_RACE_RETRIES or "EADDRINUSE" not in self._log_tail():
                    raise
                attempt += 1
            else:
                log.info("azurite ready (blob %s, queue %s) in %s", self.blob_port, self.queue_port, self.data_dir)
                return self.connection_string

    def stop(self, timeout: float = 10.0) -> None:
        """Ask Azurite to shut down (it flushes its metadata on SIGTERM); kill it if it does not."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("azurite did not stop within %.0fs; killing it", timeout)
            process.kill()
            process.wait()

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _launch(self) -> None:
        self.blob_port, self.queue_port, table_port = free_port(), free_port(), free_port()
        command = [
            str(self.executable),
            "--blobHost", HOST, "--blobPort", str(self.blob_port),
            "--queueHost", HOST, "--queuePort", str(self.queue_port),
            # The table service cannot be switched off; it gets a free port and no one uses it.
            "--tableHost", HOST, "--tablePort", str(table_port),
            "--location", str(self.data_dir),
            # Azurite 3.37 rejects the API version of the current azure-storage-* SDKs without it.
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ]  # fmt: skip
        with self.log_file.open("ab") as log_output:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_output, stderr=subprocess.STDOUT
            )
        self._wait_until_ready(self._process)

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AzuriteStartError(
                    f"azurite exited with code {process.returncode}; log {self.log_file}:\n{self._log_tail()}"
                )
            if {self.blob_port, self.queue_port} <= _listening_ports(process.pid):
                return
            time.sleep(0.1)
        raise AzuriteStartError(
            f"azurite did not accept connections within {self.startup_timeout:.0f}s; log {self.log_file}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""
