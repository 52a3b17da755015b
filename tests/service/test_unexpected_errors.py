"""A bug in a handler still answers JSON: clients parse every error the same way."""

from __future__ import annotations

import httpx

from tests.conftest import InProcessApi


async def test_an_unexpected_error_is_a_json_500_without_the_traceback(api: InProcessApi) -> None:
    @api.app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret-looking internals")

    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://batch.test") as client:
        response = await client.get("/v1/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert "logged" in response.json()["detail"]
    assert "secret-looking" not in response.text
