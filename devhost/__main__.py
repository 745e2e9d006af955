"""devhost command line: `run` the local host, `token` for a local user, `migrate` the database.

    python -m devhost run [--port 7071] [--data-dir .devhost]     (--port 0: a free port, written to <data-dir>/port)
    python -m devhost token [--email demo@example.com] [--data-dir .devhost]
    python -m devhost migrate
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import uvicorn

from devhost.host import DEMO_EMAIL, LocalState, build_asgi, prepare_environment, seed_demo


def _banner(port: int, token: str, token_path: Path) -> str:
    base = f"http://127.0.0.1:{port}"
    return (
        "\n"
        "  Retail AI Advisor — local host is up\n"
        f"  API     {base}/api/v1\n"
        f"  Docs    {base}/docs   (OpenAPI: {base}/openapi.json)\n"
        f"  Health  {base}/health  {base}/ready\n"
        f"  User    {DEMO_EMAIL} (admin of the demo organization)\n"
        "  Stores  demo Shopify and WooCommerce stores (fake servers on loopback), first sync under way:\n"
        f"          curl -H \"Authorization: Bearer $TOKEN\" {base}/api/v1/stores\n"
        f"  Token   {token}\n\n"
        f"  Try:    export TOKEN=$(cat {token_path})\n"
        f'          curl -H "Authorization: Bearer $TOKEN" {base}/api/v1/me\n'
        "  Stop:   Ctrl-C\n"
    )


def mint_local_token(data_dir: Path, email: str, ttl_seconds: int) -> str:
    from shared.auth.tokens import mint_token
    from shared.identity import local_user_id

    secret = os.environ.get("SUPABASE_JWT_SECRET") or LocalState.load_or_create(data_dir).jwt_secret
    return mint_token(secret=secret, user_id=local_user_id(email), email=email, ttl_seconds=ttl_seconds)


# The youngest generation is collected after this many new container objects (CPython's default: 700).
YOUNG_GC_THRESHOLD = 20_000


def freeze_startup_heap() -> None:
    """Leave the objects made at startup (modules, the app, its clients: ~245,000) out of every later collection,
    and let requests' objects die young.

    Under load, objects of requests in flight survive into the oldest generation and trigger full collections,
    and each walked this whole heap (all of function_app's imports) with the event loop stopped: cyclic GC was
    ~30% of the main thread under sustained webhooks (py-spy --native: gc_collect_main). Frozen, those objects
    are skipped; what remains is the requests' own objects. Frozen objects are never collected, so startup's
    garbage is collected first.

    With the default young threshold (700 allocations) a collection ran every few requests, and every object of
    the dozens of requests in flight at that moment was promoted; at 500 webhooks/s that started a full
    collection every ~1.3 s, each stopping the loop for 45-130 ms, which alone put the ack p99 over 100 ms.
    At 20,000 a request's objects are mostly freed before a collection sees them (full collections: 8 → 2 in
    a 10 s run; p99 113-221 → 52-88 ms over three alternating pairs), for a few MB more of young objects.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, older, oldest)


class _Server(uvicorn.Server):
    """uvicorn's server, telling `listening` the bound port once it accepts connections (uvicorn binds after the
    app's startup)."""

    def __init__(self, config: uvicorn.Config, listening: Callable[[int], None]) -> None:
        super().__init__(config)
        self._listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._listening(int(self.servers[0].sockets[0].getsockname()[1]))


def _interrupt_on_sigterm() -> None:
    """SIGTERM (process managers, `docker stop`, an IDE's stop button) ends devhost as Ctrl-C does.

    uvicorn shuts down gracefully on either and then raises the signal again; SIGTERM's default action would
    then end the process before the ExitStack stops Postgres, Azurite and the workers, leaving them running.
    """
    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def cmd_run(args: argparse.Namespace) -> int:
    from shared.db.migrate import migrate
    from shared.logging import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    data_dir = Path(args.data_dir).resolve()
    with ExitStack() as stack:
        prepare_environment(data_dir, stack)
        migrate(os.environ["DATABASE_URL"])
        seed_demo(os.environ["DATABASE_URL"])
        import function_app

        token = mint_local_token(data_dir, DEMO_EMAIL, ttl_seconds=7 * 86_400)
        (data_dir / "token").write_text(token + "\n")
        port_file = data_dir / "port"
        port_file.unlink(missing_ok=True)

        def listening(port: int) -> None:
            # Written once the socket is bound, so a harness that asked for port 0 knows where to go.
            written = port_file.with_suffix(".tmp")
            written.write_text(f"{port}\n")
            written.replace(port_file)  # whole or absent for a reader
            print(_banner(port, token, data_dir / "token"), flush=True)

        asgi = build_asgi(function_app.app, stack, data_dir=data_dir, on_ready=freeze_startup_heap,
                          demo_stores=not args.no_demo_stores)
        server = _Server(uvicorn.Config(asgi, host="127.0.0.1", port=args.port, log_config=None,
                                        access_log=False, lifespan="on"), listening)
        # On Ctrl-C uvicorn shuts down gracefully, then re-raises; the ExitStack stops the engine and services.
        _interrupt_on_sigterm()
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    print(mint_local_token(Path(args.data_dir).resolve(), args.email, args.ttl))
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from shared.db.migrate import migrate

    logging.basicConfig(level=logging.INFO)
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set (devhost run migrates its embedded database itself)", file=sys.stderr)
        return 2
    applied = migrate(url)
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the local host")
    run.add_argument("--port", type=int, default=int(os.environ.get("DEVHOST_PORT", "7071")))
    run.add_argument("--data-dir", default=os.environ.get("DEVHOST_DATA_DIR", ".devhost"))
    run.add_argument("--no-demo-stores", action="store_true",
                     help="do not serve, connect and sync the fake demo Shopify and WooCommerce stores")
    run.set_defaults(fn=cmd_run)
    token = sub.add_parser("token", help="print a bearer token for a local user")
    token.add_argument("--email", default=DEMO_EMAIL)
    token.add_argument("--ttl", type=int, default=86_400, help="lifetime in seconds")
    token.add_argument("--data-dir", default=os.environ.get("DEVHOST_DATA_DIR", ".devhost"))
    token.set_defaults(fn=cmd_token)
    migrate = sub.add_parser("migrate", help="apply pending migrations to DATABASE_URL")
    migrate.set_defaults(fn=cmd_migrate)
    args = parser.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
