"""The prober's heartbeat: beaten after every export the collector took and, while there is
nothing to export, by the keepalive's empty export; never while the collector does not answer.
`llmhealth check --component prober` reads its age."""

from __future__ import annotations

import os
import time
from pathlib import Path

from llmhealth import checks
from llmhealth_config.model import Config
from prober.export_buffer import ExportBuffer
from prober.heartbeat import Heartbeat, Keepalive, age_s
from tests.unit.test_prober_export_buffer import Clock, Scripted, batch


def beating(clock: Clock) -> tuple[ExportBuffer, Scripted, list[float]]:
    beats: list[float] = []
    inner = Scripted(clock)
    buffer = ExportBuffer(inner, endpoint="127.0.0.1:4317", keep_s=600.0, clock=clock,
                          on_sent=lambda: beats.append(clock.now))
    return buffer, inner, beats


def test_beats_after_each_export_taken_and_never_while_down() -> None:
    clock = Clock()
    buffer, inner, beats = beating(clock)
    inner.up = True
    buffer.export(batch(1))
    clock.now = 1.0
    inner.up = False
    buffer.export(batch(2))
    clock.now = 2.0
    buffer.keepalive(1.0)  # still down: the kept batch is not taken
    assert beats == [0.0]
    clock.now = 3.0
    inner.up = True
    buffer.keepalive(1.0)  # back: the kept batch goes, then the beat
    assert beats == [0.0, 3.0] and inner.taken == [1, 2]


def test_keepalive_sends_an_empty_export_only_when_idle() -> None:
    clock = Clock()
    buffer, inner, beats = beating(clock)
    inner.up = True
    buffer.export(batch(1))
    clock.now = 0.5
    buffer.keepalive(1.0)  # an export reached the collector 0.5 s ago: nothing to do
    assert inner.attempts == 1 and beats == [0.0]
    clock.now = 1.5
    buffer.keepalive(1.0)
    assert inner.sent == [1, 0] and beats == [0.0, 1.5]


def test_keepalive_thread_calls_every_interval_until_stopped() -> None:
    calls: list[float] = []
    keepalive = Keepalive(calls.append, 0.05)
    time.sleep(0.3)
    keepalive.stop()
    seen = len(calls)
    time.sleep(0.15)
    assert seen >= 3 and len(calls) == seen and set(calls) == {0.05}


def test_check_reads_the_heartbeat_age(tmp_path: Path) -> None:
    path = tmp_path / "hb"
    config = Config.model_validate({"prober": {"heartbeat_file": str(path),
                                               "export_interval": 1}})
    healthy, line = checks.prober(config)
    assert not healthy and "no heartbeat file" in line
    Heartbeat(path).beat()
    assert checks.prober(config)[0]
    assert age_s(path) is not None and age_s(path) < 1
    os.utime(path, (time.time() - 10, time.time() - 10))
    healthy, line = checks.prober(config)
    assert not healthy and "10 s ago" in line and "127.0.0.1:4317" in line


def test_an_unwritable_heartbeat_is_logged_once(tmp_path: Path, caplog) -> None:
    heartbeat = Heartbeat(tmp_path / "missing-dir" / "hb")
    heartbeat.beat()
    heartbeat.beat()
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "prober.heartbeat_file" in caplog.text
