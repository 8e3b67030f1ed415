"""Value types shared by the configuration schema: durations, URLs, secret references."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from llmhealth_config.urls import check_base_url

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> object:
    """Turn `10`, `10.5`, `"250ms"`, `"5m"` into seconds; leave other types to pydantic."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"invalid duration {value!r}: use a number of seconds or e.g. 500ms, 10s, 5m, 1h")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


def parse_auto_duration(value: object) -> object:
    """`"auto"` as it is; anything else as `parse_duration`."""
    if isinstance(value, str) and value.strip() == "auto":
        return "auto"
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{exc}, or auto") from None


def _positive_or_auto(value: float | str) -> float | str:
    if value != "auto" and value <= 0:
        raise ValueError("must be greater than 0, or auto")
    return value


def _env_name(value: str) -> str:
    # Never echo the value: a pasted API key would end up in the error text.
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise ValueError("must be the NAME of an environment variable that holds the secret "
                         "(e.g. OPENAI_API_KEY), not the secret itself")
    return value


_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _listen_host(value: str) -> str:
    """An IP address or a host name to listen on (not a URL, no port, no brackets)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOST_NAME.match(value):
            raise ValueError("must be an IP address or a host name to listen on, e.g. 127.0.0.1 "
                             "(this machine only), 0.0.0.0 (every IPv4 interface) or :: "
                             "(every interface)") from None
    return value


Url = Annotated[str, AfterValidator(check_base_url)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Seconds = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
AutoSeconds = Annotated[Literal["auto"] | float, BeforeValidator(parse_auto_duration),
                        AfterValidator(_positive_or_auto)]
"""A duration, or `auto`: a value the prober derives at run time (prober.bounds)."""
Port = Annotated[int, Field(ge=1, le=65535)]
ListenHost = Annotated[str, AfterValidator(_listen_host)]
Ratio = Annotated[float, Field(ge=0, le=1)]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
