"""The task plugin: its type, interface and the custom config the connector receives."""

from __future__ import annotations

from google.protobuf import json_format

from batch_testkit.drive import demo_task
from batch_testkit.platform import task_template
from my_connector.task import BatchJobConfig, BatchJobTask


def test_the_task_type_matches_the_connectors() -> None:
    task = BatchJobTask(
        name="t", plugin_config=BatchJobConfig(), inputs={"name": str}, outputs={"result": str}
    )

    assert task.task_type == "batch_job"
    assert list(task.native_interface.inputs) == ["name"]
    assert list(task.native_interface.outputs) == ["result"]


def test_custom_config_carries_the_job_settings_and_leaves_unset_ones_out() -> None:
    config = BatchJobConfig(timeout_seconds=60, log_lines=3, labels={"team": "a"})
    task = BatchJobTask(name="t", plugin_config=config)

    assert task.custom_config(sctx=None) == {  # type: ignore[arg-type]
        "timeout_seconds": 60,
        "log_lines": 3,
        "labels": {"team": "a"},
    }


def test_an_empty_config_sends_nothing_so_the_services_defaults_apply() -> None:
    assert BatchJobTask(name="t", plugin_config=BatchJobConfig()).custom_config(sctx=None) == {}  # type: ignore[arg-type]


def test_a_per_task_key_is_named_in_secrets_never_valued() -> None:
    template = task_template(
        demo_task(BatchJobConfig(duration_seconds=1.5), api_key_secret="alice-batch-key")
    )

    custom = json_format.MessageToDict(template.custom)

    assert template.type == "batch_job"
    assert custom["secrets"] == {"api_key": "alice-batch-key"}
    assert custom["duration_seconds"] == 1.5


def test_without_a_per_task_key_there_are_no_secrets() -> None:
    template = task_template(demo_task(BatchJobConfig()))

    assert "secrets" not in json_format.MessageToDict(template.custom)
