"""Server-sent event streams for stream requests: the success path and in-stream faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from simulator.faults import INVALID_JSON
from simulator.openai_shapes import Reply, chunk, sse, usage_chunk
from simulator.waiting import ConnectionCut, Waiter

# Content chunks a `stream_cut` stream delivers before the connection drops.
CUT_AFTER_CHUNKS = 2


@dataclass(frozen=True)
class StreamPlan:
    """Inputs of one stream: the reply, its timing and whether to append usage."""

    reply: Reply
    ttft: float
    gap: float
    include_usage: bool
    waiter: Waiter

    def role_chunk(self) -> bytes:
        """First event: the assistant role with empty content."""
        return sse(
            chunk(self.reply, {"role": "assistant", "content": ""}, None, self.include_usage)
        )

    def content_chunk(self, delta: str) -> bytes:
        """One token of content."""
        return sse(chunk(self.reply, {"content": delta}, None, self.include_usage))

    async def contents(self, limit: int | None = None) -> AsyncIterator[bytes]:
        """Content chunks (at most `limit`), 1/tokens_per_second apart."""
        for index, delta in enumerate(self.reply.deltas()[:limit]):
            if index:
                await self.waiter.pause(self.gap)
            yield self.content_chunk(delta)


async def success_events(plan: StreamPlan) -> AsyncIterator[bytes]:
    """After the TTFT: role chunk, content chunks, a finish_reason chunk, an optional usage
    chunk (empty choices), then `[DONE]`."""
    await plan.waiter.pause(plan.ttft)
    yield plan.role_chunk()
    async for event in plan.contents():
        yield event
    reply = plan.reply
    yield sse(chunk(reply, {}, reply.finish_reason, plan.include_usage))
    if plan.include_usage:
        yield sse(usage_chunk(reply))
    yield sse("[DONE]")


async def cut_events(plan: StreamPlan) -> AsyncIterator[bytes]:
    """A stream that starts normally and then loses its connection: no finish_reason and
    no `[DONE]`."""
    await plan.waiter.pause(plan.ttft)
    yield plan.role_chunk()
    async for event in plan.contents(CUT_AFTER_CHUNKS):
        yield event
    raise ConnectionCut("stream cut")


async def invalid_json_events(plan: StreamPlan) -> AsyncIterator[bytes]:
    """A stream whose only data event does not parse, followed by `[DONE]`."""
    await plan.waiter.pause(plan.ttft)
    yield sse(INVALID_JSON)
    yield sse("[DONE]")


async def empty_events(plan: StreamPlan) -> AsyncIterator[bytes]:
    """A stream with no chunks at all: just `[DONE]`."""
    await plan.waiter.pause(plan.ttft)
    yield sse("[DONE]")


# Stream body per fault kind (None = no fault); HTTP faults never reach a stream body.
STREAMS: dict[str | None, Callable[[StreamPlan], AsyncIterator[bytes]]] = {
    None: success_events,
    "stream_cut": cut_events,
    "invalid_json": invalid_json_events,
    "empty": empty_events,
}
