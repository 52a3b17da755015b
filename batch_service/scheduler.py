"""The scheduler: an asyncio task in the service that moves jobs forward in time.

It keeps no state the database does not have (the spec cache only saves re-parsing), so a
restarted process carries on from the tables. Each tick is one write transaction: write
due log lines, finish what is over, renew leases, then claim queued jobs into free slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from batch_service.db import Database
from batch_service.fair_share import fair_shares
from batch_service.feed import JobChange, record
from batch_service.models import JobSpec, JobState, stored_spec
from batch_service.scenario_run import Ending, ending, finishes_by_polls, time_progress, timed_lines
from batch_service.simulation import Progress, final_outputs, line_due_at, run_length
from batch_service.storage_errors import STORAGE_ERRORS, describe_storage_error
from batch_service.store import claims, heartbeats, queue

logger = logging.getLogger("batch_service.scheduler")

MAX_LINES_PER_TICK = 50_000  # bounds one transaction; a job with more due catches up next tick
RETRY_AFTER_ERROR_SECONDS = 1.0
REPEAT_FAILURE_LOG_SECONDS = 30.0  # while ticks keep failing, say so this often (not every second)


@dataclass
class TickReport:
    finished: dict[str, JobState] = field(default_factory=dict)
    lines_written: int = 0
    seconds: float = 0.0  # from asking for the writer to the commit: what holds the next tick back


# Clock readings are epoch seconds (about 2e-7 s apart at today's magnitude): a job is
# skipped only while its next line is this far off, so rounding never delays a line.
QUIET_MARGIN_SECONDS = 0.001


@dataclass(frozen=True)
class Quiet:
    """Nothing is due for a job before `moment` while it has these lines and this start."""

    log_line_count: int
    started_at: float
    moment: float


@dataclass(frozen=True)
class Plan:
    """What the scheduler derives from a running job's spec once, not on every tick."""

    spec: JobSpec
    run_length: float
    ending: Ending
    by_polls: bool  # its GETs move it on (scenario_store.py), not the scheduler


def plan(spec: JobSpec) -> Plan:
    return Plan(spec, run_length(spec), ending(spec), finishes_by_polls(spec))


def quiet_until(plan: Plan, started_at: float, log_line_count: int) -> Quiet:
    """When a job's next line or its end falls due (less a margin), as the simulation says:
    at 10,000 running jobs, a tick every 0.1 s finds most with nothing to do, and skipping
    them is most of a tick's cost."""
    moment = started_at + plan.run_length
    if log_line_count < plan.spec.log_lines:
        moment = min(moment, line_due_at(plan.spec, started_at, log_line_count))
    return Quiet(log_line_count, started_at, moment - QUIET_MARGIN_SECONDS)


class Scheduler:
    def __init__(
        self,
        db: Database,
        *,
        max_running: int,
        max_running_per_owner: int | None = None,
        lines_per_tick: int = MAX_LINES_PER_TICK,
        lease_seconds: float,
        tick_seconds: float,
        on_tick: Callable[[TickReport], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.replica = f"replica-{uuid.uuid4().hex[:12]}"
        self.max_running = max_running
        self.max_running_per_owner = max_running_per_owner or max_running
        self.lines_per_tick = lines_per_tick
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self._on_tick = on_tick
        self._clock = clock
        self._plans: dict[int, Plan] = {}
        self._quiet_until: dict[int, Quiet] = {}  # jobs with nothing due before a moment
        self.failing_since: float | None = None  # set while ticks fail: jobs are not advancing
        self.last_failure = ""
        self._last_failure_logged = 0.0

    async def start(self) -> None:
        """Put this process's heartbeat row in the database and, on SQLite, adopt its jobs."""
        await self.db.write(heartbeats.register, replica=self.replica, now=self._clock())
        if self.db.is_sqlite:
            await self.db.write(self._adopt_running)

    async def run_forever(self) -> None:
        try:
            while True:
                delay = await self._tick_once()
                await asyncio.sleep(delay)
        finally:
            with contextlib.suppress(*STORAGE_ERRORS):
                await self.db.write(heartbeats.forget, replica=self.replica)

    async def _tick_once(self) -> float:
        """One tick; returns how long to wait before the next."""
        try:
            await self.tick()
        except claims.JobsChangedUnderTick as race:
            logger.info("scheduler tick rolled back (%s); redoing it", race)
            return 0.0
        except Exception as error:
            self._record_failure(error)
            return RETRY_AFTER_ERROR_SECONDS
        if self.failing_since is not None:
            stalled = time.monotonic() - self.failing_since
            logger.warning("scheduler recovered after %.0f s of failed ticks", stalled)
            self.failing_since = None
        return self.tick_seconds

    def _record_failure(self, error: Exception) -> None:
        """Say loudly that running jobs have stopped advancing, then say it again now and then."""
        now = time.monotonic()
        self.last_failure = describe_storage_error(error)
        if self.failing_since is None:
            self.failing_since = now
            message = "scheduler tick failed, running jobs are paused until it works again: %s"
            logger.error(message, self.last_failure, exc_info=not isinstance(error, STORAGE_ERRORS))
        elif now - self._last_failure_logged >= REPEAT_FAILURE_LOG_SECONDS:
            stalled = now - self.failing_since
            logger.error("scheduler ticks failing for %.0f s: %s", stalled, self.last_failure)
        else:
            return
        self._last_failure_logged = now

    async def tick(self) -> TickReport:
        started = time.perf_counter()
        report = await self.db.write(self._tick, now=self._clock())
        report.seconds = time.perf_counter() - started
        if self._on_tick is not None:
            self._on_tick(report)
        return report

    def _adopt_running(self, *, session: Session) -> None:
        adopted = claims.adopt_all_running(
            session=session, replica=self.replica, now=self._clock(), lease_seconds=self.lease_seconds
        )
        session.commit()
        if adopted:
            logger.info("resumed %d running job(s) left by a previous process", adopted)

    def _tick(self, *, session: Session, now: float) -> TickReport:
        lease = {"replica": self.replica, "now": now, "lease_seconds": self.lease_seconds}
        report = TickReport()
        claims.take_over_expired_leases(session=session, **lease)
        running = claims.lock_running_jobs(session=session, replica=self.replica)
        self._cache_plans(session, running)

        plans, quiet_until_of = self._plans, self._quiet_until.get
        due = [
            job
            for job in running
            if not plans[job.pk].by_polls and not _is_quiet(quiet_until_of(job.pk), job, now)
        ]
        progress_of = {job.pk: time_progress(plans[job.pk].spec, job.started_at, now) for job in due}
        allowance = self._share_lines(due, progress_of)
        lines: list[dict[str, object]] = []
        progress_counts: dict[int, int] = {}
        outcomes: list[claims.Outcome] = []
        for job in due:
            job_plan, progress = plans[job.pk], progress_of[job.pk]
            written = job.log_line_count + allowance[job.pk]
            first_line = len(lines)
            if written > job.log_line_count:
                lines += [
                    {
                        "job_pk": job.pk,
                        "seq": line.seq,
                        "timestamp": line.timestamp,
                        "level": line.level.value,
                        "message": line.message,
                    }
                    for line in timed_lines(
                        job_plan.spec, job.started_at, job.log_line_count, written, job_plan.ending
                    )
                ]
            if progress.outcome is not None and written == progress.lines_due:
                end = job_plan.ending
                outcomes.append(
                    claims.Outcome(
                        pk=job.pk,
                        log_line_count=written,
                        state=progress.outcome,
                        finished_at=job.started_at + job_plan.run_length,  # when it ended, not now
                        outputs=final_outputs(job_plan.spec, job.id)
                        if progress.outcome is JobState.SUCCEEDED
                        else None,
                        error=end.error,
                        retryable=end.retryable,
                    )
                )
                report.finished[job.id] = progress.outcome
                state = progress.outcome
            else:
                self._quiet_until[job.pk] = quiet_until(job_plan, job.started_at, written)
                if written == job.log_line_count:
                    continue
                progress_counts[job.pk] = written
                state = JobState.RUNNING
            only_count_moved = state is JobState.RUNNING  # so the read cache keeps its row
            change = JobChange(
                job.pk, job.id, state.value, written, lines=lines[first_line:], lines_only=only_count_moved
            )
            record(session, change)

        claims.append_log_lines(session=session, lines=lines)
        claims.save_progress(session=session, replica=self.replica, counts=progress_counts)
        claims.save_outcomes(session=session, replica=self.replica, outcomes=outcomes)
        claims.renew_leases(session=session, **lease)
        # Claim last, so slots freed by jobs that just finished are filled in the same tick.
        started = queue.claim_queued_jobs(
            session=session, capacity=self.max_running, per_owner=self.max_running_per_owner, **lease
        )
        for pk, job_id in started:
            record(session, JobChange(pk, job_id, JobState.RUNNING.value, 0, lines=()))
        session.commit()
        report.lines_written = len(lines)
        if report.finished or len(self._plans) > len(running):
            live = {job.pk for job in running if job.id not in report.finished}
            self._plans = {pk: job_plan for pk, job_plan in self._plans.items() if pk in live}
            self._quiet_until = {pk: quiet for pk, quiet in self._quiet_until.items() if pk in live}
        return report

    def _share_lines(
        self, running: Sequence[claims.RunningJob], progress_of: dict[int, Progress]
    ) -> dict[int, int]:
        """Split the tick's line budget: fairly between owners, then between each owner's jobs,
        so two million-line jobs of one owner cannot hold back another owner's ten lines."""
        wanted: dict[str, dict[int, int]] = {}
        total = 0
        for job in running:
            if job.pk in progress_of:
                lines = progress_of[job.pk].lines_due - job.log_line_count
                wanted.setdefault(job.owner, {})[job.pk] = lines
                total += max(0, lines)
        if total <= self.lines_per_tick:  # all of it fits: what max-min shares would give too
            return {pk: max(0, lines) for jobs in wanted.values() for pk, lines in jobs.items()}
        per_owner = fair_shares(
            {owner: sum(jobs.values()) for owner, jobs in wanted.items()}, self.lines_per_tick
        )
        return {
            pk: lines
            for owner, jobs in wanted.items()
            for pk, lines in fair_shares(jobs, per_owner[owner]).items()
        }

    def _cache_plans(self, session: Session, running: Sequence[claims.RunningJob]) -> None:
        missing = [job.pk for job in running if job.pk not in self._plans]
        if missing:
            for pk, raw in claims.load_specs(session=session, pks=missing).items():
                self._plans[pk] = plan(stored_spec(raw))


def _is_quiet(quiet: Quiet | None, job: claims.RunningJob, now: float) -> bool:
    """Whether nothing can be due for `job` yet: its count and start are those the last tick
    saw, and its next line (or its end) is not due before `now`."""
    return (
        quiet is not None
        and now < quiet.moment
        and quiet.log_line_count == job.log_line_count
        and quiet.started_at == job.started_at
    )
