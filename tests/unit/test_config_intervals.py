"""The probe interval floor (`llmhealth_config.intervals`): one invalid fixture per rule with
its exact message, the boundaries, and the `allow_fast_interval` opt-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from llmhealth_config import Config, ConfigError, Target, load_config
from llmhealth_config.intervals import FAST_MIN_INTERVAL_S, MIN_INTERVAL_S

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"


@pytest.mark.parametrize(("fixture", "message"), [
    pytest.param("invalid-prober-interval.yaml", "invalid-prober-interval.yaml:2: prober.interval: "
                 "must be at least 1 s (got 0.001 s): it applies to every target; to probe one "
                 "target faster, set that target's interval and allow_fast_interval: true",
                 id="prober-interval"),
    pytest.param("invalid-target-interval.yaml", "invalid-target-interval.yaml:5: "
                 "targets[0].interval: must be at least 1 s (got 0.2 s), or at least 0.1 s with "
                 "allow_fast_interval: true on this target", id="target-interval"),
    pytest.param("invalid-fast-interval.yaml", "invalid-fast-interval.yaml:6: targets[0].interval: "
                 "must be at least 0.1 s, even with allow_fast_interval (got 0.05 s)",
                 id="below-the-hard-minimum"),
    pytest.param("invalid-discovery-interval.yaml", "invalid-discovery-interval.yaml:12: "
                 "prober.discovery_interval: must be at least 1 s (got 0.3 s), or at least 0.1 s "
                 "when every discover: true target sets allow_fast_interval: true (not set on "
                 "'local')", id="discovery-interval"),
])
def test_interval_below_the_floor_names_file_line_and_key(fixture: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / fixture)
    assert str(info.value) == f"{FIXTURES}/{message}"


def target(**fields: object) -> dict:
    return {"name": "t", "base_url": "http://127.0.0.1:9/v1", "model": "m", **fields}


def local(name: str, **fields: object) -> dict:
    return {"name": name, "protocol": "ollama", "base_url": "http://127.0.0.1:11434",
            "discover": True, **fields}


def test_the_floor_itself_is_allowed() -> None:
    config = Config.model_validate({"targets": [target(interval=MIN_INTERVAL_S), local("l")],
                                    "prober": {"interval": MIN_INTERVAL_S,
                                               "discovery_interval": MIN_INTERVAL_S}})
    assert config.interval_for(config.targets[0]) == MIN_INTERVAL_S


def test_allow_fast_interval_reaches_the_hard_minimum() -> None:
    fast = Target.model_validate(target(interval=FAST_MIN_INTERVAL_S, allow_fast_interval=True))
    assert fast.interval == FAST_MIN_INTERVAL_S
    with pytest.raises(ValidationError, match="must be at least 1 s"):
        Target.model_validate(target(interval=FAST_MIN_INTERVAL_S))


def test_fast_discovery_needs_every_discover_target_to_opt_in() -> None:
    prober = {"discovery_interval": 0.3}
    config = Config.model_validate({"targets": [local("a", allow_fast_interval=True),
                                                local("b", allow_fast_interval=True)],
                                    "prober": prober})
    assert config.prober.discovery_interval == 0.3
    with pytest.raises(ValidationError, match=r"\(not set on 'b'\)"):
        Config.model_validate({"targets": [local("a", allow_fast_interval=True), local("b")],
                               "prober": prober})


def test_discovered_models_keep_the_opt_in() -> None:
    endpoint = Target.model_validate(local("l", interval=0.2, allow_fast_interval=True))
    found = endpoint.discovered("llama3.2:1b")
    assert (found.interval, found.allow_fast_interval) == (0.2, True)
