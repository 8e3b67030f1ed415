"""`llmhealth activity` (in process, CliRunner) against the API served on an ephemeral port with
the prober's real activity endpoint behind it: the table of probes in flight and last results
(exit 0), a prober that is down (exit 1, saying so), no API at all (exit 2, one line saying how
to point at one), and `--interval` checked before anything is read."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harness.ports import free_ports
from llmhealth.cli import app
from prober.activity import Activity
from prober.outcome import ProbeResult
from tests.unit.test_diagnostics import TARGET, config, prober_serving, served

RUNNER = CliRunner()


def test_the_table_of_probes_in_flight_and_last_results(tmp_path: Path) -> None:
    activity = Activity(collector="http://127.0.0.1:4317", export_interval_s=1.0)
    activity.finished("slow-model", "models",
                      ProbeResult(target="slow-model", kind="models", outcome="http_5xx",
                                  duration_s=0.25))
    with activity.probe(TARGET, "stream", 1.5) as probe:
        probe.run()  # at once: the time a probe waits for its slot adds to its schedule delay
        with prober_serving(activity, tmp_path / "beat") as port, \
                served(config(port, free_ports(1)[0])) as client:
            # wide enough for every column: an 80-column table drops what does not fit
            result = RUNNER.invoke(app, ["activity", "--url", str(client.base_url)],
                                   env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"prober at http://127.0.0.1:{port}/activity: 1 probe in flight" in out
    assert "took no recent export (last: never)" in out
    for cell in ("slow-model", "stream", "http://10.9.8.7:8000", "running", "1.50 s",
                 "models http_5xx 0.25 s"):
        assert cell in out, cell


def test_a_prober_that_is_down_exits_1() -> None:
    closed, collector = free_ports(2)
    with served(config(closed, collector)) as client:
        result = RUNNER.invoke(app, ["activity", "--url", str(client.base_url)])
    assert result.exit_code == 1
    assert f"prober at http://127.0.0.1:{closed}/activity: unreachable (connection refused" \
        in result.output
    assert "probes in flight" not in result.output


def test_no_api_exits_2_saying_how_to_point_at_one() -> None:
    [closed] = free_ports(1)
    result = RUNNER.invoke(app, ["activity", "--url", f"http://127.0.0.1:{closed}"])
    assert result.exit_code == 2
    error = " ".join(result.output.split())
    assert error.startswith(f"error: no API answers at http://127.0.0.1:{closed} (connection "
                            "refused): the activity comes from the aggregator's HTTP API")
    assert "--url" in error and "aggregator.http_host/http_port" in error


def test_a_bad_interval_is_refused_first() -> None:
    result = RUNNER.invoke(app, ["activity", "--watch", "--interval", "0.01s", "--url",
                                 "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "--interval: at least 0.2 s" in result.output
