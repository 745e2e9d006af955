"""Runs Durable Functions orchestrators unchanged on durabletask: DF's context API and task shapes.

Orchestrators are written against `azure.durable_functions.DurableOrchestrationContext` and yield its tasks.
`OrchestrationContextAdapter` offers that API over a durabletask `OrchestrationContext`; `drive()` sits
between the user's generator and durabletask, handing durabletask the task inside each DF-shaped task.
"""

from __future__ import annotations

import contextlib
import typing
import uuid
from collections.abc import Generator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions import RetryOptions
from azure.durable_functions.models.utils.type_discovery import activity_output_type
from azure.functions._durable_functions import df_dumps, df_loads
from azure.functions.decorators.function_app import FunctionBuilder
from durabletask import task as dt
from durabletask.serialization import DataConverter

# DF's new_uuid(): a name-based uuid5 of "{instance}_{orchestration time}_{counter}" in this namespace.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
_UUID_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class RawJson(str):
    """A payload the worker leaves encoded, so the adapter decodes it as DF does (with DF's expected type)."""


class DFDataConverter(DataConverter):
    """azure-functions' own codec, so DF's custom-class envelope ({__class__, __module__, __data__}) survives.

    Used by the worker and the client alike.
    """

    def serialize(self, value: Any) -> str | None:
        return None if value is None else df_dumps(value)

    def deserialize(self, data: str | None, target_type: type | None = None) -> Any:
        if not data:
            return None
        if _is_raw(target_type):
            return RawJson(data)
        return df_loads(data, expected_type=target_type)

    def coerce(self, value: Any, target_type: type | None = None) -> Any:
        return value

    def can_reconstruct(self, target_type: Any) -> bool:
        # durabletask asks this of a function's input annotation; only our entry points' RawJson opts in.
        return _is_raw(target_type)


def _is_raw(target_type: Any) -> bool:
    return target_type is RawJson or RawJson in typing.get_args(target_type)


DF_CONVERTER = DFDataConverter()


class DurableTask:
    """A task as a DF orchestrator sees it (`result`, `is_completed`), backed by a durabletask task."""

    def __init__(self, inner: dt.Task[Any]) -> None:
        self.inner = inner

    @property
    def is_completed(self) -> bool:
        return self.inner.is_complete

    @property
    def result(self) -> Any:
        """None while pending and the exception once failed, as in DF; durabletask would raise instead."""
        if not self.inner.is_complete:
            return None
        if self.inner.is_failed:
            return self.inner.get_exception()
        if isinstance(self.inner, dt.CancellableTask) and self.inner.is_cancelled:
            return None
        return self._value()

    def _value(self) -> Any:
        return self.inner.get_result()


class TimerTask(DurableTask):
    inner: dt.TimerTask

    @property
    def is_cancelled(self) -> bool:
        return self.inner.is_cancelled

    def cancel(self) -> None:
        if self.inner.is_complete:
            raise ValueError("Cannot cancel a completed task.")
        self.inner.cancel()


class CompoundTask(DurableTask):
    def __init__(self, inner: dt.Task[Any], children: Sequence[DurableTask]) -> None:
        super().__init__(inner)
        self.children = list(children)


class WhenAllTask(CompoundTask):
    def _value(self) -> Any:
        # Read through the children so a nested task_any yields its DF-shaped winner, not a durabletask task.
        return [child.result for child in self.children]


class WhenAnyTask(CompoundTask):
    def _value(self) -> Any:
        winner = self.inner.get_result()
        return next(child for child in self.children if child.inner is winner)


def drive(steps: Generator[Any, Any, Any]) -> Generator[dt.Task[Any], Any, Any]:
    """Runs a DF orchestrator generator on durabletask, sending back DF-shaped results."""
    done: DurableTask | None = None
    while True:
        try:
            step = _advance(steps, done)
        except StopIteration as finished:
            return finished.value
        if not isinstance(step, DurableTask):
            raise TypeError(f"orchestrator yielded {type(step).__name__}; yield tasks made by its context")
        if not step.inner.is_complete:
            # durabletask never resumes a generator on a task that is already complete (e.g. task_all([])).
            # A failure is thrown in here too; _advance throws it into the orchestrator from the task itself.
            with contextlib.suppress(dt.TaskFailedError):
                yield step.inner
        done = step


def _advance(steps: Generator[Any, Any, Any], done: DurableTask | None) -> Any:
    if done is None:
        return next(steps)
    if done.inner.is_failed:
        return steps.throw(done.inner.get_exception())
    return steps.send(done.result)


def function_name(ref: str | FunctionBuilder) -> str:
    """The name to call: a string as is, or the name of a function decorated with a DF trigger."""
    if isinstance(ref, str):
        return ref
    if isinstance(ref, FunctionBuilder) and (name := ref._function.get_function_name()):
        return name
    raise ValueError(f"expected a function name or a decorated Durable function, got {ref!r}")


def _retry_policy(options: RetryOptions | None) -> dt.RetryPolicy | None:
    if options is None:
        return None
    return dt.RetryPolicy(
        first_retry_interval=timedelta(milliseconds=options.first_retry_interval_in_milliseconds),
        max_number_of_attempts=options.max_number_of_attempts,
        backoff_coefficient=1.0,  # DF's RetryOptions has no backoff: every retry waits the first interval
    )


class OrchestrationContextAdapter:
    """The parts of DF's DurableOrchestrationContext our orchestrators use, on a durabletask context.

    Built afresh for every replay, like DF's context, so the uuid counter restarts with the history.
    """

    def __init__(
        self, ctx: dt.OrchestrationContext, raw_input: str | None, input_type: type | None = None
    ) -> None:
        self._ctx = ctx
        self._raw_input = raw_input
        self._input_type = input_type
        self._uuid_counter = 0

    @property
    def instance_id(self) -> str:
        return self._ctx.instance_id

    @property
    def parent_instance_id(self) -> str | None:
        return self._ctx.parent_instance_id

    @property
    def is_replaying(self) -> bool:
        return self._ctx.is_replaying

    @property
    def current_utc_datetime(self) -> datetime:
        # durabletask's clock is naive UTC; DF's is tz-aware.
        return self._ctx.current_utc_datetime.replace(tzinfo=UTC)

    def get_input(self, expected_type: type | None = None) -> Any:
        if self._raw_input is None:
            return None
        return df_loads(self._raw_input, expected_type=expected_type or self._input_type)

    def call_activity(
        self, name: str | FunctionBuilder, input_: Any = None, expected_type: type | None = None
    ) -> DurableTask:
        return self._activity(name, input_, None, expected_type)

    def call_activity_with_retry(
        self,
        name: str | FunctionBuilder,
        retry_options: RetryOptions,
        input_: Any = None,
        expected_type: type | None = None,
    ) -> DurableTask:
        return self._activity(name, input_, retry_options, expected_type)

    def _activity(
        self, name: str | FunctionBuilder, input_: Any, retry: RetryOptions | None, expected_type: type | None
    ) -> DurableTask:
        # Like DF, decode the result as the activity's return annotation when called by reference.
        result_type = expected_type or activity_output_type(name)
        inner = self._ctx.call_activity(
            function_name(name), input=input_, retry_policy=_retry_policy(retry), return_type=result_type
        )
        return DurableTask(inner)

    def call_sub_orchestrator(
        self,
        name: str | FunctionBuilder,
        input_: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
        expected_type: type | None = None,
    ) -> DurableTask:
        return self._sub_orchestrator(name, input_, instance_id, version, None, expected_type)

    def call_sub_orchestrator_with_retry(
        self,
        name: str | FunctionBuilder,
        retry_options: RetryOptions,
        input_: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
        expected_type: type | None = None,
    ) -> DurableTask:
        return self._sub_orchestrator(name, input_, instance_id, version, retry_options, expected_type)

    def _sub_orchestrator(
        self,
        name: str | FunctionBuilder,
        input_: Any,
        instance_id: str | None,
        version: str | None,
        retry: RetryOptions | None,
        expected_type: type | None,
    ) -> DurableTask:
        # No return-annotation discovery: a decorated orchestrator's annotation is DF's handle's `-> str`.
        inner: dt.CompletableTask[Any] = self._ctx.call_sub_orchestrator(
            function_name(name),
            input=input_,
            instance_id=instance_id,
            retry_policy=_retry_policy(retry),
            version=version,
            return_type=expected_type,
        )
        return DurableTask(inner)

    def task_all(self, activities: Sequence[DurableTask]) -> DurableTask:
        if not activities:
            # durabletask's when_all([]) never completes; DF's task_all([]) is done at once with [].
            empty: dt.CompletableTask[list[Any]] = dt.CompletableTask()
            empty.complete([])
            return DurableTask(empty)
        return WhenAllTask(dt.when_all([t.inner for t in activities]), activities)

    def task_any(self, activities: Sequence[DurableTask]) -> DurableTask:
        return WhenAnyTask(dt.when_any([t.inner for t in activities]), activities)

    def create_timer(self, fire_at: datetime) -> TimerTask:
        if fire_at.utcoffset() is not None:
            fire_at = fire_at.astimezone(UTC).replace(tzinfo=None)  # durabletask's timers are naive UTC
        return TimerTask(self._ctx.create_timer(fire_at))

    def wait_for_external_event(self, name: str, expected_type: type | None = None) -> DurableTask:
        return DurableTask(self._ctx.wait_for_external_event(name, data_type=expected_type))

    def set_custom_status(self, status: Any) -> None:
        self._ctx.set_custom_status(status)

    def continue_as_new(self, input_: Any) -> None:
        self._ctx.continue_as_new(input_)

    def new_uuid(self) -> str:
        """DF's replay-safe uuid: the same instance, orchestration time and call order give the same value."""
        moment = self._ctx.current_utc_datetime.strftime(_UUID_TIME_FORMAT)
        name = f"{self.instance_id}_{moment}_{self._uuid_counter}"
        self._uuid_counter += 1
        return str(uuid.uuid5(_UUID_NAMESPACE, name))
