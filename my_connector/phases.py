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


TRANSIENT_FAILURE = "FAILED (retryable)"  # a FAILED job the service marks `retryable`

# The one place job states become task phases (my_connector/README.md lists it as a table).
# SUCCEEDED may still turn into FAILED when the job lacks a declared output, and
# RETRYABLE_FAILED into FAILED for a caller that does not retry attempts (`job_resource`).
STATE_PHASES: Mapping[str, PhaseRule] = {
    "QUEUED": PhaseRule(TaskExecution.QUEUED, lambda job: f"job {job.id} queued"),
    "RUNNING": PhaseRule(
        TaskExecution.RUNNING, lambda job: f"job {job.id} running ({job.log_line_count} log lines so far)"
    ),
    "SUCCEEDED": PhaseRule(TaskExecution.SUCCEEDED, lambda job: f"job {job.id} succeeded"),
    "FAILED": PhaseRule(
        TaskExecution.FAILED, lambda job: f"job {job.id} failed: {job.error or 'no error given'}"
    ),
    TRANSIENT_FAILURE: PhaseRule(
        TaskExecution.RETRYABLE_FAILED,
        lambda job: (
            f"job {job.id} failed for a transient reason, a retry may succeed: "
            f"{job.error or 'no error given'}"
        ),
    ),
    "TIMED_OUT": PhaseRule(
        TaskExecution.FAILED, lambda job: f"job {job.id} timed out after {job.spec.timeout_seconds} s"
    ),
    "CANCELLED": PhaseRule(TaskExecution.ABORTED, lambda job: f"job {job.id} cancelled"),
}

# The end of a task attempt. The SDK's local loop knows only the first three; RETRYABLE_FAILED
# reaches only callers that retry attempts (see `job_resource`).
TERMINAL_PHASES = frozenset(
    {TaskExecution.SUCCEEDED, TaskExecution.FAILED, TaskExecution.ABORTED, TaskExecution.RETRYABLE_FAILED}
)


def state_key(job: BatchJob) -> str:
    """The row of `STATE_PHASES` for `job`: its state, or TRANSIENT_FAILURE."""
    return TRANSIENT_FAILURE if job.state == "FAILED" and job.retryable else job.state


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


def job_resource(
    job: BatchJob, output_names: list[str], log_links: list[TaskLog], *, caller_retries: bool
) -> Resource:
    """The `Resource` Flyte sees for `job`; outputs are picked by the task's declared names.

    `caller_retries`: the caller runs attempts and retries a RETRYABLE_FAILED one (the
    platform, which names the attempt in CreateTask). The SDK's local loop does not: it waits
    for SUCCEEDED, FAILED or ABORTED and would poll a RETRYABLE_FAILED task forever, so there
    a transient failure is FAILED, with the same message.
    """
    rule = STATE_PHASES.get(state_key(job))
    if rule is None:
        raise BatchApiError(f"batch API reported unknown state {job.state!r} for job {job.id}")
    info = custom_info(job)
    if rule.phase == TaskExecution.RETRYABLE_FAILED and not caller_retries:
        return Resource(
            phase=TaskExecution.FAILED, message=rule.message(job), log_links=log_links, custom_info=info
        )
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
