"""The scheduler: an asyncio task in the service that moves jobs forward in time.

It keeps no state the database does not have (the spec cache only saves re-parsing), so a
restarted process carries on from the tables. Each tick is one write transaction: write
due log lines, finish what is over, renew leases, then claim queued jobs into free slots.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from batch_service.db import Database
from batch_service.models import JobSpec, JobState, stored_spec
from batch_service.scenario_run import ending, finishes_by_polls, time_progress, timed_line
from batch_service.simulation import final_outputs, run_length
from batch_service.store import claims

logger = logging.getLogger("batch_service.scheduler")

MAX_LINES_PER_TICK = 50_000  # bounds one transaction; a job with more due catches up next tick
RETRY_AFTER_ERROR_SECONDS = 1.0


@dataclass
class TickReport:
    finished: dict[str, JobState] = field(default_factory=dict)
    lines_written: int = 0


class Scheduler:
    def __init__(
        self,
        db: Database,
        *,
        max_running: int,
        lease_seconds: float,
        tick_seconds: float,
        on_tick: Callable[[TickReport], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.replica = f"replica-{uuid.uuid4().hex[:12]}"
        self.max_running = max_running
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self._on_tick = on_tick
        self._clock = clock
        self._specs: dict[int, JobSpec] = {}

    async def start(self) -> None:
        if self.db.is_sqlite:
            await self.db.write(self._adopt_running)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.tick()
                delay = self.tick_seconds
            except claims.JobsChangedUnderTick as race:
                logger.info("scheduler tick rolled back (%s); redoing it", race)
                delay = 0.0
            except Exception:
                logger.exception("scheduler tick failed; retrying in %.1f s", RETRY_AFTER_ERROR_SECONDS)
                delay = RETRY_AFTER_ERROR_SECONDS
            await asyncio.sleep(delay)

    async def tick(self) -> TickReport:
        report = await self.db.write(self._tick, now=self._clock())
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
        self._cache_specs(session, [job.pk for job in running])

        budget = MAX_LINES_PER_TICK
        lines: list[dict[str, object]] = []
        progress_counts: dict[int, int] = {}
        outcomes: list[claims.Outcome] = []
        for job in running:
            spec = self._specs[job.pk]
            if finishes_by_polls(spec):
                continue  # its GETs move it on (batch_service/scenario_store.py)
            progress = time_progress(spec, job.started_at, now)
            written = min(progress.lines_due, job.log_line_count + budget)
            for seq in range(job.log_line_count, written):
                line = timed_line(spec, job.started_at, seq)
                lines.append(
                    {
                        "job_pk": job.pk,
                        "seq": seq,
                        "timestamp": line.timestamp,
                        "level": line.level,
                        "message": line.message,
                    }
                )
            budget -= written - job.log_line_count
            if progress.outcome is not None and written == progress.lines_due:
                end = ending(spec)
                outcomes.append(
                    claims.Outcome(
                        pk=job.pk,
                        log_line_count=written,
                        state=progress.outcome,
                        finished_at=job.started_at + run_length(spec),  # when it ended, not now
                        outputs=final_outputs(spec, job.id)
                        if progress.outcome is JobState.SUCCEEDED
                        else None,
                        error=end.error,
                        retryable=end.retryable,
                    )
                )
                report.finished[job.id] = progress.outcome
            elif written != job.log_line_count:
                progress_counts[job.pk] = written

        claims.append_log_lines(session=session, lines=lines)
        claims.save_progress(session=session, replica=self.replica, counts=progress_counts)
        claims.save_outcomes(session=session, replica=self.replica, outcomes=outcomes)
        claims.renew_leases(session=session, **lease)
        # Claim last, so slots freed by jobs that just finished are filled in the same tick.
        claims.claim_queued_jobs(session=session, capacity=self.max_running, **lease)
        session.commit()
        report.lines_written = len(lines)
        live = {job.pk for job in running if job.id not in report.finished}
        self._specs = {pk: spec for pk, spec in self._specs.items() if pk in live}
        return report

    def _cache_specs(self, session: Session, pks: list[int]) -> None:
        missing = [pk for pk in pks if pk not in self._specs]
        if missing:
            for pk, raw in claims.load_specs(session=session, pks=missing).items():
                self._specs[pk] = stored_spec(raw)
