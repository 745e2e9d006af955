"""Serve an ASGI app (the fake stores) under uvicorn in a background thread on a loopback port."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn


@dataclass
class BackgroundServer:
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0,
                    lifespan: Literal["on", "off"] = "off") -> BackgroundServer:
    """Start `app` and return once it accepts connections; port 0 lets the OS pick a free one as uvicorn binds.

    uvicorn binds the port itself: a socket handed to it pre-bound measured ~40 ms more per request here
    (no TCP_NODELAY on it).
    """
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning", access_log=False,
                            lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="asgi-background")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return BackgroundServer(server, thread, f"http://{host}:{bound_port}")
