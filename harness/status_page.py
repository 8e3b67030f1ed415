"""The status page of a running `llmhealth run` (harness/pipeline.py), for its browser test, its
screenshot and its benchmark: where it is served, and waiting for every target to have a status.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

API_START_S = 60.0


@contextmanager
def page_site(pipeline: dict) -> Iterator[str]:
    """The base URL (ending in `/`) of the status page of `pipeline` (as `running_pipeline`
    yields it: the run's API), once it answers (within API_START_S); raises when it does not."""
    deadline = time.monotonic() + API_START_S
    while True:
        try:
            answer = httpx.get(pipeline["api"], timeout=5)
            if answer.status_code == 200 and "/page/page.js" in answer.text:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no status page at {pipeline['api']} within {API_START_S:g} s")
        time.sleep(0.2)
    yield pipeline["api"]


def wait_for_statuses(api: str, deadline_s: float) -> bool:
    """Wait until every target the API at `api` knows has a status other than `unknown`; False
    when that did not happen within `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            targets = httpx.get(f"{api}api/health/detailed", timeout=5).json()["targets"]
        except (httpx.HTTPError, ValueError, KeyError):
            targets = []
        if targets and all(t["status"] != "unknown" for t in targets):
            return True
        time.sleep(1)
    return False
