"""Limits on the JSON a job carries (`inputs`, `outputs`), checked before anything is stored.

A value Python's JSON parser accepts is not always one the service can store and serve
back: NaN is not JSON, a lone surrogate (`"\\udfff"`) is not Unicode text and cannot be
encoded as UTF-8, a 400-level nesting overflows the serializer, and a megabyte of outputs
is copied into every read. Refusing these with a 422 at the door keeps them out of
the shared write path, where they would fail other people's submits.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_JSON_DEPTH = 32  # levels of objects/arrays, the outermost object counting as 1
MAX_JSON_BYTES = 256 * 1024  # compact UTF-8 JSON, per field
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads lets `"\\ud800"` through as one


def check_json_document(value: dict[str, Any]) -> dict[str, Any]:
    """Return `value` if it is Unicode text, finite, at most MAX_JSON_DEPTH deep and
    MAX_JSON_BYTES long.

    Walks iteratively, so a hostile nesting depth costs a loop, never the call stack.
    """
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels (the limit)")
            if isinstance(item, dict):
                pending.extend((key, depth) for key in item)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and LONE_SURROGATE.search(item):
            raise ValueError("holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("holds a non-finite number (NaN or Infinity is not JSON)")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_JSON_BYTES:
        raise ValueError(f"is {size} bytes as JSON; the limit is {MAX_JSON_BYTES} bytes")
    return value
