"""The status page's load time on loopback: what an on-call engineer waits for when the page opens.

`llmhealth run` with the built-in demo (harness/pipeline.py), the page served as
harness/status_page.py says, and headless Chromium driven by Playwright (harness/browser.py).
Once every demo target has a status, the page is loaded LOADS times with an empty cache (a new
browser context each time) and LOADS times again as a reload with a warm cache. From the
browser's navigation timing: responseStart → loadEventEnd (the page's own files, after the
first byte) and DOMContentLoaded; the time at which the rows are drawn (the first reads of the
API answered and rendered); and the bytes transferred, the page's files apart from the API's
answers. Goal (issue 17): the page loads in under 100 ms on loopback.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from playwright.sync_api import Browser, Page

from harness.browser import launch
from harness.pipeline import running_pipeline
from harness.status_page import page_site, wait_for_statuses

LOADS = 20
READY_S = 120.0
TIMING = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const bytes = (entries) => entries.reduce((n, e) => n + e.transferSize, 0);
    return {load_ms: nav.loadEventEnd - nav.responseStart,
            dom_ms: nav.domContentLoadedEventEnd,
            rows_ms: performance.getEntriesByName('llmhealth:rows')[0].startTime,
            page_bytes: nav.transferSize + bytes(resources.filter(e => !e.name.includes('/api/'))),
            api_bytes: bytes(resources.filter(e => e.name.includes('/api/')))};
}"""
ROWS_DRAWN = """() => performance.getEntriesByName('llmhealth:rows').length > 0
    && performance.getEntriesByType('navigation')[0].loadEventEnd > 0"""
"""The page marks `llmhealth:rows` when it first draws its rows (aggregator/api/status_page/page.js)."""


def _one(page: Page, url: str, reload: bool) -> dict:
    if reload:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_function(ROWS_DRAWN, timeout=30_000)
    return page.evaluate(TIMING)


def _loads(browser: Browser, url: str, warm: bool) -> list[dict]:
    if warm:
        context = browser.new_context()
        page = context.new_page()
        _one(page, url, reload=False)
        found = [_one(page, url, reload=True) for _ in range(LOADS)]
        context.close()
        return found
    found = []
    for _ in range(LOADS):
        context = browser.new_context()
        found.append(_one(context.new_page(), url, reload=False))
        context.close()
    return found


def _summary(loads: list[dict]) -> dict:
    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20, method="inclusive")[-1]

    out: dict = {"loads": len(loads)}
    for key in ("load_ms", "dom_ms", "rows_ms"):
        values = [float(x[key]) for x in loads]
        out[key] = (statistics.median(values), p95(values))
    for key in ("page_bytes", "api_bytes"):
        out[key] = statistics.median(float(x[key]) for x in loads)
    return out


def measure(work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    with running_pipeline(work) as pipe, page_site(pipe) as url:
        if not wait_for_statuses(url, READY_S):
            raise RuntimeError(f"the demo's targets had no status after {READY_S:g} s:\n"
                               f"{pipe['log'].read_text()[-3000:]}")
        with launch() as browser:
            return {"cold": _summary(_loads(browser, url, warm=False)),
                    "warm": _summary(_loads(browser, url, warm=True))}


def section(measured: dict) -> list[str]:
    lines = [
        "## The status page: load time on loopback", "",
        (f"`llmhealth run` with the built-in demo; headless Chromium (Playwright) loads `/` {LOADS} "
         "times with an empty cache (a new browser context each) and reloads it "
         f"{LOADS} times with a warm one. Navigation timing: responseStart → loadEventEnd (the "
         "page and its files, after the first byte), DOMContentLoaded from the navigation's "
         "start, and when the rows are drawn (the first reads of the API answered and "
         "rendered). Bytes: transferred, the page's files apart from the API's answers "
         "(`detailed`, `summary`, `overview`). Goal: under 100 ms."), "",
        "| cache | loads | responseStart → load, median / p95 (ms) | DOMContentLoaded, median / p95 (ms) | rows drawn, median / p95 (ms) | page bytes | API bytes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("cold", "empty"), ("warm", "warm (reload)")):
        r = measured[name]
        lines.append(
            f"| {label} | {r['loads']} | {r['load_ms'][0]:.1f} / {r['load_ms'][1]:.1f} | "
            f"{r['dom_ms'][0]:.1f} / {r['dom_ms'][1]:.1f} | {r['rows_ms'][0]:.1f} / "
            f"{r['rows_ms'][1]:.1f} | {r['page_bytes']:,.0f} | {r['api_bytes']:,.0f} |")
    cold = measured["cold"]
    verdict = "within" if cold["load_ms"][1] < 100 else "not within"
    lines += ["", (f"With an empty cache the page loads {verdict} the 100 ms goal at p95 "
                   f"({cold['load_ms'][1]:.0f} ms from its first byte to the load event); its rows "
                   f"are drawn with the API's data {cold['rows_ms'][1]:.0f} ms after the navigation "
                   "started (p95): the script asks for `detailed` and `summary` once it runs. A "
                   "reload revalidates the page (`no-cache`, an ETag: a 304 without a body) and "
                   "takes its script, style sheet and icon from the cache (named by their hash, "
                   "cached for a year), so only the API's answers cross the wire. The browser, "
                   "the API and the rest of the pipeline share the machine's 2 cores.")]
    return lines
