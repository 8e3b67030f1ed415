"""The probe schedule: one task per (target, probe kind), plus one per discovery endpoint.

This is the dispatcher. Each task waits for its next planned instant (`prober.cadence`), takes
a slot on its endpoint (`prober.endpoints`), runs the protocol's probe function
(`prober.protocols`) within the bounds its history gives (`prober.bounds`), records the
result through `Telemetry`, spends the target's token budget and logs changes of outcome
(`prober.outcome_log`); the activity registry (`prober.activity`) lists each probe while it
waits and runs, and keeps its result. Tasks share HTTP clients (`prober.clients`) and their
endpoint's slots, and the tasks of one target share its recovery state (`prober.recovery`): a
target whose token-spending kinds back off gets a liveness task (`prober.liveness`) unless it
probes a tokenless kind already. A target that hangs only ever delays its own next probe,
and other targets' probes on its endpoint by at most half their interval. Discovery tasks
start and stop the probe tasks of the models they find.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine, Mapping
from dataclasses import replace

from llmhealth_config.model import Config
from llmhealth_config.target import KINDS, Target
from prober import budget
from prober.activity import Activity
from prober.bounds import BoundHistory, BoundRules
from prober.cadence import Cadence, CadenceRules
from prober.clients import ClientPool
from prober.context import ProbeContext
from prober.discovery_loop import discover_forever
from prober.endpoints import EndpointLimits
from prober.liveness import watch_forever
from prober.outcome import OK, ProbeResult
from prober.outcome_log import OutcomeLog
from prober.protocols import probe_for
from prober.recovery import TargetRecovery
from prober.telemetry import Telemetry

log = logging.getLogger("prober")


async def run_targets(
    config: Config,
    telemetry: Telemetry,
    *,
    stop: asyncio.Event,
    api_keys: Mapping[str, str | None],
    activity: Activity | None = None,
) -> None:
    """Probe every target and kind, and discover models on `discover: true` endpoints, until
    `stop` is set; then cancel in-flight probes and return. `api_keys` maps configured target
    names to their key (None: no key). The probes are listed in `activity` (by default a
    registry of their own). A task that crashes is a bug: every task is cancelled and its
    exception re-raised."""
    clients = ClientPool()
    try:
        prober = Prober(config, telemetry, clients, activity)
        for target in config.targets:
            if target.discover:
                prober.start_discovery(target, api_keys.get(target.name))
            elif target.kinds:  # `probes: []`: judged on applications' requests, never probed
                prober.start_target(target, api_keys.get(target.name))
        await prober.run_until(stop)
    finally:
        await clients.aclose()


class Prober:
    """The set of running probe tasks; discovery adds and removes targets at run time."""

    def __init__(self, config: Config, telemetry: Telemetry, clients: ClientPool,
                 activity: Activity | None = None) -> None:
        self.config = config
        self.telemetry = telemetry
        self.clients = clients
        self.activity = activity or Activity(collector=config.collector.export_endpoint,
                                             export_interval_s=config.prober.export_interval)
        self.endpoints = EndpointLimits(config)
        self.outcomes = OutcomeLog(log)
        self.tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._crashed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    def context(self, target: Target, api_key: str | None) -> ProbeContext:
        return ProbeContext(
            self.clients.client_for(target),
            target,
            api_key=api_key,
            timeout=self.config.timeout_for(target),
            max_body_bytes=self.config.prober.max_body_bytes,
            stream_max_tokens=self.config.prober.stream_max_tokens,
        )

    def start_target(self, target: Target, api_key: str | None) -> None:
        """Start one probe loop per kind of `target` (a no-op for kinds already running), and
        a liveness loop when every kind spends tokens."""
        ctx = self.context(target, api_key)
        self.activity.watch(target.name)
        token_budget = budget.TokenBudget(target.daily_token_budget)
        costly = [kind for kind in target.kinds if kind not in budget.TOKENLESS_KINDS]
        recovery = TargetRecovery(costly)
        # the kinds' slots are spread evenly over the interval from a random phase, so a
        # failure every kind sees meets the first of them within interval / len(kinds)
        phase = random.random()
        for index, kind in enumerate(target.kinds):
            if (target.name, kind) not in self.tasks:
                offset = (phase + index / len(target.kinds)) % 1.0
                self._spawn((target.name, kind),
                            self._probe_forever(ctx, kind, token_budget, recovery, offset))
        if len(costly) == len(target.kinds) and (target.name, "liveness") not in self.tasks:
            rules = self._cadence_rules(target, backoff=False)
            self._spawn((target.name, "liveness"), watch_forever(self, ctx, recovery, rules))

    def stop_target(self, name: str) -> None:
        """Cancel every probe loop of the target called `name`."""
        for key in [key for key in self.tasks if key[0] == name]:
            self.tasks.pop(key).cancel()
        self.outcomes.forget(name)
        self.activity.forget(name)

    def start_discovery(self, endpoint: Target, api_key: str | None) -> None:
        """Discover the models of a local server and keep one target per model running."""
        self._spawn((endpoint.name, "discovery"), discover_forever(self, endpoint, api_key))

    async def run_until(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([stopping, self._crashed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            tasks = [stopping, *self.tasks.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._crashed.done():
            raise self._crashed.result()

    def _spawn(self, key: tuple[str, str], coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.create_task(coroutine, name=f"probe {key[0]} {key[1]}")
        self.tasks[key] = task
        task.add_done_callback(self._check_crash)

    def _check_crash(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None and not self._crashed.done():
            self._crashed.set_result(task.exception())

    def _cadence_rules(self, target: Target, *, backoff: bool, kind: str | None = None) -> CadenceRules:
        prober = self.config.prober
        return CadenceRules(self.config.interval_for(target, kind), prober.confirm_delay,
                            confirm_failures=self.config.aggregator.breaker.failures,
                            backoff_after=prober.backoff_after, backoff_max=prober.backoff_max,
                            retry_after_max=prober.retry_after_max, backoff=backoff,
                            # the context probe is sparse on purpose: doubt would multiply it
                            doubt_probes=0 if kind == "context" else prober.doubt_probes,
                            doubt_successes=prober.doubt_successes)

    async def _probe_forever(self, ctx: ProbeContext, kind: str, token_budget: budget.TokenBudget,
                             recovery: TargetRecovery, offset: float) -> None:
        """Probe `kind` of `ctx.target` at the instants its `Cadence` plans, the first one
        `offset` (a fraction in [0, 1)) of its interval from now, or at once when the target's
        free probe wakes it."""
        target = ctx.target
        free = kind in budget.TOKENLESS_KINDS
        clock = asyncio.get_running_loop()
        rules = self._cadence_rules(target, backoff=not free, kind=kind)
        cadence = Cadence(rules, start=clock.time() + offset * rules.interval)
        history = BoundHistory(BoundRules.of(self.config, target, kind))
        paused = False
        while True:
            if await recovery.sleep_until(kind, max(0.0, cadence.planned - clock.time())):
                cadence.wake(clock.time())
            run_kind = self._kind_within_budget(target, kind, token_budget)
            if run_kind != kind and not paused:
                log.warning("target=%s kind=%s daily token budget of %d spent; %s until 00:00 UTC",
                            target.name, kind, token_budget.limit,
                            f"probing {run_kind} instead" if run_kind else "paused")
            paused = run_kind != kind
            if run_kind is None:
                cadence.skip(clock.time())
                continue
            recovery.probing(kind)
            bounds = history.bounds(cadence.failures) if run_kind == kind else None
            with self.activity.probe(target, run_kind, clock.time() - cadence.planned) as probe:
                async with self.endpoints.slot(target):
                    probe.run()
                    self.telemetry.probe_started(target, run_kind, clock.time() - cadence.planned)
                    try:
                        result = await probe_for(target, run_kind)(replace(ctx, bounds=bounds))
                    finally:
                        self.telemetry.probe_finished(target, run_kind)
            self.activity.finished(target.name, run_kind, result)
            self._account(result, target, token_budget)
            if run_kind == kind:
                history.learn(result)
            retry_after = result.retry_after_s if result.outcome == "http_429" else None
            if result.outcome == "probe_rejected":
                cadence.refused(clock.time())
            else:
                cadence.after(ok=result.outcome == OK, retry_after_s=retry_after, now=clock.time(),
                              free=budget.failure_costs_nothing(result))
            self.outcomes.record(result, clock.time())
            if cadence.backed_off and cadence.failures == cadence.rules.backoff_after:
                log.debug("target=%s kind=%s failed %d times in a row; probing less often, at "
                          "least every %gs", target.name, run_kind, cadence.failures,
                          cadence.rules.backoff_max)
            if not free:
                recovery.costly_result(kind, cadence.failures, cadence.backed_off)
            elif woken := recovery.free_result(result.outcome == OK):
                log.info("target=%s kind=%s ok after failures; probing %s now",
                         target.name, kind, ", ".join(woken))

    def _kind_within_budget(
        self, target: Target, kind: str, token_budget: budget.TokenBudget
    ) -> str | None:
        """`kind`, or what to run instead once the budget is spent: `models` when the protocol
        has it and the target does not already probe it, else nothing."""
        if kind in budget.TOKENLESS_KINDS or not token_budget.exhausted():
            return kind
        if "models" in KINDS[target.protocol] and "models" not in target.kinds:
            first_spender = next(k for k in target.kinds if k not in budget.TOKENLESS_KINDS)
            return "models" if kind == first_spender else None
        return None

    def _account(self, result: ProbeResult, target: Target, token_budget: budget.TokenBudget) -> None:
        tokens = budget.tokens_spent(result)
        token_budget.spend(sum(tokens))
        self.telemetry.record(result, target, cost_usd=budget.cost_usd(tokens, target.price))
        remaining = token_budget.remaining()
        if remaining is not None:
            self.telemetry.record_budget(target, remaining)
