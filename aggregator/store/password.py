"""The embedded store's passwords: from the environment, or generated once into the data dir.

User `default` (llmhealth's parts, the operator) takes the password in the environment variable
named by `store.password_env` (LLMHEALTH_STORE_PASSWORD); when it is unset, `llmhealth run`
generates one into `<data_dir>/store.password` (mode 0600) and every later command on the same
data dir reads it from there. User `reader` shares it unless `store.reader_password_env`
names a variable of its own.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from aggregator.store.base import StoreError
from llmhealth_config.model import StoreSettings

PASSWORD_FILE = "store.password"


def password_file(settings: StoreSettings) -> Path:
    return settings.data_dir / PASSWORD_FILE


def _from_env(name: str, environ: Mapping[str, str], setting: str) -> str | None:
    value = environ.get(name)
    if value is not None and not value.strip():
        raise StoreError(f"{name} (named by {setting}) is set but empty: set a password or unset it")
    return value


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & 0o077:
        raise StoreError(f"{path} can be read by other users (mode {mode & 0o777:o}); "
                         f"run `chmod 600 {path}`")
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise StoreError(f"{path} is empty: delete it to have `llmhealth run` generate a new one")
    return value


def _generate(path: Path) -> str:
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value


def default_password(settings: StoreSettings, *, generate: bool,
                     environ: Mapping[str, str] = os.environ) -> str:
    """User default's password: the environment variable, else the data dir's file, else (with
    `generate`) a new random one written there. Raises StoreError saying how to provide one."""
    value = _from_env(settings.password_env, environ, "store.password_env")
    if value is not None:
        return value
    path = password_file(settings)
    try:
        return _read(path)
    except FileNotFoundError:
        if not generate:
            raise StoreError(f"no store password: {settings.password_env} is not set and {path} "
                             f"does not exist; set {settings.password_env} (store.password_env) "
                             "or start `llmhealth run` once, which writes one there") from None
    except OSError as exc:
        raise StoreError(f"cannot read the store password from {path}: {exc.strerror}") from None
    try:
        return _generate(path)
    except FileExistsError:  # another process generated it first
        return _read(path)


def passwords(settings: StoreSettings, *, generate: bool,
              environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Password by user name (default, reader)."""
    default = default_password(settings, generate=generate, environ=environ)
    reader = default
    if settings.reader_password_env:
        reader = _from_env(settings.reader_password_env, environ, "store.reader_password_env")
        if reader is None:
            raise StoreError(f"store.reader_password_env names {settings.reader_password_env}, "
                             "which is not set in the environment")
    return {"default": default, "reader": reader}
