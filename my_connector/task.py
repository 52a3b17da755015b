"""The `batch_job` task plugin: what a workflow author writes to run a job on the batch service.

`BatchJobTask` carries no code of its own. Flyte serializes its `BatchJobConfig` into the
task template's `custom`, and the connector that serves `batch_job` (in `c0`, or in
process for a local `flyte.run`, via `AsyncConnectorExecutorMixin`) turns it into a job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from flyte.connectors import AsyncConnectorExecutorMixin
from flyte.extend import TaskTemplate
from flyte.models import NativeInterface, SerializationContext

from my_connector.connector import TASK_TYPE


@dataclass
class BatchJobConfig:
    """The job spec fields a task fixes (docs/api.md); the task's inputs become the job's.

    A field left as None is left out of the job spec, so the service's own default applies:
    the defaults live in one place, the service (see docs/api.md).

    Attributes:
        timeout_seconds: the job ends TIMED_OUT (the task FAILED) if it runs longer.
        duration_seconds: simulated run time.
        log_lines: lines the job writes over its run.
        labels: job labels, for filtering jobs in the service.
        fail_message: make the job fail with this error (for demos and tests).
        scenario: how the job behaves in a test, for a service in test mode
            (docs/testing.md#scenarios), e.g. `{"running_after_polls": 1, "finished_after_polls": 3}`.
        usage: shape of the job's simulated CPU and memory use, e.g.
            `{"cpu_cores": 2.0, "memory_mib": 1024, "shape": "ramp"}` (docs/api.md).
    """

    timeout_seconds: int | None = None
    duration_seconds: float | None = None
    log_lines: int | None = None
    labels: dict[str, str] | None = None
    fail_message: str | None = None
    scenario: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


class BatchJobTask(AsyncConnectorExecutorMixin, TaskTemplate):
    """A task that runs as one batch job.

    `api_key` is the *name* of a Flyte secret holding the owner's key for the batch API;
    Flyte resolves it (from the environment, in a local run) and hands the value to the
    connector. Without it the connector uses its own `BATCH_API_KEY`.
    """

    _TASK_TYPE = TASK_TYPE

    def __init__(
        self,
        name: str,
        plugin_config: BatchJobConfig,
        inputs: dict[str, type] | None = None,
        outputs: dict[str, type] | None = None,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            name=name,
            interface=NativeInterface({k: (v, None) for k, v in (inputs or {}).items()}, outputs or {}),
            task_type=self._TASK_TYPE,
            image=None,
            **kwargs,
        )
        self.plugin_config = plugin_config
        self.api_key = api_key

    def custom_config(self, sctx: SerializationContext) -> dict[str, Any]:
        config = {k: v for k, v in asdict(self.plugin_config).items() if v is not None}
        if self.api_key is not None:
            config["secrets"] = {"api_key": self.api_key}  # the secret's name, never its value
        return config
