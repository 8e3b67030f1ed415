"""The prober's one-shot probes (`prober.once`) as the aggregator's API runs them for
`POST /api/health/probe` (aggregator/api/probe.py's `ProbeRunner`): the process that serves the
API (`llmhealth aggregator`, `llmhealth run`) hands this to the app, so the aggregator never
imports the prober."""

from __future__ import annotations

import os
from collections.abc import Mapping

from aggregator.api.errors import UnknownName
from aggregator.api.probe_models import ProbeOutcome
from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.once import OnceResult, UnknownTarget, longest_run_s, probe_once, select


class OnceRunner:
    """Probes the targets of `config` with the API keys of `environ` (default: this process's
    environment, read at each run)."""

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.environ = environ

    def _select(self, target: str | None) -> list[Target]:
        try:
            return select(self.config, target)
        except UnknownTarget as exc:
            raise UnknownName("target", exc.valid) from None

    def plan(self, target: str | None) -> tuple[int, float]:
        targets = self._select(target)
        return len(targets), longest_run_s(self.config, targets)

    async def run(self, target: str | None) -> list[ProbeOutcome]:
        environ = os.environ if self.environ is None else self.environ
        return [outcome(r) for r in await probe_once(self.config, self._select(target), environ)]


def outcome(once: OnceResult) -> ProbeOutcome:
    r = once.result
    return ProbeOutcome(
        target=r.target, kind=r.kind, outcome=r.outcome, ok=once.ok, http_status=r.http_status,
        detail=r.detail, connection=once.connection, connect_s=once.connect_s,
        first_byte_s=r.first_byte_s, ttft_s=r.ttft_s, duration_s=r.duration_s,
        input_tokens=r.input_tokens, output_tokens=r.output_tokens,
        tokens_per_s=r.output_tokens_per_s, started_at=once.started_at)
