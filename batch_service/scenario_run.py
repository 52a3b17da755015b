"""How a job runs once its scenario is taken into account: a pure function of its spec, its
state times and the GETs of it answered so far.

`simulation.py` says what a plain job has done by a moment; this module adds what a
scenario changes: when a QUEUED job may start, a run that moves by polls instead of time,
and how the run ends (a scenario may pick a failure, a timeout or a transient failure).
Whoever applies it (the scheduler for time, a GET for polls) gets the same answer, which is
what keeps a restarted process or a second replica in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from batch_service.models import JobSpec, JobState, LogLevel
from batch_service.scenario import DEFAULT_TRANSIENT_MESSAGE, CallFault, ScenarioOutcome
from batch_service.simulation import Progress, SimulatedLine, final_error, progress_at, simulated_line

NEVER = math.inf  # `not_before` of a job that starts by polls: the scheduler never starts it by time


@dataclass(frozen=True)
class Ending:
    """How the run ends: the terminal state, the job's error, and whether retrying may help."""

    state: JobState
    error: str | None
    retryable: bool = False


def ending(spec: JobSpec) -> Ending:
    outcome = spec.scenario.outcome if spec.scenario else None
    if outcome is None:
        natural = progress_at(spec, 0.0, math.inf).outcome or JobState.SUCCEEDED
        return Ending(natural, final_error(spec, natural))
    if outcome is ScenarioOutcome.TRANSIENT_FAILURE:
        return Ending(JobState.FAILED, spec.scenario.message or DEFAULT_TRANSIENT_MESSAGE, retryable=True)
    state = JobState(outcome.value)
    if state is JobState.FAILED:
        return Ending(state, spec.scenario.message)
    return Ending(state, final_error(spec, state))


def finishes_by_polls(spec: JobSpec) -> bool:
    return spec.scenario is not None and spec.scenario.finishes_by_polls


def not_before(spec: JobSpec, created_at: float) -> float | None:
    """The earliest moment the scheduler may start the job, or None for "as soon as a slot frees"."""
    if spec.scenario is None:
        return None
    if spec.scenario.starts_by_polls:
        return NEVER
    return created_at + spec.scenario.queued_seconds if spec.scenario.queued_seconds else None


def time_progress(spec: JobSpec, started_at: float, now: float) -> Progress:
    """A run that moves by time, ending the way its scenario says."""
    progress = progress_at(spec, started_at, now)
    if progress.outcome is None:
        return progress
    return Progress(progress.lines_due, ending(spec).state)


def poll_progress(spec: JobSpec, polls: int) -> Progress:
    """A run that moves by polls: its lines spread evenly over the polls between start and end."""
    if spec.scenario is None or spec.scenario.finished_after_polls is None:
        raise ValueError("poll_progress is for jobs whose scenario ends by polls")
    first, last = spec.scenario.start_poll, spec.scenario.finished_after_polls
    if polls >= last:
        return Progress(spec.log_lines, ending(spec).state)
    done = max(0, polls - first)
    return Progress(math.floor(spec.log_lines * done / (last - first)), None)


def answered_polls(spec: JobSpec, get_calls: int) -> int:
    """GETs of the job that it answered itself, out of `get_calls` received."""
    fault = get_fault(spec)
    return get_calls - (fault.failed_calls_among(get_calls) if fault else 0)


def get_fault(spec: JobSpec) -> CallFault | None:
    return spec.scenario.faults.get if spec.scenario and spec.scenario.faults else None


def line_at(spec: JobSpec, seq: int, timestamp: float, end: Ending | None = None) -> SimulatedLine:
    """Line `seq` written at `timestamp`: a failing run's last line is an ERROR with its error.

    `end` overrides how the run ends (a job forced to a state by an admin)."""
    plain = simulated_line(spec, 0.0, seq)
    return _as_ended(spec, SimulatedLine(seq, timestamp, plain.level, plain.message), end or ending(spec))


def _as_ended(spec: JobSpec, line: SimulatedLine, end: Ending) -> SimulatedLine:
    if line.seq == spec.log_lines - 1 and end.state is JobState.FAILED and end.error is not None:
        return SimulatedLine(line.seq, line.timestamp, LogLevel.ERROR, f"{spec.name}: {end.error}")
    return line


def timed_lines(
    spec: JobSpec, started_at: float, first: int, stop: int, end: Ending | None = None
) -> list[SimulatedLine]:
    """Lines `first` to `stop - 1` of a run that moves by time, the same whichever process
    writes them; `end` is `ending(spec)` if the caller has it already (a scheduler tick
    writes lines for thousands of jobs)."""
    end = end or ending(spec)
    return [_as_ended(spec, simulated_line(spec, started_at, seq), end) for seq in range(first, stop)]
