"""`store.url` and `collector.endpoint`: which store and collector the parts use, every bad
value refused at load time with a message that names the setting and never shows a password;
and the commands of the parts refusing a store they cannot use, in one line, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.ports import free_ports
from llmhealth_config import ConfigError, load_config
from llmhealth_config.store_url import StoreUrl, parse_store_url
from tests.unit.test_cli_config_errors import run_cli


@pytest.mark.parametrize(("url", "parsed"), [
    ("http://clickhouse:8123/", StoreUrl("http", "clickhouse", 8123, "default")),
    ("http://llmhealth@10.0.0.5", StoreUrl("http", "10.0.0.5", 8123, "llmhealth")),
    ("https://reader@ch.example.com/", StoreUrl("https", "ch.example.com", 8443, "reader")),
    ("clickhouse://default@[::1]:9440/", StoreUrl("clickhouse", "::1", 9440, "default")),
    ("HTTP://a%40b@h:1/", StoreUrl("http", "h", 1, "a@b")),
])
def test_store_urls(url: str, parsed: StoreUrl) -> None:
    assert parse_store_url(url) == parsed


def test_endpoint_and_safe_forms() -> None:
    url = parse_store_url("clickhouse://default@[::1]:9440/")
    assert (url.endpoint, url.safe) == ("clickhouse://[::1]:9440/", "clickhouse://default@[::1]:9440/")


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://h/", "has scheme 'ftp': use http://, https://"),
    ("clickhouse-server:9000", "has no scheme"),
    ("http://u:hunter2@h:8123/", "must not contain a password"),
    ("http://:8123/", "has no host name"),
    ("http://h:8123/llmhealth", "must end after the port"),
    ("http://h:8123/?user=x", "must end after the port"),
    ("http://h:99999/", "is not a valid URL"),
])
def test_bad_store_urls(url: str, message: str, tmp_path: Path) -> None:
    config = tmp_path / "llmhealth.yaml"
    config.write_text(f"store:\n  url: '{url}'\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    text = str(raised.value)
    assert "llmhealth.yaml:2: store.url" in text and message in text, text
    assert "hunter2" not in text


def test_the_replaced_store_keys_say_what_replaced_them(tmp_path: Path) -> None:
    config = tmp_path / "llmhealth.yaml"
    config.write_text("store:\n  mode: server\n  server: {host: ch}\n")
    with pytest.raises(ConfigError, match="store.mode and store.server were replaced by store.url"):
        load_config(config)


@pytest.mark.parametrize(("endpoint", "ok"), [
    ("http://otel-collector:4317", True), ("https://collector.example.com", True),
    ("otel-collector:4317", False), ("grpc://c:4317", False), ("http://u@c:4317", False),
    ("http://c:99999", False)])
def test_collector_endpoint(endpoint: str, ok: bool) -> None:
    if ok:
        assert load_config(None, {"collector": {"endpoint": endpoint}}).collector.export_endpoint == endpoint
    else:
        with pytest.raises(ConfigError, match="collector.endpoint"):
            load_config(None, {"collector": {"endpoint": endpoint}})


def test_the_default_collector_is_this_machines() -> None:
    config = load_config(None, {"collector": {"grpc_port": 5317}})
    assert config.collector.export_endpoint == "http://127.0.0.1:5317"
    assert config.store.endpoint_url == "http://default@127.0.0.1:8123/"


@pytest.mark.parametrize(("args", "message"), [
    (["aggregator", "--store-url", "http://default@127.0.0.1:{port}/"],
     "store http://default@127.0.0.1:{port}/ (store.url) is unreachable"),
    (["aggregator", "--store-url", "clickhouse://default@127.0.0.1:{port}/"],
     "store clickhouse://default@127.0.0.1:{port}/ (store.url) is unreachable"),
    (["migrate", "--store-url", "http://default@127.0.0.1:{port}/"],
     "store http://default@127.0.0.1:{port}/ (store.url) is unreachable"),
    (["aggregator", "--store-url", "ftp://h/"], "command-line flag: store.url: has scheme 'ftp'"),
    (["collector", "--store-url", "clickhouse://default@h:9000/"],
     "the collector writes over ClickHouse's HTTP interface"),
    (["run", "--config", "{config}"], "llmhealth run always uses the embedded store"),
])
def test_a_part_refuses_a_store_it_cannot_use(args: list[str], message: str,
                                              tmp_path: Path) -> None:
    (port,) = free_ports(1)  # nothing listens there
    config = tmp_path / "llmhealth.yaml"
    config.write_text("store:\n  url: http://default@127.0.0.1:1/\n")
    argv = [a.format(port=port, config=config) for a in args]
    code, stderr = run_cli(*argv, env={"LLMHEALTH_STORE_PASSWORD": "hunter2"}, cwd=tmp_path)
    assert code == 2, stderr
    (line,) = stderr.splitlines()
    assert line.startswith("error: ") and message.format(port=port) in line, line
    assert "hunter2" not in stderr


def test_check_says_why_in_one_line_and_exits_1(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    code, stderr = run_cli("check", "--component", "store", "--store-url",
                           f"http://default@127.0.0.1:{port}/", env={}, cwd=tmp_path)
    assert code == 1
    (line,) = stderr.splitlines()
    assert line.startswith("store: store http://default@") and "is unreachable" in line
