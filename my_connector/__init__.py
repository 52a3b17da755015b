"""Run Flyte tasks as jobs of the batch service.

`BatchJobTask` is the task plugin; `BatchJobConnector` serves its task type, `batch_job`,
in the connector server (`c0 --modules my_connector`, or plain `c0` through the
`flyte.connectors` entry point) and in process for local runs. The connector reads
`BATCH_API_URL` (default http://127.0.0.1:8080) and, for tasks that name no key of their
own, `BATCH_API_KEY`.

Basic usage example:

```python
import flyte
from my_connector import BatchJobConfig, BatchJobTask

batch_job = BatchJobTask(
    name="my_batch_job",
    plugin_config=BatchJobConfig(timeout_seconds=60, duration_seconds=2, log_lines=20),
    inputs={"name": str},
    outputs={"result": str},
    api_key="batch-api-key",  # optional: name of the Flyte secret holding this owner's key
)
flyte.TaskEnvironment.from_task("batch-job-env", batch_job)

if __name__ == "__main__":
    flyte.init()  # local: the connector runs in process against BATCH_API_URL
    print(flyte.run(batch_job, name="hello").outputs()[0])
```

To exercise a running connector without a Flyte cluster:
`python -m batch_testkit.drive --connector 127.0.0.1:8000 --name hello`.
"""

from my_connector.connector import BatchJobConnector, BatchJobMetadata
from my_connector.task import BatchJobConfig, BatchJobTask

__all__ = ["BatchJobConfig", "BatchJobConnector", "BatchJobMetadata", "BatchJobTask"]
