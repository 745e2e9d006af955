"""Serve an ASGI app (the fake stores) under uvicorn in a background thread on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn


@dataclass
class BackgroundServer:
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0) -> BackgroundServer:
    """Start `app` and return once it accepts connections; port 0 picks a free one (bound, not probed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"asgi-{bound_port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{bound_port} did not start")
        time.sleep(0.02)
    return BackgroundServer(server, thread, f"http://{host}:{bound_port}")
