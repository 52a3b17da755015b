"""JSON responses serialized once, by pydantic-core, from plain documents.

Returning a `Response` skips FastAPI's re-validation of the return value against the
`response_model`, which stays on each route for the OpenAPI schema alone.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def json_response(document: Any, status_code: int = 200) -> Response:
    return Response(content=to_json(document), status_code=status_code, media_type="application/json")
