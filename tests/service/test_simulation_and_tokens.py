"""The pure parts: what a job has done by a moment, and opaque page tokens."""

from __future__ import annotations

import pytest

from batch_service.models import JobSpec, JobState, LogLevel
from batch_service.simulation import SimulatedLine, progress_at, simulated_line
from batch_service.tokens import InvalidPageToken, decode_page_token, encode_page_token


def test_progress_is_proportional_then_final() -> None:
    spec = JobSpec(name="p", duration_seconds=10, log_lines=10)
    assert progress_at(spec, 100, 100).lines_due == 0
    assert progress_at(spec, 100, 104.9).lines_due == 4
    assert progress_at(spec, 100, 110) == progress_at(spec, 100, 999)
    assert progress_at(spec, 100, 110).outcome is JobState.SUCCEEDED


def test_the_timeout_wins_when_shorter_than_the_run() -> None:
    spec = JobSpec(name="p", duration_seconds=10, timeout_seconds=4, log_lines=10)
    assert progress_at(spec, 0, 3.9).outcome is None
    done = progress_at(spec, 0, 4)
    assert (done.outcome, done.lines_due) == (JobState.TIMED_OUT, 4)


def test_a_line_is_the_same_whoever_writes_it() -> None:
    spec = JobSpec(name="p", duration_seconds=10, log_lines=10)
    # Another process knows the job only from its row: the spec stored as JSON, and started_at.
    stored = JobSpec.model_validate(spec.model_dump(mode="json"))
    line = SimulatedLine(seq=3, timestamp=54.0, level=LogLevel.INFO, message="p: step 4 of 10 done")
    assert simulated_line(spec, 50, 3) == line
    assert simulated_line(stored, 50, 3) == line


def test_a_failing_jobs_last_line_is_its_error() -> None:
    spec = JobSpec(name="p", duration_seconds=10, log_lines=4, fail_message="disk full")
    assert simulated_line(spec, 0, 2).level is LogLevel.INFO
    assert simulated_line(spec, 0, 3) == SimulatedLine(3, 10.0, LogLevel.ERROR, "p: disk full")


def test_page_tokens_round_trip_and_are_kind_checked() -> None:
    token = encode_page_token("logs", 1_000_000)
    assert decode_page_token("logs", token) == 1_000_000
    with pytest.raises(InvalidPageToken):
        decode_page_token("jobs", token)


@pytest.mark.parametrize("token", ["", "!!!", "bG9nczo", "bG9nczotMQ", "bG9nczox" + "A" * 40])
def test_malformed_page_tokens_are_rejected(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        decode_page_token("logs", token)
