"""The `stream_stall` fault over real HTTP: every API's answer starts, goes silent for
`hang_seconds`, then completes intact."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from simulator import ModelBehavior, running

FAST = {"latency_p50": 0.005, "latency_p99": 0.01, "ttft_p50": 0.005, "ttft_p99": 0.01}
PAUSE = 0.4
PROMPT = [{"role": "user", "content": "are you there"}]


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    stall = ModelBehavior(**FAST, error_rate=1.0, error_kind="stream_stall", hang_seconds=PAUSE)
    with running({"stall": stall}) as url:
        yield url.removesuffix("/v1")


REQUESTS = {
    "openai": ("/v1/chat/completions", {"model": "stall", "messages": PROMPT, "max_tokens": 8}, {}),
    "anthropic": ("/anthropic/v1/messages",
                  {"model": "stall", "messages": PROMPT, "max_tokens": 8},
                  {"anthropic-version": "2023-06-01"}),
    "ollama": ("/ollama/api/chat",
               {"model": "stall", "messages": PROMPT, "options": {"num_predict": 8}}, {}),
}
# Pieces of the body before the silence: OpenAI's role chunk and two contents; Anthropic's
# message_start, content_block_start, ping and two deltas; Ollama's two lines.
BEFORE = {"openai": 3, "anthropic": 5, "ollama": 2}
LAST = {"openai": "data: [DONE]", "anthropic": "data: {\"type\":\"message_stop\"}",
        "ollama": "\"done\":true"}


def timed_lines(root: str, path: str, body: dict, headers: dict) -> list[tuple[float, str]]:
    started, lines = time.monotonic(), []
    with httpx.stream("POST", root + path, json=body, headers=headers, timeout=5) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.strip() and not line.startswith("event:"):
                lines.append((time.monotonic() - started, line))
    return lines


@pytest.mark.parametrize("api", list(REQUESTS))
def test_stream_stalls_then_finishes(root: str, api: str) -> None:
    path, body, headers = REQUESTS[api]
    lines = timed_lines(root, path, {**body, "stream": True}, headers)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(lines)]
    longest = max(range(len(gaps)), key=gaps.__getitem__)
    assert longest == BEFORE[api] - 1 and gaps[longest] >= PAUSE - 0.02
    assert LAST[api].replace(" ", "") in lines[-1][1].replace(" ", "")


@pytest.mark.parametrize("api", list(REQUESTS))
def test_plain_body_stalls_halfway_then_completes(root: str, api: str) -> None:
    path, body, headers = REQUESTS[api]
    started = time.monotonic()
    response = httpx.post(root + path, json={**body, "stream": False}, headers=headers, timeout=5)
    assert response.status_code == 200 and time.monotonic() - started >= PAUSE - 0.02
    assert isinstance(json.loads(response.content), dict)
