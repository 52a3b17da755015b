"""A job's scenario: the situation a connector's test wants the job to put it in.

It extends the job spec with what a real batch system does on its own: sit in QUEUED for a
while, move on when it is asked rather than by the clock (so a test can see every state
exactly once), end in a chosen way (including a transient failure such as a lost machine),
and fail some of the API calls made about this very job. Everything here is validated up
front; a scenario that contradicts itself (or the spec around it) is refused with a message
naming the fields that clash. `docs/testing.md#scenarios` has the contract.

Polls: `running_after_polls: N` means the job stays QUEUED while N GETs of it are answered
and the next one sees it RUNNING; `finished_after_polls: M` likewise for its end. GETs that
a fault answers (`faults.get`) do not count as polls.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from batch_service.faults import FaultAction

MAX_POLLS = 10_000
MAX_POLL_DRIVEN_LINES = 10_000  # a run that ends by polls writes its lines inside a GET's transaction
DEFAULT_TRANSIENT_MESSAGE = "the machine running the job was lost"
Message = Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=r"^[^\x00]*$")]


class ScenarioOutcome(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    TRANSIENT_FAILURE = "TRANSIENT_FAILURE"  # ends FAILED with `retryable: true`


class CallFault(FaultAction):
    """A fault on this job's calls of one kind: calls number `from_call` to `from_call + times - 1`
    (counting from 1, every call of that kind about this job) get `FaultAction`."""

    from_call: int = Field(1, ge=1, le=MAX_POLLS, description="the first call that fails (1 = the first)")
    times: int = Field(1, ge=1, le=MAX_POLLS, description="how many calls in a row fail")

    def covers(self, call_number: int) -> bool:
        return self.from_call <= call_number < self.from_call + self.times

    def failed_calls_among(self, calls: int) -> int:
        """How many of the first `calls` calls this fault answered itself (a delay answers none)."""
        if not self.answers:
            return 0
        return max(0, min(calls - self.from_call + 1, self.times))


class JobFaults(BaseModel):
    """Faults on the calls made about this job, each counted per job and kept across restarts."""

    model_config = ConfigDict(extra="forbid", strict=True)

    get: CallFault | None = Field(None, description="GET /v1/jobs/{id}, e.g. the first 3 answer 503")
    logs: CallFault | None = Field(
        None, description="reads of its log (pages or follow), e.g. the 2nd read answers 500 once"
    )
    cancel: CallFault | None = Field(None, description="POST …/cancel; a fault means the cancel is not done")


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    queued_seconds: float = Field(
        0, ge=0, le=86_400, allow_inf_nan=False, description="stay QUEUED at least this long"
    )
    running_after_polls: int | None = Field(
        None, ge=0, le=MAX_POLLS, description="start once this many GETs of the job were answered"
    )
    finished_after_polls: int | None = Field(
        None, ge=1, le=MAX_POLLS, description="end once this many GETs were answered (not by time)"
    )
    outcome: ScenarioOutcome | None = Field(
        None, strict=False, description="how the run ends; default from the spec"
    )  # not strict: FastAPI validates parsed JSON, where an enum is its string
    message: Message | None = Field(None, description="the error of a FAILED or TRANSIENT_FAILURE outcome")
    faults: JobFaults | None = None

    @property
    def finishes_by_polls(self) -> bool:
        return self.finished_after_polls is not None

    @property
    def starts_by_polls(self) -> bool:
        return self.running_after_polls is not None or self.finishes_by_polls

    @property
    def start_poll(self) -> int:
        return self.running_after_polls or 0

    @model_validator(mode="after")
    def _coherent(self) -> Scenario:
        clashes = scenario_clashes(self)
        if clashes:
            raise ValueError("; ".join(clashes))
        return self


def scenario_clashes(scenario: Scenario) -> list[str]:
    """Contradictions inside a scenario, each naming its fields."""
    clashes = []
    if scenario.finished_after_polls is not None:
        if scenario.finished_after_polls <= scenario.start_poll:
            clashes.append(
                "running_after_polls and finished_after_polls clash: a job ends after it starts, "
                "so finished_after_polls must be larger"
            )
        if scenario.queued_seconds:
            clashes.append(
                "queued_seconds and finished_after_polls clash: a job that ends by polls also starts "
                "by polls (use running_after_polls)"
            )
    if scenario.message is not None and scenario.outcome not in {
        ScenarioOutcome.FAILED,
        ScenarioOutcome.TRANSIENT_FAILURE,
    }:
        clashes.append("message and outcome clash: a message goes with a FAILED or TRANSIENT_FAILURE outcome")
    if scenario.outcome is ScenarioOutcome.FAILED and scenario.message is None:
        clashes.append("outcome FAILED needs a message (the job's error)")
    return clashes


def spec_clashes(
    scenario: Scenario,
    *,
    duration_seconds: float,
    duration_given: bool,
    timeout_seconds: int,
    fail_message: str | None,
    log_lines: int,
) -> list[str]:
    """Contradictions between a scenario and the spec around it (`fail_message`, the times)."""
    clashes = []
    outcome = scenario.outcome
    times_out = timeout_seconds < duration_seconds
    if outcome is not None and fail_message is not None:
        clashes.append("fail_message and scenario.outcome clash: say how the job ends in one place")
    if scenario.finishes_by_polls:
        if duration_given:
            clashes.append(
                "duration_seconds and scenario.finished_after_polls clash: "
                "a run ends either by time or by polls"
            )
        if log_lines > MAX_POLL_DRIVEN_LINES:
            clashes.append(
                f"log_lines and scenario.finished_after_polls clash: a run that ends by polls writes at most "
                f"{MAX_POLL_DRIVEN_LINES:,} lines"
            )
    elif outcome is ScenarioOutcome.TIMED_OUT and not times_out:
        clashes.append(
            "scenario.outcome TIMED_OUT and duration_seconds clash: a run ended by time times out only "
            "when duration_seconds exceeds timeout_seconds"
        )
    elif outcome is not None and outcome is not ScenarioOutcome.TIMED_OUT and times_out:
        clashes.append(
            f"scenario.outcome {outcome.value} and timeout_seconds clash: a duration_seconds over "
            "timeout_seconds always ends TIMED_OUT"
        )
    return clashes
