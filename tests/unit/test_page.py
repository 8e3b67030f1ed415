"""The status page's routes and files: `GET /` is the page with a strict Content-Security-Policy,
revalidated on each load; it names its files by the hash of their content, which are then cached
for a year; nothing is loaded from another origin, no text goes in as HTML, and the whole page
stays small. The files ship in the package (read through importlib.resources)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from aggregator.api import page
from aggregator.api.app import create_app
from aggregator.metrics_state import MetricsState
from tests.unit.test_api_route import CONFIG

SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = create_app(metrics=MetricsState(None, CONFIG))
    with TestClient(app) as test_client:
        yield test_client


def test_the_page_is_revalidated_and_locked_to_its_origin(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe" not in csp
    again = client.get("/", headers={"If-None-Match": answer.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert client.get("/", headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_page_names_its_files_by_their_hash_and_they_are_cached_for_a_year(
        client: TestClient) -> None:
    html = client.get("/").text
    named = dict(re.findall(r'"/page/([a-z.]+)\?v=([0-9a-f]{16})"', html))
    assert named == {name: asset.version for name, asset in page.FILES.items()}
    for name, version in named.items():
        current = client.get(f"/page/{name}", params={"v": version})
        assert current.status_code == 200 and current.content == page.FILES[name].body
        assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert current.headers["content-type"].startswith(page.ASSETS[name].split(";")[0])
        assert client.get(f"/page/{name}", params={"v": "0" * 16}).headers["cache-control"] == "no-cache"
    assert client.get("/page/index.html").status_code == 404
    assert client.get("/page/../app.py").status_code == 404


def test_the_page_is_not_in_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/page") for p in paths)


def test_nothing_from_another_origin_no_inline_code_no_html_from_data() -> None:
    html = page.PAGE.body.decode()
    script = page.FILES["page.js"].body.decode()
    style = page.FILES["page.css"].body.decode()
    for text in (html, script, style):
        assert [u for u in re.findall(r"(?:https?:)?//[\w.-]+", text) if u != "http://www.w3.org"] == []
        assert "@import" not in text and "url(" not in text
    assert re.findall(r"<script[^>]*>[^<]", html) == [] and "<style" not in html
    assert re.search(r"\son\w+=", html) is None and 'style="' not in html
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                   "new Function", "setAttribute(\"style\""):
        assert unsafe not in script, unsafe
    assert SVG_NAMESPACE in script  # the one URL: a name, never fetched


def test_every_status_has_a_colour_and_the_whole_page_is_small() -> None:
    style = page.FILES["page.css"].body.decode()
    for status in ("healthy", "degraded", "unhealthy", "rate_limited", "unknown"):
        assert f".light.status-{status} {{ background: var(--{status}); }}" in style
        assert style.count(f"--{status}:") == 2  # light and dark
    total = len(page.PAGE.body) + sum(len(a.body) for a in page.FILES.values())
    assert total < 40_000, total


def test_the_files_ship_inside_the_package() -> None:
    shipped = {p.name for p in page.FOLDER.iterdir()}
    assert shipped >= {"index.html", *page.ASSETS}
