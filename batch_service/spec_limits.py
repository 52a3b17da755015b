"""Limits on the JSON a job carries (`inputs`, `outputs`), checked before anything is stored.

A value Python's JSON parser accepts is not always one the service can store and serve
back: NaN is not JSON, a lone surrogate (`"\\udfff"`) is not Unicode text and cannot be
encoded as UTF-8, a 400-level nesting overflows the serializer, and a megabyte of outputs
is copied into every read. Refusing these with a 422 at the door keeps them out of
the shared write path, where they would fail other people's submits.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32  # levels of objects/arrays, the outermost object counting as 1
MAX_JSON_BYTES = 256 * 1024  # compact UTF-8 JSON, per field


def check_json_document(value: dict[str, Any]) -> dict[str, Any]:
    """Return `value` if it is Unicode text, finite, at most MAX_JSON_DEPTH deep and
    MAX_JSON_BYTES long.

    The depth is checked first, walking containers iteratively, so a hostile nesting depth
    costs a loop, never the call stack (the encoder below recurses). Then one strict
    encoding finds the rest: `allow_nan=False` refuses NaN and Infinity, and UTF-8 refuses
    a lone surrogate, in keys and values alike.
    """
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels (the limit)")
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise ValueError("holds a non-finite number (NaN or Infinity is not JSON)") from None
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"is {size} bytes as JSON; the limit is {MAX_JSON_BYTES} bytes")
    return value
