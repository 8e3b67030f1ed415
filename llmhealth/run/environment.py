"""The environment of each child of `llmhealth run`: an allowlist, never the supervisor's own.

The supervisor's environment holds provider API keys and `LLMHEALTH_…` settings. A child gets
the variables every process needs to run (`common`) plus what that child needs and is given
explicitly: the prober the key variables its targets name and what its HTTP and OTLP clients
honour (`prober`), rotel its `ROTEL_…` settings (llmhealth/run/rotel.py), the simulator
nothing more. With no `LLMHEALTH_…` variable in its environment, the prober uses exactly the
configuration the supervisor dumped for it (a key variable a target names is the exception,
and one named like a setting would be read as that setting by the supervisor too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from llmhealth_config.target import Target

COMMON = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
    # What a Python child needs to find the same interpreter setup and packages.
    "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "LD_LIBRARY_PATH",
})
COMMON_PREFIXES = ("LC_",)
PROBER = frozenset({
    # The proxy settings httpx honours for the probes (certificates come from certifi).
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
})
PROBER_PREFIXES = ("OTEL_",)


def _pick(environ: Mapping[str, str], names: Iterable[str],
          prefixes: tuple[str, ...]) -> dict[str, str]:
    wanted = set(names)
    return {name: value for name, value in environ.items()
            if name in wanted or name.startswith(prefixes)}


def common(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` that every child gets."""
    return _pick(environ, COMMON, COMMON_PREFIXES)


def prober(environ: Mapping[str, str], targets: Iterable[Target]) -> dict[str, str]:
    """What the prober gets on top of `common`: proxy settings, `OTEL_…`, and the variables
    named by the targets' `api_key_env` (those set in `environ`)."""
    keys = {target.api_key_env for target in targets if target.api_key_env}
    return _pick(environ, PROBER | keys, PROBER_PREFIXES)
