"""JSON builders for the Ollama API the simulator speaks.

Shapes follow https://github.com/ollama/ollama/blob/main/docs/api.md: list local models
(`/api/tags`), list running models (`/api/ps`), chat (`/api/chat`, one object or NDJSON
lines), unloading through `/api/generate` with `keep_alive: 0`, version, and the error object
`{"error": "..."}`. Durations are integer nanoseconds, timestamps RFC 3339.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from simulator.openai_shapes import Reply

VERSION = "0.5.7"
KEEP_ALIVE_S = 300.0
"""How long Ollama keeps an idle model loaded by default (`expires_at` in `/api/ps`)."""

DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "1.2B",
    "quantization_level": "Q4_K_M",
}


@dataclass(frozen=True)
class Timings:
    """The durations a finished chat reports, in seconds (rendered in nanoseconds)."""

    load: float
    prompt_eval: float
    eval: float

    def fields(self, reply: Reply) -> dict[str, int]:
        """`total_duration` … `eval_duration` with the token counts of `reply`."""
        return {
            "total_duration": _ns(self.load + self.prompt_eval + self.eval),
            "load_duration": _ns(self.load),
            "prompt_eval_count": reply.prompt_tokens,
            "prompt_eval_duration": _ns(self.prompt_eval),
            "eval_count": len(reply.words),
            "eval_duration": _ns(self.eval),
        }


def tagged(name: str) -> str:
    """`name` as Ollama lists it: with an explicit tag (`llama3.2` is `llama3.2:latest`)."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def timestamp(seconds: float | None = None) -> str:
    """RFC 3339 in UTC with a `Z`, as Ollama's `created_at`, `modified_at`, `expires_at`."""
    moment = datetime.fromtimestamp(seconds, UTC) if seconds is not None else datetime.now(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def tags(names: list[str], created: int) -> dict:
    """`/api/tags`: every installed model."""
    return {"models": [{**_model(name), "modified_at": timestamp(created)} for name in names]}


def running(resident: dict[str, float]) -> dict:
    """`/api/ps`: each loaded model, entirely in VRAM, expiring `KEEP_ALIVE_S` after its
    last use (`resident` maps names to wall-clock times of last use)."""
    models = []
    for name, last_used in resident.items():
        model = _model(name)
        models.append({
            **model,
            "expires_at": timestamp(last_used + KEEP_ALIVE_S),
            "size_vram": model["size"],
            "context_length": 4096,
        })
    return {"models": models}


def chat_line(model: str, content: str) -> dict:
    """One streamed chat line carrying a piece of the answer."""
    return {
        "model": model,
        "created_at": timestamp(),
        "message": {"role": "assistant", "content": content},
        "done": False,
    }


def chat_done(model: str, reply: Reply, timings: Timings, *, content: str = "") -> dict:
    """A finished chat: the last line of a stream (`content` empty) or the whole non-stream
    answer (`content` the reply)."""
    return {
        **chat_line(model, content),
        "done": True,
        "done_reason": reply.finish_reason,
        **timings.fields(reply),
    }


def chat_without_message(model: str) -> dict:
    """A finished chat with no message at all (the `empty` fault)."""
    return {"model": model, "created_at": timestamp(), "done": True, "done_reason": "stop"}


def unloaded(model: str) -> dict:
    """`/api/generate` with `keep_alive: 0`: the model left memory."""
    return {
        "model": model,
        "created_at": timestamp(),
        "response": "",
        "done": True,
        "done_reason": "unload",
    }


def error(message: str) -> dict:
    """Ollama's error object."""
    return {"error": message}


def ndjson(payload: dict) -> bytes:
    """One NDJSON line."""
    return json.dumps(payload, separators=(",", ":")).encode() + b"\n"


def _model(name: str) -> dict:
    """Name, size, digest and details of a model, stable per name."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    return {
        "name": tagged(name),
        "model": tagged(name),
        "size": 700_000_000 + int(digest[:6], 16),
        "digest": digest,
        "details": DETAILS,
    }


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)
