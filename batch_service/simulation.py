"""What a simulated job has done by a given moment: a pure function of its spec and start.

Deriving progress from `started_at` and the clock, rather than from in-memory counters,
is what lets a restarted (or different) process pick up a job exactly where it stands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from batch_service.models import JobSpec, JobState, LogLevel


@dataclass(frozen=True)
class Progress:
    lines_due: int
    outcome: JobState | None  # set once the run is over: SUCCEEDED, FAILED or TIMED_OUT


@dataclass(frozen=True)
class SimulatedLine:
    seq: int
    timestamp: float
    level: LogLevel
    message: str


def run_length(spec: JobSpec) -> float:
    """Seconds from start to the end of the run: its duration, or its timeout if shorter."""
    return min(spec.duration_seconds, float(spec.timeout_seconds))


def progress_at(spec: JobSpec, started_at: float, now: float) -> Progress:
    elapsed = max(0.0, now - started_at)
    timed_out = spec.timeout_seconds < spec.duration_seconds
    if elapsed >= run_length(spec):
        if timed_out:
            return Progress(_lines_by(spec, float(spec.timeout_seconds)), JobState.TIMED_OUT)
        outcome = JobState.FAILED if spec.fail_message is not None else JobState.SUCCEEDED
        return Progress(spec.log_lines, outcome)
    return Progress(_lines_by(spec, elapsed), None)


def _lines_by(spec: JobSpec, elapsed: float) -> int:
    if spec.duration_seconds <= 0:
        return spec.log_lines
    return min(spec.log_lines, math.floor(spec.log_lines * elapsed / spec.duration_seconds))


def line_due_at(spec: JobSpec, started_at: float, seq: int) -> float:
    """The moment line `seq` stands for (its timestamp), when it falls due."""
    return started_at + spec.duration_seconds * (seq + 1) / spec.log_lines


def simulated_line(spec: JobSpec, started_at: float, seq: int) -> SimulatedLine:
    """Line `seq` of the run, the same whichever process writes it."""
    total = spec.log_lines
    timestamp = line_due_at(spec, started_at, seq)
    if seq == total - 1 and spec.fail_message is not None:
        return SimulatedLine(seq, timestamp, LogLevel.ERROR, f"{spec.name}: {spec.fail_message}")
    return SimulatedLine(seq, timestamp, LogLevel.INFO, f"{spec.name}: step {seq + 1} of {total} done")


def final_outputs(spec: JobSpec, job_id: str) -> dict[str, Any]:
    return spec.outputs if spec.outputs is not None else {"result": f"output-from-{job_id}"}


def final_error(spec: JobSpec, outcome: JobState) -> str | None:
    if outcome is JobState.TIMED_OUT:
        return f"timed out after {spec.timeout_seconds} s"
    if outcome is JobState.FAILED:
        return spec.fail_message
    return None
