"""Headless Chromium for the status page's test, its screenshot and its benchmark: Debian's
`chromium` (installed with apt-get when it is missing), driven by Playwright.

`chromium_path()` returns the binary, installing `chromium` and `chromium-driver` first if
needed (the machine's package lists are refreshed when the first attempt cannot find them);
`BrowserUnavailable` says why it cannot, so a test can skip with that reason. `launch()`
starts it headless with the arguments that keep it quiet and local: no sandbox (we run as
root), no GPU, no QUIC, no first-run, background, component-update or sync traffic.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "chromium-driver")
ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync")
INSTALL_S = 900


class BrowserUnavailable(Exception):
    """Chromium is not installed and cannot be: the text says why and what to do."""


def chromium_path() -> Path:
    """/usr/bin/chromium, installed with apt-get when it is not there yet. Raises
    BrowserUnavailable (with apt-get's last words) when it cannot be installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None:
        raise BrowserUnavailable(f"{CHROMIUM} is missing and there is no apt-get to install "
                                 f"it: install {' '.join(PACKAGES)} (or Chromium) by hand")
    if os.geteuid() != 0:
        raise BrowserUnavailable(f"{CHROMIUM} is missing and installing it needs root: run "
                                 f"`sudo apt-get install -y {' '.join(PACKAGES)}`")
    install = [apt, "install", "-y", "--no-install-recommends", *PACKAGES]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = _run(install, env)
    if done.returncode != 0:
        updated = _run([apt, "update"], env)
        done = _run(install, env) if updated.returncode == 0 else updated
    if done.returncode != 0 or not CHROMIUM.exists():
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise BrowserUnavailable(f"cannot install {' '.join(PACKAGES)} with apt-get "
                                 f"(exit {done.returncode}): {' / '.join(tail)}")
    return CHROMIUM


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=INSTALL_S,
                              check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, -1, "", f"{argv[1]} took over {INSTALL_S} s")


@contextmanager
def launch() -> Iterator[Browser]:
    """Headless Chromium (installed if needed), closed at the end of the block."""
    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=list(ARGS))
        try:
            yield browser
        finally:
            browser.close()
