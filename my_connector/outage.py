"""What GetTask answers while the batch API does not: the same on every connector replica.

The platform may send one task's GetTask calls to any of several `c0` replicas, so the
phase cannot rest on what one process happens to remember. It rests on what the platform
stores for the task (`BatchJobMetadata`: when the job was submitted, its timeout) and on
the clock:

* until `submitted_at + timeout_seconds + outage_grace_seconds` the task stays RUNNING:
  a short outage is not a failure, and the job cannot outlive its own timeout anyway;
* from then on a job the service still does not answer about is FAILED, with a message
  saying since when the service has not answered.

"Since when" is this process's own observation (its last answer for the job, or else its
first unanswered call), so it only ever appears in the message; it never decides a phase.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from flyte.connectors import Resource
from flyteidl2.core.execution_pb2 import TaskExecution, TaskLog

from my_connector.api import BatchServiceUnavailable
from my_connector.metadata import BatchJobMetadata

# Jobs whose last contact one process remembers, for messages only; the oldest leave first.
CONTACTS_KEPT = 10_000


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Silence:
    """Since when this process has had no answer about a job, and whether it ever had one."""

    since: float
    after_an_answer: bool

    def describe(self) -> str:
        if self.after_an_answer:
            return f"since {utc(self.since)} (its last answer to this connector)"
        return f"since at least {utc(self.since)} (this connector's first unanswered call)"


class LastContact:
    """When this process last heard from the batch API about each job: text for outage messages."""

    def __init__(self, kept: int = CONTACTS_KEPT) -> None:
        self._kept = kept
        self._contacts: OrderedDict[str, Silence] = OrderedDict()

    def answered(self, job_id: str, at: float) -> None:
        self._remember(job_id, Silence(since=at, after_an_answer=True))

    def silence(self, job_id: str, now: float) -> Silence:
        """The job's silence as of `now`; its first unanswered call starts one if it had no answer."""
        known = self._contacts.get(job_id)
        if known is None:
            known = Silence(since=now, after_an_answer=False)
            self._remember(job_id, known)
        return known

    def forget(self, job_id: str) -> None:
        self._contacts.pop(job_id, None)

    def _remember(self, job_id: str, silence: Silence) -> None:
        self._contacts[job_id] = silence
        self._contacts.move_to_end(job_id)
        while len(self._contacts) > self._kept:
            self._contacts.popitem(last=False)


def unanswered_resource(
    meta: BatchJobMetadata,
    error: BatchServiceUnavailable,
    *,
    silence: Silence,
    now: float,
    grace_seconds: float,
    log_links: list[TaskLog],
) -> Resource:
    """RUNNING while the job may still be running, FAILED once it is past its deadline unanswered.

    Metadata from before `submitted_at` was recorded has no deadline: such a task stays RUNNING.
    """
    info = {"job_id": meta.job_id, "state": None}
    if meta.submitted_at is None or meta.timeout_seconds is None:
        return Resource(
            phase=TaskExecution.RUNNING,
            message=f"batch service not answering; job {meta.job_id} taken as still running: {error}",
            log_links=log_links,
            custom_info=info,
        )
    deadline = meta.submitted_at + meta.timeout_seconds + grace_seconds
    if now < deadline:
        return Resource(
            phase=TaskExecution.RUNNING,
            message=(
                f"batch service not answering; job {meta.job_id} taken as still running until "
                f"{utc(deadline)}, then failed if the service is still silent: {error}"
            ),
            log_links=log_links,
            custom_info=info,
        )
    return Resource(
        phase=TaskExecution.FAILED,
        message=(
            f"batch service has not answered about job {meta.job_id} {silence.describe()}; giving up: "
            f"the job should have ended by {utc(deadline)} (submitted {utc(meta.submitted_at)}, "
            f"{meta.timeout_seconds} s timeout + {grace_seconds:g} s grace). Last error: {error}"
        ),
        log_links=log_links,
        custom_info=info,
    )
