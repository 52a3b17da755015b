"""The GetTask benchmark counts a call only when the state came from the API, not from the
connector's outage fallback (which also answers RUNNING)."""

from __future__ import annotations

import time

from flyte.connectors._connector import get_resource_proto
from flyteidl2.connector.connector_pb2 import GetTaskResponse

from bench.get_task import answered_running
from bench.noop_connector import running
from my_connector.api import BatchServiceUnavailable
from my_connector.metadata import BatchJobMetadata
from my_connector.outage import Silence, unanswered_resource


async def test_a_running_state_read_from_the_api_counts() -> None:
    response = GetTaskResponse(resource=await get_resource_proto(running("job-1", "RUNNING")))

    assert answered_running(response)


async def test_the_outage_fallback_running_answer_does_not_count() -> None:
    now = time.time()
    fallback = unanswered_resource(
        BatchJobMetadata(job_id="job-1", logs_token="t", submitted_at=now, timeout_seconds=3600),
        BatchServiceUnavailable("batch API unreachable"),
        silence=Silence(since=now, after_an_answer=False),
        now=now,
        grace_seconds=60,
        log_links=[],
    )
    response = GetTaskResponse(resource=await get_resource_proto(fallback))

    assert response.resource.phase == running("job-1", "RUNNING").phase  # RUNNING all the same
    assert not answered_running(response)


async def test_another_state_read_from_the_api_does_not_count() -> None:
    response = GetTaskResponse(resource=await get_resource_proto(running("job-1", "SUCCEEDED")))

    assert not answered_running(response)
