"""Who gets through the embedded store's door (access.py) and where its passwords come from
(password.py)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from aggregator.store.access import (
    ACCESS_DENIED,
    AUTHENTICATION_FAILED,
    Access,
    Denied,
    exposure_warning,
)
from aggregator.store.base import StoreError
from aggregator.store.password import PASSWORD_FILE, passwords
from llmhealth_config.model import StoreSettings

PASSWORDS = {"default": "d-secret", "reader": "r-secret"}


def _access(**settings: object) -> Access:
    return Access.for_settings(StoreSettings(**settings), PASSWORDS)


@pytest.mark.parametrize(("bind", "host", "admitted"), [
    pytest.param("127.0.0.1", "127.0.0.1:8123", True, id="bound-address"),
    pytest.param("127.0.0.1", "localhost:8123", True, id="localhost"),
    pytest.param("127.0.0.1", "[::1]:8123", True, id="ipv6-loopback"),
    pytest.param("127.0.0.1", "evil.example:8123", False, id="rebinding"),
    pytest.param("127.0.0.1", "10.0.0.5:8123", False, id="other-ip"),
    pytest.param("0.0.0.0", "10.0.0.5:8123", True, id="wildcard-any-ip"),
    pytest.param("0.0.0.0", "evil.example", False, id="wildcard-foreign-name"),
])
def test_host_header(bind: str, host: str, admitted: bool) -> None:
    access = _access(http_host=bind)
    if admitted:
        access.admit({"host": host})
    else:
        with pytest.raises(Denied, match="not this store's address"):
            access.admit({"host": host})


def test_allowed_hosts_extend_the_names() -> None:
    _access(http_allowed_hosts=["store.internal"]).admit({"host": "store.internal:8123"})


@pytest.mark.parametrize("header", ["origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest"])
def test_browsers_are_refused(header: str) -> None:
    with pytest.raises(Denied, match="web browsers") as info:
        _access().admit({"host": "127.0.0.1:8123", header: "x"})
    assert info.value.code == ACCESS_DENIED


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(("headers", "query", "user"), [
    pytest.param(_basic("reader", "r-secret"), {}, "reader", id="basic"),
    pytest.param({"x-clickhouse-user": "reader", "x-clickhouse-key": "r-secret"}, {}, "reader",
                 id="headers"),
    pytest.param({"x-clickhouse-key": "d-secret"}, {}, "default", id="key-only-is-default"),
    pytest.param({}, {"user": "reader", "password": "r-secret"}, "reader", id="url"),
    pytest.param({}, {"password": "d-secret"}, "default", id="url-password-only"),
])
def test_authenticates(headers: dict, query: dict, user: str) -> None:
    assert _access().authenticate(headers, query) == user
    assert "password" not in query and "user" not in query


@pytest.mark.parametrize(("headers", "query"), [
    pytest.param({}, {}, id="nothing"),
    pytest.param(_basic("default", "r-secret"), {}, id="other-users-password"),
    pytest.param(_basic("root", "d-secret"), {}, id="unknown-user"),
    pytest.param({"authorization": "Bearer d-secret"}, {}, id="not-basic"),
    pytest.param({"authorization": "Basic !!!"}, {}, id="malformed"),
])
def test_authentication_fails(headers: dict, query: dict) -> None:
    with pytest.raises(Denied) as info:
        _access().authenticate(headers, query)
    assert info.value.code == AUTHENTICATION_FAILED
    assert "secret" not in str(info.value)


def test_exposure() -> None:
    assert exposure_warning(StoreSettings(http_host="127.0.0.1"), {}) is None
    with pytest.raises(StoreError, match="set a password in LLMHEALTH_STORE_PASSWORD"):
        exposure_warning(StoreSettings(http_host="0.0.0.0"), {})
    warning = exposure_warning(StoreSettings(http_host="0.0.0.0"), {"LLMHEALTH_STORE_PASSWORD": "p"})
    assert warning is not None and "not encrypted" in warning


def test_password_from_environment(tmp_path: Path) -> None:
    settings = StoreSettings(data_dir=tmp_path)
    env = {"LLMHEALTH_STORE_PASSWORD": "from-env"}
    assert passwords(settings, generate=True, environ=env) == {"default": "from-env", "reader": "from-env"}
    assert not (tmp_path / PASSWORD_FILE).exists()


def test_password_generated_once_0600(tmp_path: Path) -> None:
    settings = StoreSettings(data_dir=tmp_path)
    with pytest.raises(StoreError, match="start `llmhealth run` once"):
        passwords(settings, generate=False, environ={})
    first = passwords(settings, generate=True, environ={})["default"]
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / PASSWORD_FILE).st_mode) == 0o600
    assert passwords(settings, generate=False, environ={})["default"] == first


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    (tmp_path / PASSWORD_FILE).write_text("p\n")
    os.chmod(tmp_path / PASSWORD_FILE, 0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        passwords(StoreSettings(data_dir=tmp_path), generate=False, environ={})


def test_reader_password_of_its_own(tmp_path: Path) -> None:
    settings = StoreSettings(data_dir=tmp_path, reader_password_env="READER_PW")
    env = {"LLMHEALTH_STORE_PASSWORD": "a", "READER_PW": "b"}
    assert passwords(settings, generate=False, environ=env) == {"default": "a", "reader": "b"}
    with pytest.raises(StoreError, match="READER_PW, which is not set"):
        passwords(settings, generate=False, environ={"LLMHEALTH_STORE_PASSWORD": "a"})
    with pytest.raises(StoreError, match="set but empty"):
        passwords(settings, generate=False, environ={"LLMHEALTH_STORE_PASSWORD": " "})
