"""deploy/prometheus/rules.yml: promtool accepts it and its unit tests (rules_test.yml) pass;
every alert has a severity, a summary, a description and a runbook section in
docs/alerting.md, and is tested firing and not firing; every metric `GET /metrics` serves is
documented there.

promtool comes from the Debian package `prometheus`: installed here when missing and apt-get
can (as root), else these tests skip saying what to install."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aggregator.metrics_state import MetricsState
from aggregator.prometheus import HealthCollector
from llmhealth_config.model import Config

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
RULES_TEST = ROOT / "deploy" / "prometheus" / "rules_test.yml"
ALERTING_DOC = ROOT / "docs" / "alerting.md"
INSTALL_S = 300


def _apt_get(*args: str) -> bool:
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run([apt, *args], env=env, capture_output=True, timeout=INSTALL_S,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


@functools.cache
def find_promtool() -> str | None:
    """promtool's path, installing the Debian package `prometheus` (without its recommended
    packages) when it is missing and this user may; None when it cannot be had."""
    if shutil.which("promtool") is None:
        install = ("install", "-y", "-q", "--no-install-recommends", "prometheus")
        if not _apt_get(*install) and _apt_get("update", "-q"):
            _apt_get(*install)
    return shutil.which("promtool")


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run promtool (skip the test, naming the package, when it cannot be had)."""
    path = find_promtool()
    if path is None:
        pytest.skip("promtool not found: install the Debian package `prometheus` "
                    "(apt-get install --no-install-recommends prometheus)")
    return subprocess.run([path, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False, cwd=ROOT)


def _prometheus_section() -> str:
    """The `## Prometheus` section of docs/alerting.md (other sections are other parts')."""
    doc = ALERTING_DOC.read_text(encoding="utf-8")
    match = re.search(r"^## Prometheus\n(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
    assert match, "docs/alerting.md has no section `## Prometheus`"
    return match.group(1)


def _alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_rules() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout


def test_the_rules_unit_tests_pass() -> None:
    done = promtool("test", "rules", str(RULES_TEST))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_fires_and_stays_quiet_in_the_unit_tests() -> None:
    cases: dict[str, list[bool]] = {}
    for group in yaml.safe_load(RULES_TEST.read_text(encoding="utf-8"))["tests"]:
        for case in group.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(bool(case.get("exp_alerts")))
    for alert in _alerts():
        assert sorted(set(cases.get(alert["alert"], []))) == [False, True], alert["alert"]


@pytest.mark.parametrize("alert", _alerts(), ids=lambda a: a["alert"])
def test_every_alert_says_how_bad_what_and_where_to_read_on(alert: dict) -> None:
    assert alert["labels"]["severity"] in ("warning", "critical")
    assert set(alert["annotations"]) == {"summary", "description", "runbook_url"}
    anchor = alert["annotations"]["runbook_url"].removeprefix("docs/alerting.md#")
    assert anchor == alert["alert"].lower()
    headings = re.findall(r"^#+ (.+)$", _prometheus_section(), re.MULTILINE)
    assert f"`{alert['alert']}`" in headings or alert["alert"] in headings


def test_every_metric_served_is_documented() -> None:
    collector = HealthCollector(MetricsState(None, Config()))  # describe() reads no state
    served = {family.name + ("_total" if family.type == "counter" else "")
              for family in collector.describe()}
    documented = set(re.findall(r"`(llmhealth_[a-z0-9_]+)", _prometheus_section()))
    assert served - documented == set(), "not in docs/alerting.md"
    assert documented - served == set(), "documented, not served"
