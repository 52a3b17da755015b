"""Build a job's `scenario` (docs/testing.md#scenarios) and check it before the service does.

by_polls(running_after=1, finished_after=2)                   # QUEUED, RUNNING, SUCCEEDED
by_polls(1, 3, outcome="TRANSIENT_FAILURE")                   # ends FAILED, retryable
scenario(faults={"get": failing(times=3, status=503, retry_after_seconds=1)})
"""

from __future__ import annotations

import json
from typing import Any

from batch_service.scenario import Scenario

Json = dict[str, Any]


def scenario(**fields: Any) -> Json:
    """A scenario as JSON; an invalid one raises here, with pydantic's message, not at submit."""
    checked = Scenario.model_validate_json(json.dumps(fields))  # as the service reads it
    return checked.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def by_polls(running_after: int = 0, finished_after: int | None = None, **fields: Any) -> Json:
    """A job that starts once `running_after` GETs of it were answered, and ends after `finished_after`."""
    return scenario(running_after_polls=running_after, finished_after_polls=finished_after, **fields)


def failing(*, times: int = 1, from_call: int = 1, **action: Any) -> Json:
    """A fault on calls `from_call` … `from_call + times - 1` of one kind: `status=…`, `drop=True`,
    `delay_seconds=…` (a delay then a drop is a call that times out)."""
    return {"times": times, "from_call": from_call, **action}
