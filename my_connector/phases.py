"""Job state → task phase, in one table, and the `Resource` Flyte sees for a job the API described.

Every answer here is a function of the job the batch API returned and the task's declared
outputs, nothing a process remembers, so every connector replica gives the same one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flyte.connectors import Resource
from flyteidl2.core.execution_pb2 import TaskExecution, TaskLog

from my_connector.api import BatchApiError, BatchJob


@dataclass(frozen=True)
class PhaseRule:
    phase: TaskExecution.Phase
    message: Callable[[BatchJob], str]


# The one place job states become task phases (my_connector/README.md lists it as a table).
# SUCCEEDED may still turn into FAILED when the job lacks a declared output (`job_resource`).
# A job that failed for a transient reason (issue #11 adds such outcomes to the service)
# gets its rule here once that mapping is decided; until then every FAILED job is FAILED.
STATE_PHASES: Mapping[str, PhaseRule] = {
    "QUEUED": PhaseRule(TaskExecution.QUEUED, lambda job: f"job {job.id} queued"),
    "RUNNING": PhaseRule(
        TaskExecution.RUNNING, lambda job: f"job {job.id} running ({job.log_line_count} log lines so far)"
    ),
    "SUCCEEDED": PhaseRule(TaskExecution.SUCCEEDED, lambda job: f"job {job.id} succeeded"),
    "FAILED": PhaseRule(
        TaskExecution.FAILED, lambda job: f"job {job.id} failed: {job.error or 'no error given'}"
    ),
    "TIMED_OUT": PhaseRule(
        TaskExecution.FAILED, lambda job: f"job {job.id} timed out after {job.spec.timeout_seconds} s"
    ),
    "CANCELLED": PhaseRule(TaskExecution.ABORTED, lambda job: f"job {job.id} cancelled"),
}

# What Flyte (and the SDK's local loop) treats as the end of a task.
TERMINAL_PHASES = frozenset({TaskExecution.SUCCEEDED, TaskExecution.FAILED, TaskExecution.ABORTED})


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def custom_info(job: BatchJob) -> dict[str, Any]:
    """What the Flyte UI can show about the job beyond its phase: id, state, state times, lines."""
    return {
        "job_id": job.id,
        "state": job.state,
        "created_at": rfc3339(job.created_at),
        "started_at": rfc3339(job.started_at),
        "finished_at": rfc3339(job.finished_at),
        "log_line_count": job.log_line_count,
    }


def job_resource(job: BatchJob, output_names: list[str], log_links: list[TaskLog]) -> Resource:
    """The `Resource` Flyte sees for `job`; outputs are picked by the task's declared names."""
    rule = STATE_PHASES.get(job.state)
    if rule is None:
        raise BatchApiError(f"batch API reported unknown state {job.state!r} for job {job.id}")
    info = custom_info(job)
    if rule.phase != TaskExecution.SUCCEEDED:
        return Resource(phase=rule.phase, message=rule.message(job), log_links=log_links, custom_info=info)
    produced = job.outputs or {}
    missing = [name for name in output_names if name not in produced]
    if missing:
        return Resource(
            phase=TaskExecution.FAILED,
            message=(
                f"job {job.id} succeeded without the declared output(s) {', '.join(missing)}; "
                f"it returned: {', '.join(sorted(produced)) or 'no outputs'}"
            ),
            log_links=log_links,
            custom_info=info,
        )
    outputs = {name: produced[name] for name in output_names}
    return Resource(
        phase=rule.phase,
        message=rule.message(job),
        log_links=log_links,
        outputs=outputs or None,
        custom_info=info,
    )
