"""The prober process: resolve keys, probe until SIGINT/SIGTERM, flush metrics, exit."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping

from llmhealth.config.model import Config
from prober.apikeys import MissingApiKey, resolve_api_keys
from prober.loop import run_targets
from prober.telemetry import Telemetry, server_of

log = logging.getLogger("prober")


def main(config: Config) -> int:
    """Run the prober in the foreground. Returns 0 after a signal-initiated stop, 2 when the
    configuration cannot be probed (no targets, a missing API key, an unusable base_url)."""
    _configure_logging()
    try:
        api_keys = _check(config)
    except ValueError as exc:
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
    try:
        asyncio.run(_serve(config, telemetry, api_keys))
    finally:
        telemetry.shutdown()
    log.info("stopped")
    return 0


def _check(config: Config) -> dict[str, str | None]:
    """The API keys of all targets; ValueError naming the problem when the config is not
    probeable."""
    if not config.targets:
        raise ValueError("no targets configured")
    for target in config.targets:
        try:
            server_of(target.base_url)
        except ValueError as exc:
            raise ValueError(f"target {target.name!r}: {exc}") from None
    try:
        return resolve_api_keys(config.targets, os.environ)
    except MissingApiKey as exc:
        raise ValueError(str(exc)) from None


async def _serve(config: Config, telemetry: Telemetry, api_keys: Mapping[str, str | None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_targets(config, telemetry, stop=stop, api_keys=api_keys)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _configure_logging() -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s prober %(levelname)s %(message)s",
    )
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
