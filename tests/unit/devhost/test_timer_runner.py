"""devhost.timers runs timerTrigger functions on their NCRONTAB schedules and on demand."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest

from devhost.discovery import discover
from devhost.timers import (
    CronSchedule,
    IntervalSchedule,
    TimerRunner,
    UnknownTimerError,
    parse_schedule,
)

app = func.FunctionApp()
runs: dict[str, list[func.TimerRequest]] = {}
_lock = threading.Lock()
NEVER = "0 0 0 1 1 *"  # once a year: never during a test


def _record(name: str, timer: func.TimerRequest) -> None:
    with _lock:
        runs.setdefault(name, []).append(timer)


@app.timer_trigger(arg_name="timer", schedule="* * * * * *")
def every_second(timer: func.TimerRequest) -> None:
    _record("every_second", timer)


@app.timer_trigger(arg_name="timer", schedule="* * * * * *")
def always_fails(timer: func.TimerRequest) -> None:
    _record("always_fails", timer)
    raise RuntimeError("boom")


@app.timer_trigger(arg_name="timer", schedule=NEVER, run_on_startup=True)
async def on_startup(timer: func.TimerRequest) -> None:
    _record("on_startup", timer)


@app.timer_trigger(arg_name="timer", schedule="%NIGHTLY_SCHEDULE%")
def nightly(timer: func.TimerRequest) -> None:
    _record("nightly", timer)


SETTINGS = {"NIGHTLY_SCHEDULE": "0 30 2 * * *"}


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    runs.clear()


@pytest.fixture
def run_timers() -> Iterator[Callable[..., TimerRunner]]:
    started: list[TimerRunner] = []

    def start(*names: str) -> TimerRunner:
        functions = [f for f in discover(app) if f.name in names]
        runner = TimerRunner(functions, settings=SETTINGS)
        runner.start()
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.stop()


def _wait_for_runs(name: str, count: int, timeout: float = 5.0) -> list[func.TimerRequest]:
    deadline = time.monotonic() + timeout
    while len(runs.get(name, [])) < count:
        assert time.monotonic() < deadline, f"{name} ran {len(runs.get(name, []))} times, wanted {count}"
        time.sleep(0.02)
    return runs[name]


def test_six_field_schedules_have_seconds_first() -> None:
    schedule = parse_schedule("30 */5 * * * *")
    start = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)

    assert isinstance(schedule, CronSchedule)
    assert schedule.next_after(start) == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert schedule.next_after(start + timedelta(seconds=30)) == datetime(2026, 1, 1, 0, 5, 30, tzinfo=UTC)


def test_five_field_and_timespan_schedules_are_understood_too() -> None:
    start = datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)

    assert parse_schedule("*/10 * * * *").next_after(start) == datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    assert parse_schedule("01:30:00") == IntervalSchedule(timedelta(hours=1, minutes=30))


@pytest.mark.parametrize("expression", ["every minute", "* * *", "61 * * * * *", "00:00:00"])
def test_a_bad_schedule_is_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"not an NCRONTAB|must be positive"):
        parse_schedule(expression)


def test_a_timer_fires_on_its_schedule(run_timers: Callable[..., TimerRunner]) -> None:
    runner = run_timers("every_second")

    fired = _wait_for_runs("every_second", 2, timeout=4)

    assert all(isinstance(t, func.TimerRequest) and t.past_due is False for t in fired)
    assert "Last" in fired[1].schedule_status
    assert runner.next_run("every_second") is not None


def test_a_failing_timer_is_logged_and_keeps_its_schedule(
    run_timers: Callable[..., TimerRunner], caplog: pytest.LogCaptureFixture
) -> None:
    run_timers("always_fails")

    _wait_for_runs("always_fails", 2, timeout=4)

    assert "timer always_fails failed" in caplog.text


def test_run_on_startup_fires_at_once_even_for_an_async_function(run_timers: Callable[..., TimerRunner]) -> None:
    run_timers("on_startup")

    assert len(_wait_for_runs("on_startup", 1, timeout=2)) == 1


def test_invoke_runs_a_timer_now_whatever_its_schedule() -> None:
    runner = TimerRunner(discover(app), settings=SETTINGS)

    runner.invoke("nightly")

    assert [t.past_due for t in runs["nightly"]] == [False]


def test_invoke_reports_the_error_of_a_failing_timer_and_unknown_names() -> None:
    runner = TimerRunner(discover(app), settings=SETTINGS)

    with pytest.raises(RuntimeError, match="boom"):
        runner.invoke("always_fails")
    with pytest.raises(UnknownTimerError):
        runner.invoke("no_such_timer")


def test_schedules_can_name_an_app_setting() -> None:
    runner = TimerRunner([f for f in discover(app) if f.name == "nightly"], settings=SETTINGS)

    assert runner.names == ["nightly"]
    with pytest.raises(KeyError, match="NIGHTLY_SCHEDULE"):
        TimerRunner([f for f in discover(app) if f.name == "nightly"], settings={})
