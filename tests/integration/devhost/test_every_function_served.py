"""Every function of function_app.app has a local runner in devhost: none is silently left out."""

from __future__ import annotations

from pathlib import Path

import function_app
from devhost.blobs import BlobTriggerRunner
from devhost.bus import LocalBus
from devhost.discovery import discover
from devhost.durable import LocalDurableEngine
from devhost.timers import TimerRunner


def test_every_function_in_the_app_is_served_locally(azurite_connection_string: str, tmp_path: Path) -> None:
    functions = discover(function_app.app)
    # HTTP: the one catch-all function whose ASGI app devhost serves under uvicorn.
    served = {f.name for f in functions if f.trigger_type == "httpTrigger" and f.trigger["route"] == "{*route}"}
    engine = LocalDurableEngine(function_app.app)
    served |= engine.orchestrator_names | engine.activity_names
    served |= set(TimerRunner(functions).names)
    served |= set(BlobTriggerRunner(functions, connection_string=azurite_connection_string, state_dir=tmp_path).names)
    served |= set(LocalBus(functions, connection_string=azurite_connection_string).names)
    assert served == {f.name for f in functions}
    assert len(functions) >= 2
