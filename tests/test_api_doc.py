"""docs/api.md, the contract, says what the code does: its endpoints, spec fields with their
defaults and bounds, job fields, states, page limits and JSON limits are compared with the
service's own OpenAPI schema and models, so a change to either shows up here."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from batch_service.api import create_app
from batch_service.models import TERMINAL_STATES, JobCreated, JobSpec, JobState
from batch_service.spec_limits import MAX_JSON_BYTES, MAX_JSON_DEPTH

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "api.md").read_text()
OPENAPI = create_app().openapi()


def section(title: str, level: str = "##") -> str:
    match = re.search(rf"^{level} {re.escape(title)}\n(.*?)(?=^#{{2,{len(level)}}} |\Z)", DOC, re.M | re.S)
    assert match, f"docs/api.md lost its section {title!r}"
    return match.group(1)


def table(text: str) -> list[list[str]]:
    """The rows of the first Markdown table in `text`, header and rule left out."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :])
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


RANGE = "([\\d,]+)\N{EN DASH}([\\d,]+)"  # "1\N{EN DASH}500", as the doc writes ranges
PATH_PARAMETER = re.compile(r"\{\w+\}")


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_endpoints_table_lists_every_call_of_the_openapi_schema() -> None:
    documented = {PATH_PARAMETER.sub("{}", row[0].strip("`")) for row in table(section("Endpoints"))}
    served = {
        f"{method.upper()} {PATH_PARAMETER.sub('{}', path)}"
        for path, operations in OPENAPI["paths"].items()
        for method in operations
    }
    assert documented == served


def test_the_spec_table_has_every_field_with_its_default_and_bounds() -> None:
    rows = {row[0].strip("`"): row for row in table(section("Job spec"))}
    assert set(rows) == set(JobSpec.model_fields)
    schema = JobSpec.model_json_schema()["properties"]
    for name, field in JobSpec.model_fields.items():
        _, _, default, rule = rows[name]
        if field.is_required():
            assert default == "required", name
        elif default == "absent":  # left out of the stored spec unless given
            assert field.get_default() is None, name
            assert name not in MINIMAL_SPEC, name
        else:
            assert _parse_default(default) == field.get_default(call_default_factory=True), name
            assert MINIMAL_SPEC[name] == field.get_default(call_default_factory=True), name
        bounds = re.match(RANGE, rule)
        if bounds and schema[name].get("type") in ("integer", "number"):
            assert (number(bounds[1]), number(bounds[2])) == (
                schema[name]["minimum"],
                schema[name]["maximum"],
            )
        elif bounds:  # a string's length
            assert (int(number(bounds[1])), int(number(bounds[2]))) == _length(schema[name]), name


MINIMAL_SPEC = JobSpec(name="x").model_dump(mode="json")  # a spec as stored, every default filled in


def _parse_default(cell: str) -> Any:
    text = cell.strip("`")
    return {"{}": {}, "null": None}.get(text, number(text) if text[:1].isdigit() else text)


def _length(property_schema: dict[str, Any]) -> tuple[int, int]:
    for option in [property_schema, *property_schema.get("anyOf", [])]:
        if "maxLength" in option:
            return option.get("minLength", 0), option["maxLength"]
    raise AssertionError(f"no length bounds in {property_schema}")


def test_the_resource_table_has_every_field_of_a_created_job() -> None:
    documented = {row[0].strip("`") for row in table(section("Job resource"))}
    assert documented == set(JobCreated.model_fields)


def test_the_states_are_the_services_and_the_terminal_ones_are_named() -> None:
    states = section("States")
    assert set(re.findall(r"\b[A-Z_]{6,}\b", states.split("```")[1])) == {state.value for state in JobState}
    terminal = re.search(r"^(.*) are terminal", states, re.M)
    assert terminal
    assert set(re.findall(r"`([A-Z_]+)`", terminal[1])) == {state.value for state in TERMINAL_STATES}


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/v1/jobs", ("### `GET /v1/jobs`: list", "`limit`")),
        ("/v1/jobs/{job_id}/logs", ("## Log pages", "`limit` is")),
    ],
)
def test_page_limits_are_the_routes(path: str, where: tuple[str, str]) -> None:
    heading, label = where
    text = DOC.split(heading, 1)[1]
    described = re.search(rf"{re.escape(label)}[^\d]*{RANGE}[^\d]*default ([\d,]+)", text)
    assert described, f"no limit range under {heading}"
    (limit,) = [p["schema"] for p in OPENAPI["paths"][path]["get"]["parameters"] if p["name"] == "limit"]
    assert tuple(int(number(part)) for part in described.groups()) == (
        limit["minimum"],
        limit["maximum"],
        limit["default"],
    )


def test_the_json_limits_are_the_services() -> None:
    limits = section("JSON limits", "###")
    assert f"at most {MAX_JSON_DEPTH} levels deep" in limits
    assert f"{MAX_JSON_BYTES:,} bytes" in limits


def test_nothing_in_the_project_points_outside_it() -> None:
    """The contract lives here now: no file may send a reader to a design note beside the repo."""
    tracked = [
        path
        for path in ROOT.rglob("*")
        if path.is_file()
        and not {".git", ".venv", "__pycache__", "node_modules", ".pytest_cache"} & set(path.parts)
        and path.suffix in {".py", ".md", ".yml", ".yaml", ".toml", ".sh", ".cfg", ""}
    ]
    pointing = [
        str(path.relative_to(ROOT))
        for path in tracked
        if re.search(r"DESIGN\.md|\.\./shared/", path.read_text(errors="replace"))
    ]
    assert pointing == []
