"""The local durable engine runs DF orchestrators and activities unchanged on a real durabletask backend."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext

from devhost.durable import LocalDurableEngine
from devhost.durable_context import OrchestrationContextAdapter
from shared.ports import InstanceAlreadyRunning, OrchestrationState, RuntimeStatus

bp = df.Blueprint()

# Activities run on worker threads; this counts attempts per key so a test can fail exactly the first one.
_attempts: Counter[str] = Counter()
_attempts_lock = threading.Lock()


class Money:
    """A DF custom class: crosses the wire in the {__class__, __module__, __data__} envelope."""

    def __init__(self, cents: int, currency: str) -> None:
        self.cents, self.currency = cents, currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.cents, self.currency) == (other.cents, other.currency)

    def __hash__(self) -> int:
        return hash((self.cents, self.currency))

    def to_json(self) -> dict[str, Any]:
        return {"cents": self.cents, "currency": self.currency}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Money:
        return cls(data["cents"], data["currency"])


@bp.activity_trigger(input_name="payload")
def double(payload: int) -> int:
    return payload * 2


@bp.activity_trigger(input_name="payload")
async def double_async(payload: int) -> int:
    await asyncio.sleep(0.01)
    return payload * 2


@bp.activity_trigger(input_name="payload")
def echo(payload: Any) -> Any:
    return payload


@bp.activity_trigger(input_name="key")
def flaky(key: str) -> int:
    with _attempts_lock:
        _attempts[key] += 1
        attempt = _attempts[key]
    if attempt == 1:
        raise RuntimeError("first attempt fails")
    return attempt


@bp.activity_trigger(input_name="payload")
def explode(payload: Any) -> None:
    raise ValueError("kaboom")


@bp.activity_trigger(input_name="price")
def add_vat(price: Money) -> Money:
    if not isinstance(price, Money):
        raise TypeError(f"expected Money, got {type(price).__name__}")
    return Money(price.cents * 120 // 100, price.currency)


@bp.orchestration_trigger(context_name="context")
def call_one(context: df.DurableOrchestrationContext):
    return (yield context.call_activity(double, context.get_input()))


@bp.orchestration_trigger(context_name="context")
def call_async(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("double_async", context.get_input()))


@bp.orchestration_trigger(context_name="context")
def retry_flaky(context: df.DurableOrchestrationContext):
    return (yield context.call_activity_with_retry("flaky", df.RetryOptions(10, 3), context.instance_id))


@bp.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    tasks = [context.call_activity(double, n) for n in range(5)]
    results = yield context.task_all(tasks)
    nothing = yield context.task_all([])
    return {"results": results, "nothing": nothing, "first": tasks[0].result}


@bp.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    work = context.call_activity("double", 4)
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=10))
    winner = yield context.task_any([work, deadline])
    if winner is work:
        deadline.cancel()
    return {"work_won": winner is work, "result": winner.result, "timer_cancelled": deadline.is_cancelled}


@bp.orchestration_trigger(context_name="context")
def nap(context: df.DurableOrchestrationContext):
    before = context.current_utc_datetime
    yield context.create_timer(before + timedelta(milliseconds=200))
    return (context.current_utc_datetime - before).total_seconds()


@bp.orchestration_trigger(context_name="context")
def clock(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", None)
    return context.current_utc_datetime.isoformat()


@bp.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting"})
    decision = yield context.wait_for_external_event("decision")
    context.set_custom_status({"stage": "decided"})
    return decision


@bp.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    plain = yield context.call_sub_orchestrator("call_one", 5, f"{context.instance_id}:plain")
    retried = yield context.call_sub_orchestrator_with_retry(
        "flaky_child", df.RetryOptions(10, 3), f"{context.instance_id}:key", f"{context.instance_id}:retried"
    )
    return {"plain": plain, "retried": retried}


@bp.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky", context.get_input()))


@bp.orchestration_trigger(context_name="context")
def countdown(context: df.DurableOrchestrationContext):
    laps = context.get_input()
    yield context.call_activity("echo", laps)
    if laps < 3:
        context.continue_as_new(laps + 1)
        return None
    return laps


@bp.orchestration_trigger(context_name="context")
def uuids(context: df.DurableOrchestrationContext):
    first = context.new_uuid()
    echoed_first = yield context.call_activity("echo", first)
    second = context.new_uuid()
    echoed_second = yield context.call_activity("echo", second)
    return {"made": [first, second], "echoed": [echoed_first, echoed_second]}


@bp.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    yield context.call_activity("explode", None)


@bp.orchestration_trigger(context_name="context", input_type=Money)
def priced(context: df.DurableOrchestrationContext):
    price = context.get_input()
    if not isinstance(price, Money):
        raise TypeError(f"expected Money, got {type(price).__name__}")
    return (yield context.call_activity(add_vat, price))


app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalDurableEngine]:
    with LocalDurableEngine(app) as started:
        yield started


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def finish(engine: LocalDurableEngine, instance_id: str) -> OrchestrationState:
    state = await asyncio.to_thread(engine.wait_for_completion, instance_id, 10)
    assert state is not None
    return state


async def run(engine: LocalDurableEngine, name: str, input: Any = None) -> OrchestrationState:
    instance_id = await engine.client.start(name, input, new_id(name))
    return await finish(engine, instance_id)


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Polls for up to 5 s: an instance's status offers nothing to await."""
    for _ in range(250):
        if await check():
            return
        await asyncio.sleep(0.02)
    pytest.fail("condition not met within 5 s")


async def has_custom_status(engine: LocalDurableEngine, instance_id: str, expected: Any) -> bool:
    state = await engine.client.status(instance_id)
    return state is not None and state.custom_status == expected


def test_every_orchestrator_and_activity_of_the_app_is_registered(engine: LocalDurableEngine) -> None:
    assert {"call_one", "approval", "priced", "countdown"} <= engine.orchestrator_names
    assert {"double", "double_async", "flaky", "add_vat"} <= engine.activity_names
    assert engine.address.startswith("127.0.0.1:")


async def test_activity_result_returns_to_the_orchestrator(engine: LocalDurableEngine) -> None:
    state = await run(engine, "call_one", 21)
    assert state.runtime_status is RuntimeStatus.COMPLETED
    assert state.output == 42
    assert state.extra["input"] == 21


async def test_async_def_activity_runs(engine: LocalDurableEngine) -> None:
    state = await run(engine, "call_async", 4)
    assert state.output == 8


async def test_activity_with_retry_succeeds_after_a_failed_first_attempt(engine: LocalDurableEngine) -> None:
    state = await run(engine, "retry_flaky")
    assert state.runtime_status is RuntimeStatus.COMPLETED
    assert state.output == 2


async def test_task_all_fans_out_and_in_and_an_empty_one_completes(engine: LocalDurableEngine) -> None:
    state = await run(engine, "fan_out")
    assert state.output == {"results": [0, 2, 4, 6, 8], "nothing": [], "first": 0}


async def test_task_any_returns_the_first_task_with_its_result(engine: LocalDurableEngine) -> None:
    state = await run(engine, "race")
    assert state.output == {"work_won": True, "result": 8, "timer_cancelled": True}


async def test_durable_timer_waits_until_it_fires(engine: LocalDurableEngine) -> None:
    state = await run(engine, "nap")
    assert state.output >= 0.2


async def test_current_utc_datetime_is_timezone_aware_utc(engine: LocalDurableEngine) -> None:
    state = await run(engine, "clock")
    assert datetime.fromisoformat(state.output).utcoffset() == timedelta(0)


async def test_external_event_resumes_the_orchestrator_and_custom_status_is_visible(
    engine: LocalDurableEngine,
) -> None:
    instance_id = await engine.client.start("approval", None, new_id("approval"))
    await eventually(lambda: has_custom_status(engine, instance_id, {"stage": "waiting"}))

    await engine.client.raise_event(instance_id, "decision", {"approved": True})

    state = await finish(engine, instance_id)
    assert state.output == {"approved": True}
    assert state.custom_status == {"stage": "decided"}


async def test_sub_orchestrations_run_with_and_without_retry(engine: LocalDurableEngine) -> None:
    state = await run(engine, "parent")
    assert state.runtime_status is RuntimeStatus.COMPLETED, state.failure
    assert state.output == {"plain": 10, "retried": 2}


async def test_continue_as_new_restarts_with_the_new_input_until_done(engine: LocalDurableEngine) -> None:
    state = await run(engine, "countdown", 0)
    assert state.runtime_status is RuntimeStatus.COMPLETED
    assert state.output == 3


async def test_new_uuid_is_the_same_on_every_replay(engine: LocalDurableEngine) -> None:
    state = await run(engine, "uuids")
    made, echoed = state.output["made"], state.output["echoed"]
    assert made == echoed  # recomputed on the final replay, equal to what the activities saw earlier
    assert len(set(made)) == 2
    assert all(uuid.UUID(value).version == 5 for value in made)


def test_new_uuid_matches_durable_functions_algorithm() -> None:
    class FrozenContext:  # the two things new_uuid reads from a durabletask context
        instance_id = "sync-42-1"
        current_utc_datetime = datetime(2026, 1, 2, 3, 4, 5, 123456)

    ours = OrchestrationContextAdapter(FrozenContext(), None)  # type: ignore[arg-type]
    started = {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": "2026-01-02T03:04:05.123456Z"}
    theirs = DurableOrchestrationContext([started], "sync-42-1", False, "")

    assert [ours.new_uuid() for _ in range(3)] == [theirs.new_uuid() for _ in range(3)]


async def test_a_live_instance_id_is_refused_and_a_finished_one_is_reused(engine: LocalDurableEngine) -> None:
    instance_id = new_id("approval")
    await engine.client.start("approval", None, instance_id)
    with pytest.raises(InstanceAlreadyRunning):
        await engine.client.start("approval", None, instance_id)

    await engine.client.raise_event(instance_id, "decision", "first")
    assert (await finish(engine, instance_id)).output == "first"

    assert await engine.client.start("approval", None, instance_id) == instance_id
    await engine.client.raise_event(instance_id, "decision", "second")
    assert (await finish(engine, instance_id)).output == "second"


async def test_terminate_stops_a_running_instance_with_the_reason(engine: LocalDurableEngine) -> None:
    instance_id = await engine.client.start("approval", None, new_id("approval"))
    await eventually(lambda: has_custom_status(engine, instance_id, {"stage": "waiting"}))

    await engine.client.terminate(instance_id, "operator cancelled")

    state = await finish(engine, instance_id)
    assert state.runtime_status is RuntimeStatus.TERMINATED
    assert state.output == "operator cancelled"


async def test_a_failing_activity_fails_the_orchestration_with_a_reason(engine: LocalDurableEngine) -> None:
    state = await run(engine, "failing")
    assert state.runtime_status is RuntimeStatus.FAILED
    assert state.failure is not None
    assert "kaboom" in state.failure


async def test_custom_class_round_trips_through_input_activity_and_output(engine: LocalDurableEngine) -> None:
    state = await run(engine, "priced", Money(1000, "EUR"))
    assert state.runtime_status is RuntimeStatus.COMPLETED, state.failure
    assert state.output == Money(1200, "EUR")


async def test_unknown_instances_and_orchestrators_are_reported(engine: LocalDurableEngine) -> None:
    assert await engine.client.status("no-such-instance") is None
    with pytest.raises(KeyError):
        await engine.client.raise_event("no-such-instance", "decision")
    with pytest.raises(LookupError):
        await engine.client.start("no_such_orchestrator", None, new_id("unknown"))
