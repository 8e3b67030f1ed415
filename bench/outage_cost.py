"""What a target that stays down costs: the token-spending probes and tokens it was sent
during an outage, from the stored points, and the same count from the cadence arithmetic of
today's backoff (`today_costly_probes`), for `bench.detection`."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from bench.pipeline import Pipeline
from llmhealth_config.model import Config
from prober.cadence import Cadence, CadenceRules

if TYPE_CHECKING:
    from bench.detection import Mode


def today_costly_probes(outage_s: float, duration_s: float = 0.005) -> float:
    """Token-spending probes per target (both kinds) that the default cadence sends during an
    outage of `outage_s` seconds when each fails within `duration_s` and may have been billed
    (so it backs off): mean over the target's phase. This is the backoff's count before the
    free probe, the most a target that stays down may be billed for."""
    config = Config()
    prober = config.prober
    rules = CadenceRules(prober.interval, prober.confirm_delay,
                         confirm_failures=config.aggregator.breaker.failures,
                         backoff_after=prober.backoff_after, backoff_max=prober.backoff_max,
                         retry_after_max=prober.retry_after_max)
    phases = [prober.interval * i / 100 for i in range(100)]
    counts = []
    for phase in phases:
        cadence, probes = Cadence(rules, start=phase), 0
        while cadence.planned < outage_s:
            probes += 1
            cadence.after(ok=False, retry_after_s=None, now=cadence.planned + duration_s)
        counts.append(probes)
    return 2 * statistics.mean(counts)


FREE_OUTCOMES = ["connect", "dns", "tls", "auth", "http_4xx", "probe_rejected", "http_5xx"]
"""Failures answered before any generation or never sent (`prober.budget.failure_costs_nothing`,
which also checks that no usage came with them)."""

_AT = "fromUnixTimestamp64Milli(toInt64(1000 * {%s:Float64}), 'UTC')"


def tokens_per_answered_probe(pipe: Pipeline, names: list[str]) -> float:
    """Tokens (input + output) the simulator reported per successful token-spending probe so
    far: what one request costs when it is answered."""
    tokens = pipe.query("""
        SELECT sum(Sum) AS n FROM otel_metrics_exponential_histogram
        WHERE MetricName = 'gen_ai.client.token.usage'
          AND Attributes['llmhealth.target'] IN {names:Array(String)}""", {"names": names})
    probes = pipe.query("""
        SELECT sum(Value) AS n FROM otel_metrics_sum
        WHERE MetricName = 'llmhealth.probe.outcomes' AND Attributes['llmhealth.probe.outcome'] = 'ok'
          AND Attributes['llmhealth.probe.kind'] IN ('completion', 'stream')
          AND Attributes['llmhealth.target'] IN {names:Array(String)}""", {"names": names})
    return (tokens[0]["n"] or 0) / max(probes[0]["n"] or 0, 1)


def outage_cost(pipe: Pipeline, group: Mode) -> dict:
    """Per target, means over the group: failed token-spending probes stored during the outage
    (all, and those whose failure may have been billed), liveness probes, and tokens reported
    as used."""
    params = {"names": group.names, "since": min(group.flipped.values()),
              "until": max(group.back.values()), "free": FREE_OUTCOMES}
    window = f"TimeUnix > {_AT % 'since'} AND TimeUnix <= {_AT % 'until'} + INTERVAL 1 SECOND"
    costly = pipe.query(f"""
        SELECT sum(Value) AS n,
               sumIf(Value, Attributes['llmhealth.probe.outcome'] NOT IN {{free:Array(String)}}) AS billable
        FROM otel_metrics_sum
        WHERE MetricName = 'llmhealth.probe.outcomes' AND Attributes['llmhealth.probe.outcome'] != 'ok'
          AND Attributes['llmhealth.probe.kind'] IN ('completion', 'stream')
          AND Attributes['llmhealth.target'] IN {{names:Array(String)}} AND {window}""", params)
    free = pipe.query(f"""
        SELECT sum(Value) AS n, sumIf(Value, Attributes['llmhealth.probe.outcome'] != 'ok') AS failed
        FROM otel_metrics_sum
        WHERE MetricName = 'llmhealth.liveness.outcomes'
          AND Attributes['llmhealth.target'] IN {{names:Array(String)}} AND {window}""", params)
    tokens = pipe.query(f"""
        SELECT sum(Sum) AS n FROM otel_metrics_exponential_histogram
        WHERE MetricName = 'gen_ai.client.token.usage'
          AND Attributes['llmhealth.target'] IN {{names:Array(String)}}
          AND TimeUnix > {_AT % 'since'} + INTERVAL 1 SECOND AND TimeUnix <= {_AT % 'until'}""",
                        params)
    n = len(group.names)
    return {"costly": (costly[0]["n"] or 0) / n, "billable": (costly[0]["billable"] or 0) / n,
            "free": (free[0]["n"] or 0) / n,
            "free_failed": (free[0]["failed"] or 0) / n,
            "tokens": (tokens[0]["n"] or 0) / n,
            "outage_s": statistics.median(group.back[k] - group.flipped[k] for k in group.back)}
