"""`/docs` works offline, `/metrics` names the routes Starlette serves, and `--help` reads
well: each checked on a real process."""

from __future__ import annotations

import re
import subprocess

import httpx

from batch_testkit.processes import base_env
from batch_testkit.servers import BIN_DIR, BatchService


def test_docs_load_every_asset_from_the_service_itself(batch_server: BatchService) -> None:
    page = httpx.get(f"{batch_server.url}/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3  # script, stylesheet, icon
    assert all(asset.startswith("/docs/assets/") for asset in assets), assets
    assert "//" not in page.text.replace("://", "")  # no protocol-relative CDN links either
    for asset in assets:
        response = httpx.get(f"{batch_server.url}{asset}")
        assert response.status_code == 200
        assert response.content  # a real file, not an empty answer
    bundle = httpx.get(f"{batch_server.url}/docs/assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    assert httpx.get(f"{batch_server.url}/redoc").status_code == 404  # ReDoc needs a CDN: not offered


def test_metrics_label_docs_schema_and_assets_by_route(batch_server: BatchService) -> None:
    for path in (
        "/docs",
        "/openapi.json",
        "/docs/assets/swagger-ui.css",
        "/ui/static/ui.js",
        "/no/such/page",
    ):
        httpx.get(f"{batch_server.url}{path}")
    metrics = httpx.get(f"{batch_server.url}/metrics").text
    served = dict(
        re.findall(r'batch_http_requests_total\{method="GET",route="([^"]+)",status="(\d+)"\}', metrics)
    )
    assert served["/docs"] == "200"
    assert served["/openapi.json"] == "200"
    assert served["/docs/assets"] == "200"
    assert served["/ui/static"] == "200"
    assert served["unmatched"] == "404"  # only the page that does not exist


def test_help_names_values_readably() -> None:
    result = subprocess.run(
        [str(BIN_DIR / "batch-service"), "--help"], env=base_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for python_type in ("SecretStr", "{", " bool", " str", " int", " float"):
        assert python_type not in result.stdout
    assert "--api-keys OWNER:KEY[,OWNER:KEY...]" in result.stdout
    assert "--allow-anonymous, --no-allow-anonymous" in result.stdout
    assert "--port PORT" in result.stdout
