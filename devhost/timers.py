"""Runs the app's timerTrigger functions on their NCRONTAB schedules, as the Functions host does."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Protocol

from azure.functions.timer import TimerRequest
from croniter import croniter

from devhost.discovery import DiscoveredFunction
from devhost.runners import ExtraArgs, WorkerThreads, call_function, resolve_settings

log = logging.getLogger(__name__)

# How late a run may start before it counts as past due (the host flags runs it missed).
PAST_DUE_TOLERANCE = timedelta(seconds=1)
_TIMESPAN = re.compile(r"(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})")


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime: ...


@dataclass(frozen=True)
class CronSchedule:
    """NCRONTAB: six fields with seconds first, or the classic five."""

    expression: str

    def next_after(self, moment: datetime) -> datetime:
        with_seconds = len(self.expression.split()) == 6
        result: datetime = croniter(self.expression, moment, second_at_beginning=with_seconds).get_next(datetime)
        return result


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule ("00:05:00"), which the host allows on App Service plans."""

    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval


def parse_schedule(expression: str) -> Schedule:
    timespan = _TIMESPAN.fullmatch(expression.strip())
    if timespan:
        parts = {k: int(v or 0) for k, v in timespan.groupdict().items()}
        interval = timedelta(**parts)
        if interval <= timedelta(0):
            raise ValueError(f"timer interval must be positive: {expression!r}")
        return IntervalSchedule(interval)
    fields = expression.split()
    if len(fields) in (5, 6) and croniter.is_valid(expression, second_at_beginning=len(fields) == 6):
        return CronSchedule(" ".join(fields))
    raise ValueError(f"not an NCRONTAB expression (6 fields, seconds first) nor a TimeSpan: {expression!r}")


class UnknownTimerError(KeyError):
    """No timerTrigger function has that name."""


@dataclass
class _Timer:
    fn: DiscoveredFunction
    schedule: Schedule
    run_on_startup: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: datetime | None = None
    next: datetime | None = None


class TimerRunner:
    """One thread per timer function; a run that raises is logged and the schedule goes on."""

    def __init__(
        self,
        functions: Iterable[DiscoveredFunction],
        *,
        extra_args: ExtraArgs | None = None,
        settings: Mapping[str, str] | None = None,
        tz: tzinfo = UTC,
    ) -> None:
        self._extra_args = extra_args
        self._tz = tz
        self._threads = WorkerThreads("timers")
        self._timers = {
            fn.name: _Timer(
                fn=fn,
                schedule=parse_schedule(resolve_settings(fn.trigger["schedule"], settings)),
                run_on_startup=bool(fn.trigger.get("runOnStartup", False)),
            )
            for fn in functions
            if fn.trigger_type == "timerTrigger"
        }

    @property
    def names(self) -> list[str]:
        return sorted(self._timers)

    def next_run(self, name: str) -> datetime | None:
        return self._timer(name).next

    def start(self) -> None:
        if self._threads.running:
            return
        for name, timer in self._timers.items():
            self._threads.start(partial(self._run_schedule, timer), label=name)
        log.info("timers started: %s", ", ".join(self.names) or "none")

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop scheduling; waits up to `timeout` for running timers. False if some are still running."""
        return self._threads.stop(timeout)

    def invoke(self, name: str) -> None:
        """Run a timer now, in the caller's thread (the host's POST /admin/functions/{name}); raises its error."""
        self._fire(self._timer(name), past_due=False, reraise=True)

    def _timer(self, name: str) -> _Timer:
        try:
            return self._timers[name]
        except KeyError:
            raise UnknownTimerError(f"no timer function named {name!r}; timers: {self.names}") from None

    def _now(self) -> datetime:
        return datetime.now(self._tz)

    def _run_schedule(self, timer: _Timer) -> None:
        if timer.run_on_startup:
            self._fire(timer, past_due=False)
        due = timer.schedule.next_after(self._now())
        timer.next = due
        while not self._threads.sleep(max((due - self._now()).total_seconds(), 0.0)):
            self._fire(timer, past_due=self._now() - due > PAST_DUE_TOLERANCE)
            # Like the host, the next occurrence counts from the end of this run: no catch-up burst.
            due = timer.schedule.next_after(self._now())
            timer.next = due

    def _fire(self, timer: _Timer, *, past_due: bool, reraise: bool = False) -> None:
        # The host never overlaps two runs of one timer; a manual invoke waits for a scheduled run.
        with timer.lock:
            started = self._now()
            request = TimerRequest(
                past_due=past_due, schedule_status=_status(timer, started), schedule={"AdjustForDST": True}
            )
            try:
                call_function(timer.fn, request, self._extra_args)
            except Exception:
                log.exception("timer %s failed", timer.fn.name)
                if reraise:
                    raise
            else:
                log.info("timer %s ran (past_due=%s)", timer.fn.name, past_due)
            finally:
                timer.last = started


def _status(timer: _Timer, now: datetime) -> dict[str, str]:
    status = {"LastUpdated": now.isoformat()}
    if timer.last:
        status["Last"] = timer.last.isoformat()
    if timer.next:
        status["Next"] = timer.next.isoformat()
    return status
