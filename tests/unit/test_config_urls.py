"""`base_url` validation (`llmhealth_config.urls`): one invalid fixture per rule with its exact
message, the variants of each rule, URLs that must stay valid, and no credentials echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmhealth_config import ConfigError, load_config
from llmhealth_config.urls import check_base_url

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"
URL_KEY = "targets[0].base_url"


@pytest.mark.parametrize(("fixture", "message"), [
    pytest.param("invalid-url-port.yaml", "invalid port '99999': use a number from 1 to 65535, "
                 "e.g. http://localhost:8000/v1", id="port"),
    pytest.param("invalid-url-credentials.yaml", "must not contain a user name or password: put the "
                 "API key in the environment variable named by api_key_env (e.g. api_key_env: "
                 "OPENAI_API_KEY) and give base_url without it, e.g. https://api.openai.com/v1",
                 id="credentials"),
    pytest.param("invalid-url-ipv6-bracket.yaml", "unbalanced '[' in the host: write an IPv6 "
                 "address in brackets, e.g. http://[::1]:8000/v1", id="unbalanced-bracket"),
    pytest.param("invalid-url-ipv6.yaml", "invalid IPv6 address '[::zz]': e.g. "
                 "http://[::1]:8000/v1", id="ipv6-literal"),
    pytest.param("invalid-url-after-bracket.yaml", "unexpected '8000' after ']': only ':' and a "
                 "port may follow an IPv6 address, e.g. http://[::1]:8000/v1", id="after-bracket"),
    pytest.param("invalid-url-no-host.yaml", "has no host name, e.g. https://api.openai.com/v1",
                 id="no-host"),
    pytest.param("invalid-url-host.yaml", "invalid host 'my host': a host name has only letters, "
                 "digits, '.', '-' and '_', e.g. https://api.openai.com/v1", id="host-characters"),
    pytest.param("invalid-url-idna.yaml", "is not a URL that the prober can request (Invalid "
                 "A-label), e.g. https://api.openai.com/v1", id="refused-by-httpx"),
])
def test_invalid_base_url_names_file_line_and_key(fixture: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / fixture)
    assert str(info.value) == f"{FIXTURES}/{fixture}:3: {URL_KEY}: {message}"


@pytest.mark.parametrize(("url", "start"), [
    pytest.param("http://h:abc/v1", "invalid port 'abc'", id="port-not-a-number"),
    pytest.param("http://h:0/v1", "invalid port '0'", id="port-zero"),
    pytest.param("http://h:+80/v1", "invalid port '+80'", id="port-sign"),
    pytest.param("http://h:80:81/v1", "invalid port '80:81'", id="port-twice"),
    pytest.param("http://h]/v1", "unbalanced ']' in the host", id="closing-bracket"),
    pytest.param("http://[1.2.3.4]/v1", "invalid IPv6 address '[1.2.3.4]'", id="ipv4-in-brackets"),
    pytest.param("http:///v1", "has no host name", id="empty-authority"),
    pytest.param("http://h\tx/v1", "invalid host 'h\\tx'", id="tab-in-host"),
    pytest.param("http://h<x>/v1", "invalid host 'h<x>'", id="angle-brackets-in-host"),
    pytest.param("http://user@host/v1", "must not contain a user name or password", id="user-only"),
    pytest.param("http://256.1.1.1/v1", "is not a URL that the prober can request (Invalid IPv4 "
                 "address: '256.1.1.1')", id="ipv4-octet"),
    pytest.param("http://h/v1\n", "is not a URL that the prober can request (Invalid non-printable "
                 "ASCII character in URL", id="line-break-in-path"),
    pytest.param("HTTP://h/v1", "must be an http:// or https:// URL", id="upper-case-scheme"),
])
def test_each_rule_covers_its_variants(url: str, start: str) -> None:
    with pytest.raises(ValueError) as info:
        check_base_url(url)
    assert str(info.value).startswith(start)


@pytest.mark.parametrize(("url", "kept"), [
    pytest.param("https://api.openai.com/v1/", "https://api.openai.com/v1", id="trailing-slash"),
    pytest.param("http://[::1]:11434", "http://[::1]:11434", id="ipv6"),
    pytest.param("http://[fe80::1%25eth0]:8000/v1", "http://[fe80::1%25eth0]:8000/v1", id="ipv6-zone"),
    pytest.param("http://litellm_proxy:4000", "http://litellm_proxy:4000", id="compose-service-name"),
    pytest.param("http://h:/v1", "http://h:/v1", id="empty-port-is-the-default"),
    pytest.param("http://127.0.0.1:65535/health", "http://127.0.0.1:65535/health", id="highest-port"),
    pytest.param("https://bücher.example/v1", "https://bücher.example/v1", id="idn"),
])
def test_valid_urls_are_kept(url: str, kept: str) -> None:
    assert check_base_url(url) == kept


@pytest.mark.parametrize("url", [
    pytest.param("https://alice:sk-live-hunter2@api.openai.com/v1", id="user-and-password"),
    pytest.param("https://sk-live-hunter2@api.openai.com/v1", id="key-as-user"),
    pytest.param("https://alice:sk-live-hunter2@[::1/v1", id="with-another-problem"),
])
def test_credentials_never_echoed(url: str) -> None:
    with pytest.raises(ValueError) as info:
        check_base_url(url)
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value)
    assert "api_key_env" in str(info.value)


def test_credentials_in_file_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / "invalid-url-credentials.yaml")
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value)
