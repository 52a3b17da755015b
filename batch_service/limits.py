"""The API's fixed limits, each written once: routes, OpenAPI, dashboard and README agree.

The limits an operator may change are settings (`batch_service/settings.py`).
"""

from __future__ import annotations

MAX_BODY_BYTES = 1024 * 1024  # a request body; more is a JSON 413
MAX_BATCH_JOBS = 1000  # job specs in one POST /v1/jobs:batch (within MAX_BODY_BYTES)
MAX_JOBS_PAGE = 500  # jobs per page of GET /v1/jobs (limit=)
MAX_LIST_BYTES = 1024 * 1024  # one page of GET /v1/jobs stops before it grows past this
MAX_LOG_PAGE = 1000  # lines per page of GET /v1/jobs/{id}/logs (limit=)
MAX_SEQ = 2**31 - 1  # log line numbers are a 32-bit column: page tokens and Last-Event-ID stop here
MAX_HEADER_BYTES = 64 * 1024  # a request line and its headers; more is a 431 and a closed connection
