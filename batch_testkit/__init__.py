"""Test a Flyte connector against a real batch service: the service as a pytest fixture,
scenarios and chaos rules to put it in any situation, a clock to skip time, and a stand-in
for the Flyte platform that drives any `AsyncConnector`.

With this project installed, pytest loads the plugin by itself (`pytest11` entry point)::

    from batch_testkit import by_polls

    def test_states_one_by_one(batch):
        job = batch.submit(scenario=by_polls(running_after=1, finished_after=2))
        states = [batch.job(job["id"])["state"] for _ in range(3)]
        assert states == ["QUEUED", "RUNNING", "SUCCEEDED"]

See README.md, "Test your connector against batch-service".
"""

from batch_testkit.client import BatchTestClient, UnexpectedAnswer
from batch_testkit.jobs import job_spec
from batch_testkit.scenarios import by_polls, failing, scenario
from batch_testkit.servers import BatchService, ConnectorServer, run_batch_service, run_connector_server

__all__ = [
    "BatchService",
    "BatchTestClient",
    "ConnectorServer",
    "UnexpectedAnswer",
    "by_polls",
    "failing",
    "job_spec",
    "run_batch_service",
    "run_connector_server",
    "scenario",
]
