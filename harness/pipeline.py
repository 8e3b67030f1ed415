"""Talking to a running `llmhealth run` from a test: the CLI and the store's HTTP endpoint."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import yaml

from aggregator.store.params import encode_params
from aggregator.store.password import PASSWORD_FILE
from harness.ports import free_ports
from llmhealth.run import tether


@contextmanager
def running_pipeline(tmp: Path, settings: dict | None = None,
                     env: dict[str, str] | None = None) -> Iterator[dict]:
    """`llmhealth run` on ephemeral ports with data in `tmp` and `settings` merged into its
    config (no `targets`: the demo). Yields process, config path, store URL, the aggregator's
    API URL (`api`), the prober's activity endpoint (`prober`), start time and the combined
    stdout/stderr log path, and `auth` (user default and the password the run generated in its
    data dir). A process still running at the end is killed with
    its whole tree (a test failed before stopping it)."""
    store_port, grpc_port, http_port, sim_port, api_port, prober_port = free_ports(6)
    config = {"store": {"data_dir": str(tmp / "data"), "http_port": store_port},
              "collector": {"grpc_port": grpc_port, "http_port": http_port},
              "simulator": {"port": sim_port}, "aggregator": {"http_port": api_port},
              "prober": {"http_port": prober_port}}
    for key, value in (settings or {}).items():
        config[key] = {**config[key], **value} if key in config and isinstance(value, dict) else value
    config_path = tmp / "llmhealth.yaml"
    config_path.write_text(yaml.safe_dump(config))
    log = (tmp / "run.log").open("w")
    started = time.monotonic()
    # tethered: a test run that is killed takes the pipeline with it
    process = subprocess.Popen(tether.command([sys.executable, "-m", "llmhealth", "run", "--config",
                                               str(config_path)]),
                               stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        auth = ("default", _generated_password(tmp / "data" / PASSWORD_FILE, process, tmp / "run.log"))
        yield {"process": process, "config": config_path, "url": f"http://127.0.0.1:{store_port}/",
               "api": f"http://127.0.0.1:{api_port}/",
               "prober": f"http://127.0.0.1:{prober_port}/activity",
               "started": started, "log": tmp / "run.log", "auth": auth}
    finally:
        if process.poll() is None:
            tree = psutil.Process(process.pid).children(recursive=True)
            process.kill()
            process.wait()
            for child in tree:
                with contextlib.suppress(psutil.NoSuchProcess):  # died with the supervisor
                    child.kill()
            psutil.wait_procs(tree, timeout=5)
        log.close()


def _generated_password(path: Path, process: subprocess.Popen, log: Path) -> str:
    """The store password `llmhealth run` generates at start (no LLMHEALTH_STORE_PASSWORD)."""
    deadline = time.monotonic() + 30
    while not path.exists() or not path.read_text().strip():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{path} was not written: {log.read_text()}"
        time.sleep(0.1)
    return path.read_text().strip()


def cli(*args: str, timeout: float = 30, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmhealth", *args], capture_output=True,
                          text=True, timeout=timeout, check=False, env=env)


def query(pipeline: dict, text: str, params: dict | None = None,
          fmt: str = "JSONEachRow") -> list[dict] | str:
    """Rows of `text` (JSONEachRow), or the raw body for another `fmt`, from the store of a
    `running_pipeline`, as user default."""
    request = {"database": "llmhealth", "default_format": fmt}
    request.update({f"param_{k}": v for k, v in encode_params(params).items()})
    response = httpx.post(pipeline["url"], params=request, content=text.encode(),
                          auth=pipeline["auth"], timeout=10)
    assert response.status_code == 200, response.text
    if fmt != "JSONEachRow":
        return response.text
    return [json.loads(line) for line in response.text.splitlines()]
