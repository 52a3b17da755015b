"""A job's resource use as the `GetTaskMetricsResponse` Flyte reads.

Each `ExecutionMetricResult` names a metric Flyte knows and carries its series in the shape
of a Prometheus range-query result (flyteidl2's `ExecutionMetricResult.data`):
`{"resultType": "matrix", "result": [{"metric": {labels}, "values": [[unix_seconds, "value"], …]}]}`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flyteidl2.connector.connector_pb2 import GetTaskMetricsResponse
from flyteidl2.core.metrics_pb2 import ExecutionMetricResult
from google.protobuf.struct_pb2 import Struct

from my_connector.api import UsageSample

CPU_METRIC = "EXECUTION_METRIC_USED_CPU_AVG"  # cores
MEMORY_METRIC = "EXECUTION_METRIC_USED_MEMORY_BYTES_AVG"  # bytes

METRICS: dict[str, Callable[[UsageSample], float]] = {
    CPU_METRIC: lambda sample: sample.cpu_cores,
    MEMORY_METRIC: lambda sample: sample.memory_bytes,
}


def task_metrics(job_id: str, samples: Sequence[UsageSample]) -> GetTaskMetricsResponse:
    """Both metrics of the job, one series each, in time order."""
    return GetTaskMetricsResponse(
        results=[_metric_result(name, job_id, samples, value) for name, value in METRICS.items()]
    )


def _metric_result(
    name: str, job_id: str, samples: Sequence[UsageSample], value: Callable[[UsageSample], float]
) -> ExecutionMetricResult:
    data = Struct()
    data.update(
        {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"job_id": job_id},
                    "values": [[sample.timestamp.timestamp(), str(value(sample))] for sample in samples],
                }
            ],
        }
    )
    return ExecutionMetricResult(metric=name, data=data)
