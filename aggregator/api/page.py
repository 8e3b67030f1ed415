"""The status page (docs/api.md, "Status page"): `GET /` and its script, style sheet and icon
under `/page/`, static files shipped in `aggregator/api/status_page/` and read once at import. The page
reads `/api/health/detailed`, `/summary` and `/overview` and follows `/api/health/stream`; it
loads nothing from anywhere else, which its Content-Security-Policy enforces.

Caching: the page itself is revalidated on every load (`no-cache` and an ETag), and it names
its files with `?v=<hash of the file>`, which are then cached for a year: a new version is
fetched as soon as it is installed, and never again after.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from fastapi import APIRouter, Request, Response

FOLDER = files("aggregator.api").joinpath("status_page")
ASSETS = {"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8",
          "favicon.svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str
    """The first 16 hex digits of the body's SHA-256: its ETag and its `?v=`."""

    @classmethod
    def of(cls, body: bytes, media_type: str) -> Asset:
        return cls(body, media_type, hashlib.sha256(body).hexdigest()[:16])


def _load() -> tuple[Asset, dict[str, Asset]]:
    """The page, with each file it names versioned, and the files by name."""
    assets = {name: Asset.of(FOLDER.joinpath(name).read_bytes(), media_type)
              for name, media_type in ASSETS.items()}
    html = FOLDER.joinpath("index.html").read_text(encoding="utf-8")
    for name, asset in assets.items():
        plain = f'"/page/{name}"'
        if plain not in html:
            raise RuntimeError(f"aggregator/api/status_page/index.html does not name {plain}: the page "
                               "and its files are out of step")
        html = html.replace(plain, f'"/page/{name}?v={asset.version}"')
    return Asset.of(html.encode("utf-8"), "text/html; charset=utf-8"), assets


PAGE, FILES = _load()


def _answer(request: Request, asset: Asset, cache_control: str, headers: dict[str, str]) -> Response:
    """`asset`, or 304 when the client holds this version (If-None-Match)."""
    etag = f'"{asset.version}"'
    common = {"ETag": etag, "Cache-Control": cache_control, **headers}
    held = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in held.split(",")):
        return Response(status_code=304, headers=common)
    return Response(asset.body, media_type=asset.media_type, headers=common)


@router.get("/")
def page(request: Request) -> Response:
    """The status page (text/html)."""
    return _answer(request, PAGE, REVALIDATE, SECURITY)


@router.get("/page/{name}")
def page_file(request: Request, name: str, v: str | None = None) -> Response:
    """One of the page's files; cached for a year when asked for by its current `?v=`."""
    asset = FILES.get(name)
    if asset is None:
        return Response(status_code=404, headers={"Cache-Control": REVALIDATE})
    return _answer(request, asset, IMMUTABLE if v == asset.version else REVALIDATE,
                   {"X-Content-Type-Options": "nosniff"})
