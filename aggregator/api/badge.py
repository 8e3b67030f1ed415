"""`GET /api/badge/{target}.svg`: a small status badge for READMEs and wikis, a flat two-part
label in the common badge layout: the name on grey, the status and the 24 h availability (by
time) on the status's colour; grey and `(stale)` when the state is stale. From memory."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response

from aggregator.api.errors import NOT_FOUND, UnknownName
from aggregator.api.models import Status
from aggregator.api_state import ApiState

COLOURS: dict[str, str] = {"healthy": "#4c1", "degraded": "#dfb317", "rate_limited": "#fe7d37",
                           "unhealthy": "#e05d44", "unknown": "#9f9f9f"}
STALE_COLOUR = "#9f9f9f"
LABEL_COLOUR = "#555"
PADDING = 10
# Approximate advance widths (px) of Verdana at 11 px, by character class.
NARROW, WIDE = set("ijlt.,:;!|'()[]/\\ -·"), set("mwMW@%")
router = APIRouter(prefix="/api/badge", tags=["badge"])


def text_width(text: str) -> int:
    width = 0.0
    for ch in text:
        if ch in NARROW:
            width += 3.9
        elif ch in WIDE:
            width += 10.5
        elif ch.isupper() or ch.isdigit() or ch in "_#&+=<>?~":
            width += 7.5
        else:
            width += 6.6
    return math.ceil(width)


def availability_text(ratio: float | None) -> str | None:
    """`99.95%` (truncated, so that a single bad minute never shows 100%), or None."""
    if ratio is None:
        return None
    return "100%" if ratio >= 1 else f"{math.floor(ratio * 10000) / 100:.2f}%"


def render(label: str, status: Status, availability: float | None, stale: bool) -> str:
    """The badge's SVG text."""
    value = " · ".join(v for v in (status.replace("_", " "), availability_text(availability)) if v)
    if stale:
        value += " (stale)"
    colour = STALE_COLOUR if stale else COLOURS[status]
    left, right = text_width(label) + PADDING, text_width(value) + PADDING
    total = left + right
    title = escape(f"{label}: {value}")
    label_x, value_x = left / 2, left + right / 2

    def text(x: float, content: str) -> str:
        return (f'<text x="{x:g}" y="15" fill="#010101" fill-opacity=".3">{escape(content)}</text>'
                f'<text x="{x:g}" y="14">{escape(content)}</text>')

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="11">{text(label_x, label)}{text(value_x, value)}</g></svg>')


SVG = {200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}},
             "description": "the badge"}}


@router.get("/{target:path}.svg", response_class=Response, responses={**SVG, **NOT_FOUND})
async def get_badge(request: Request, target: str) -> Response:
    """The badge of a target (status and 24 h availability) or a pool (status)."""
    state: ApiState = request.app.state.health
    view = state.view
    if target in view.targets:
        found = view.targets[target]
        slo = found.availability
        status, availability = found.status, slo.by_time.get("24h") if slo else None
    elif target in view.pools:
        status, availability = view.pools[target].status, None
    else:
        raise UnknownName("target", view.names)
    svg = render(target, status, availability, state.freshness(view).stale)
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "no-cache, max-age=0"})
