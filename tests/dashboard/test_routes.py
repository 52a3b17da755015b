"""The dashboard's pages in-process: what the server renders, and what it must never render."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from batch_service.dashboard import routes
from batch_testkit.jobs import submit
from tests.conftest import InProcessApi

STATIC_DIR = Path(routes.__file__).parent / "static"


async def test_root_redirects_to_the_dashboard(api: InProcessApi) -> None:
    response = await api.client.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/ui"


async def test_pages_need_no_key_and_hold_no_job_data(api: InProcessApi) -> None:
    job = await submit(api.client, name="quarterly-numbers", inputs={"revenue": 12345})

    for path in ("/ui", f"/ui/jobs/{job['id']}"):
        response = await api.client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "quarterly-numbers" not in response.text
        assert "12345" not in response.text


async def test_job_id_from_the_address_bar_is_escaped(api: InProcessApi) -> None:
    response = await api.client.get('/ui/jobs/<script>alert("x")<script>')
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert 'data-job-id="&lt;script&gt;alert(&#34;x&#34;)&lt;script&gt;"' in response.text


async def test_pages_allow_only_their_own_scripts_and_send_no_referrer(api: InProcessApi) -> None:
    response = await api.client.get("/ui")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in response.text  # no inline script the policy would block


async def test_every_asset_a_page_loads_is_served(api: InProcessApi) -> None:
    html = (await api.client.get("/ui")).text + (await api.client.get("/ui/jobs/any")).text
    assets = set(re.findall(r'(?:src|href)="(/ui/static/[^"?]+)', html))
    for script in STATIC_DIR.glob("*.js"):  # and every module those scripts import
        assets |= {f"/ui/static/{name}" for name in re.findall(r'from "\./([^"]+)"', script.read_text())}
    assert {
        "/ui/static/dashboard.css",
        "/ui/static/jobs.js",
        "/ui/static/job.js",
        "/ui/static/sse.js",
    } <= assets

    for asset in sorted(assets):
        response = await api.client.get(asset)
        assert response.status_code == 200, asset
        expected = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}[Path(asset).suffix]
        assert response.headers["content-type"].startswith(expected), asset


async def test_state_filter_and_page_size_come_from_the_address_bar(api: InProcessApi) -> None:
    failed = (await api.client.get("/ui?state=FAILED&limit=7")).text
    assert 'data-state="FAILED" data-page-size="7"' in failed
    assert re.search(r'class="filter active" data-filter="FAILED"', failed)
    assert 'href="/ui?state=RUNNING&amp;limit=7"' in failed

    unknown = (await api.client.get("/ui?state=EXPLODED&limit=100000")).text
    assert f'data-state="" data-page-size="{routes.MAX_PAGE_SIZE}"' in unknown
    assert re.search(r'class="filter active"\s+href="/ui\?limit=500"', unknown)


async def test_the_dashboard_is_not_part_of_the_api_schema(api: InProcessApi) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path == "/" or path.startswith("/ui")]


async def test_links_follow_the_path_the_app_is_mounted_under(api: InProcessApi) -> None:
    transport = httpx.ASGITransport(app=api.app, root_path="/batch")
    async with httpx.AsyncClient(transport=transport, base_url="http://batch.test") as client:
        root = await client.get("/")
        page = (await client.get("/ui")).text
    assert root.headers["location"] == "/batch/ui"
    assert 'href="/batch/ui/static/dashboard.css' in page
    assert 'data-api-base="/batch/v1"' in page
