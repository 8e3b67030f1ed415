"""The prober process: resolve keys, listen for `GET /activity`, probe until SIGINT/SIGTERM,
flush metrics, exit."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping

from llmhealth_config.intervals import MIN_INTERVAL_S
from llmhealth_config.model import Config
from prober.activity import Activity
from prober.activity_server import ActivityServer, ActivityUnavailable, bind
from prober.apikeys import MissingApiKey, resolve_api_keys
from prober.loop import run_targets
from prober.telemetry import Telemetry

log = logging.getLogger("prober")


def main(config: Config, log_level: int = logging.INFO) -> int:
    """Run the prober in the foreground, logging to stderr from `log_level` on (DEBUG adds a
    line per probe). Returns 0 after a signal-initiated stop, 2 when the configuration cannot
    be probed (no targets, a missing API key) or the activity endpoint cannot listen
    (prober.http_host/http_port)."""
    _configure_logging(log_level)
    try:
        api_keys = _check(config)
        sock = bind(config.prober.http_host, config.prober.http_port)
    except (ValueError, ActivityUnavailable) as exc:
        print(f"prober: {exc}", file=sys.stderr)
        return 2
    telemetry = Telemetry(config)
    kinds = sorted({kind for target in config.targets for kind in target.kinds})
    log.info(
        "probing %d targets (kinds: %s), exporting to %s",
        len(config.targets),
        ", ".join(kinds),
        telemetry.endpoint,
    )
    for warning in fast_interval_warnings(config):
        log.warning("%s", warning)
    try:
        asyncio.run(_serve(config, telemetry, api_keys, sock))
    finally:
        telemetry.shutdown()
    log.info("stopped")
    return 0


def _check(config: Config) -> dict[str, str | None]:
    """The API keys of all targets; ValueError naming the problem when the config is not
    probeable."""
    if not config.targets:
        raise ValueError("no targets configured")
    try:
        return resolve_api_keys(config.targets, os.environ)
    except MissingApiKey as exc:
        raise ValueError(str(exc)) from None


def fast_interval_warnings(config: Config) -> list[str]:
    """One warning per target that `allow_fast_interval` lets the prober probe (or, for a
    `discover: true` endpoint, list) more often than the floor, with its request rate."""
    warnings = []
    for target in config.targets:
        interval = config.interval_for(target)
        discovery = config.prober.discovery_interval if target.discover else MIN_INTERVAL_S
        if not target.allow_fast_interval or min(interval, discovery) >= MIN_INTERVAL_S:
            continue
        rate, kinds = len(target.kinds) / interval, ", ".join(target.kinds)
        if target.discover:
            warnings.append(f"target {target.name!r} uses allow_fast_interval: {rate:.3g} "
                            f"requests/s to each discovered model ({kinds} every {interval:g} s), "
                            f"and a model listing every {discovery:g} s")
        else:
            warnings.append(f"target {target.name!r} uses allow_fast_interval: {rate:.3g} "
                            f"requests/s ({kinds} every {interval:g} s)")
    return warnings


async def _serve(config: Config, telemetry: Telemetry, api_keys: Mapping[str, str | None],
                 sock: socket.socket) -> None:
    """Probe, and answer `GET /activity` on `sock`, until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    activity = Activity(collector=config.collector.export_endpoint,
                        export_interval_s=config.prober.export_interval)
    server = ActivityServer(activity, sock, config.prober.heartbeat_file)
    try:
        await server.start()
        await run_targets(config, telemetry, stop=stop, api_keys=api_keys, activity=activity)
    finally:
        await server.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _configure_logging(level: int) -> None:
    """`<time> <logger> <LEVEL> <message>` lines, the form `llmhealth run` reads back
    (llmhealth/run/child_lines.py); `level` applies to the prober's own logger, libraries log
    from INFO on."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    log.setLevel(level)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
