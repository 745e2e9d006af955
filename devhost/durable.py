"""The local Durable Functions engine: the app's orchestrators and activities, run by durabletask in memory.

State lives in memory only: everything is gone when the process ends (see durable-local.md), so work that must
survive a restart keeps its own progress in Postgres.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable
from concurrent import futures
from datetime import UTC, datetime
from types import GeneratorType, TracebackType
from typing import Any, Self

import azure.functions as func
import grpc
from durabletask import client as dt_client
from durabletask import task as dt
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as stubs
from durabletask.testing import InMemoryOrchestrationBackend
from durabletask.worker import TaskHubGrpcWorker

from devhost.discovery import DiscoveredFunction, discover
from devhost.durable_context import DF_CONVERTER, OrchestrationContextAdapter, RawJson, drive
from shared.ports import InstanceAlreadyRunning, OrchestrationState, RuntimeStatus

# Blocking RPCs (wait_for_completion, the worker's work-item stream) each hold one server thread.
_GRPC_SERVER_THREADS = 32

# DF lets a finished instance id be started again; only a live one is refused.
_REUSE_FINISHED_IDS = pb.OrchestrationIdReusePolicy(
    replaceableStatus=[
        pb.ORCHESTRATION_STATUS_COMPLETED,
        pb.ORCHESTRATION_STATUS_FAILED,
        pb.ORCHESTRATION_STATUS_TERMINATED,
    ]
)

_STATUS = {
    dt_client.OrchestrationStatus.PENDING: RuntimeStatus.PENDING,
    dt_client.OrchestrationStatus.RUNNING: RuntimeStatus.RUNNING,
    dt_client.OrchestrationStatus.COMPLETED: RuntimeStatus.COMPLETED,
    dt_client.OrchestrationStatus.FAILED: RuntimeStatus.FAILED,
    dt_client.OrchestrationStatus.TERMINATED: RuntimeStatus.TERMINATED,
    dt_client.OrchestrationStatus.CONTINUED_AS_NEW: RuntimeStatus.CONTINUED_AS_NEW,
    # Nothing here suspends instances; were one suspended, it would still be live, not finished.
    dt_client.OrchestrationStatus.SUSPENDED: RuntimeStatus.RUNNING,
}


class _ShutdownNoiseFilter(logging.Filter):
    """Drops the warning the worker logs for its own stream being cancelled by stop(): not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Error in work item stream") and "StatusCode.CANCELLED" in message)


_SHUTDOWN_NOISE = _ShutdownNoiseFilter()


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("devhost.durable")
    logger.setLevel(logging.WARNING)  # durabletask logs every start, wait and completion at INFO
    logger.addFilter(_SHUTDOWN_NOISE)  # the same object each time, so added once
    return logger


class _LoopbackBackend(InMemoryOrchestrationBackend):
    """durabletask's in-memory backend, bound to 127.0.0.1 on a port the OS picks, with SO_REUSEPORT off.

    The stock start() binds [::]:port with SO_REUSEPORT on: two backends on one port silently split the
    instances between them. Binding port 0 also avoids the race of probing for a free port first.
    start() mirrors the base class's of durabletask 1.12 (pinned in requirements-dev.txt), private fields too.
    """

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self._logger = logger

    def start(self) -> str:
        self._shutdown_event.clear()
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=_GRPC_SERVER_THREADS), options=[("grpc.so_reuseport", 0)]
        )
        stubs.add_TaskHubSidecarServiceServicer_to_server(self, server)
        self._port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return f"127.0.0.1:{self._port}"


def orchestrator_entry(fn: DiscoveredFunction) -> Callable[[dt.OrchestrationContext, RawJson | None], Any]:
    """The durabletask orchestrator that runs DF orchestrator `fn` through the context adapter."""
    user_function = fn.callable
    input_type = getattr(fn.user_function, "_df_input_type", None)

    # The RawJson annotation makes the worker hand over the input still encoded: get_input() decodes it.
    def run(ctx: dt.OrchestrationContext, raw_input: RawJson | None) -> Any:
        result = user_function(OrchestrationContextAdapter(ctx, raw_input, input_type))
        return drive(result) if isinstance(result, GeneratorType) else result

    run.__name__ = fn.name  # durabletask registers a function under its __name__
    return run


def activity_entry(fn: DiscoveredFunction) -> Callable[[dt.ActivityContext, RawJson | None], Any]:
    """The durabletask activity that calls DF activity `fn` with its input as the binding's keyword."""
    user_function = fn.callable
    parameter = fn.trigger["name"]

    def run(ctx: dt.ActivityContext, raw_input: RawJson | None) -> Any:
        result = user_function(**{parameter: _decode_activity_input(raw_input)})
        if inspect.iscoroutine(result):
            # Activities run on a worker thread with no loop; each async one gets a fresh loop.
            result = asyncio.run(result)
        return result

    run.__name__ = fn.name
    return run


def _decode_activity_input(raw_input: RawJson | None) -> Any:
    """As azure-functions' activity trigger decodes it: JSON via df_loads, or the text itself if not JSON."""
    if raw_input is None:
        return None
    try:
        return DF_CONVERTER.deserialize(raw_input)
    except json.JSONDecodeError:
        return str(raw_input)


class LocalOrchestrationClient:
    """OrchestrationPort on the local engine: a blocking gRPC client, run off the event loop."""

    def __init__(self, address: str, orchestrator_names: frozenset[str], logger: logging.Logger) -> None:
        self._orchestrator_names = orchestrator_names
        self._client = dt_client.TaskHubGrpcClient(
            host_address=address, logger=logger, data_converter=DF_CONVERTER
        )

    def close(self) -> None:
        self._client.close()

    async def start(self, name: str, input: Any, instance_id: str) -> str:
        """Start `name` under `instance_id`; InstanceAlreadyRunning if that id is pending or running."""
        if name not in self._orchestrator_names:
            raise LookupError(f"no orchestrator named {name!r}")
        return await asyncio.to_thread(self._schedule, name, input, instance_id)

    def _schedule(self, name: str, input: Any, instance_id: str) -> str:
        try:
            return self._client.schedule_new_orchestration(
                name, input=input, instance_id=instance_id, reuse_id_policy=_REUSE_FINISHED_IDS
            )
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.ALREADY_EXISTS:
                raise InstanceAlreadyRunning(instance_id) from error
            raise

    async def status(self, instance_id: str) -> OrchestrationState | None:
        state = await asyncio.to_thread(self._client.get_orchestration_state, instance_id)
        return None if state is None else _to_port_state(state)

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Deliver an event; KeyError if there is no such instance."""
        try:
            await asyncio.to_thread(
                self._client.raise_orchestration_event, instance_id, event_name, data=data
            )
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise KeyError(instance_id) from error
            raise

    async def terminate(self, instance_id: str, reason: str) -> None:
        # recursive=False: the in-memory backend cannot terminate children and warns on every recursive call.
        await asyncio.to_thread(
            self._client.terminate_orchestration, instance_id, output=reason, recursive=False
        )

    def wait_for_completion(self, instance_id: str, timeout: float = 30) -> OrchestrationState | None:
        """Block until the instance is Completed, Failed or Terminated; TimeoutError after `timeout` s.

        None if no such instance appeared within `timeout`.
        """
        state = self._client.wait_for_orchestration_completion(instance_id, timeout=timeout)
        return None if state is None else _to_port_state(state)


def _to_port_state(state: dt_client.OrchestrationState) -> OrchestrationState:
    failure = state.failure_details
    return OrchestrationState(
        instance_id=state.instance_id,
        name=state.name,
        runtime_status=_STATUS[state.runtime_status],
        custom_status=state.get_custom_status(),
        output=state.get_output(),
        created_at=_as_utc(state.created_at),
        last_updated_at=_as_utc(state.last_updated_at),
        failure=None if failure is None else f"{failure.error_type}: {failure.message}",
        extra={"input": state.get_input()},
    )


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class LocalDurableEngine:
    """Hosts every orchestrator and activity of `app` on a private in-memory durabletask backend.

    `start()`/`stop()` (or `with`) run the backend and worker; `client` is the OrchestrationPort to hand to
    services. The port's own `start(name, input, instance_id)` is why it is a separate object.
    """

    def __init__(self, app: func.FunctionApp, *, logger: logging.Logger | None = None) -> None:
        functions = discover(app)
        self._orchestrators = [f for f in functions if f.trigger_type == "orchestrationTrigger"]
        self._activities = [f for f in functions if f.trigger_type == "activityTrigger"]
        self._logger = logger or _quiet_logger()
        self._backend: _LoopbackBackend | None = None
        self._worker: TaskHubGrpcWorker | None = None
        self._client: LocalOrchestrationClient | None = None
        self._address = ""

    @property
    def orchestrator_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self._orchestrators)

    @property
    def activity_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self._activities)

    @property
    def address(self) -> str:
        """host:port of the backend's gRPC endpoint, once started."""
        return self._address

    @property
    def client(self) -> LocalOrchestrationClient:
        if self._client is None:
            raise RuntimeError("the durable engine is not started")
        return self._client

    def start(self) -> None:
        if self._backend is not None:
            raise RuntimeError("the durable engine is already started")
        self._backend = _LoopbackBackend(self._logger)
        try:
            self._address = self._backend.start()
            self._worker = self._new_worker(self._address)
            self._worker.start()
            self._client = LocalOrchestrationClient(self._address, self.orchestrator_names, self._logger)
        except BaseException:
            self.stop()  # leave no half-started server or worker thread behind
            raise

    def _new_worker(self, address: str) -> TaskHubGrpcWorker:
        worker = TaskHubGrpcWorker(host_address=address, logger=self._logger, data_converter=DF_CONVERTER)
        for orchestrator in self._orchestrators:
            worker.add_orchestrator(orchestrator_entry(orchestrator))
        for activity in self._activities:
            worker.add_activity(activity_entry(activity))
        return worker

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._worker is not None:
            self._worker.stop()
        if self._backend is not None:
            self._backend.stop()
        self._client, self._worker, self._backend = None, None, None

    def wait_for_completion(self, instance_id: str, timeout: float = 30) -> OrchestrationState | None:
        """Block until the instance finishes; see LocalOrchestrationClient.wait_for_completion."""
        return self.client.wait_for_completion(instance_id, timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
