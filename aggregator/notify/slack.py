"""The `slack` receiver's body for an incoming webhook: `text` (the notification and fallback
text) and Block Kit `blocks`, a header and one section per notification."""

from __future__ import annotations

from aggregator.notify.alerts import Notification
from aggregator.notify.compose import Message
from aggregator.notify.text import headline, line

MAX_SECTIONS = 45
"""Slack takes at most 50 blocks a message; more notifications are counted in the last one."""
SECTION_MAX = 2900
"""A section's text may hold 3,000 characters."""
EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":white_circle:"}


def _emoji(n: Notification) -> str:
    if n.action == "resolve":
        return ":large_green_circle:"
    if n.action == "reminder":
        return ":bell:"
    return EMOJI[n.alert.severity]


def _section(text: str) -> dict:
    if len(text) > SECTION_MAX:
        text = text[:SECTION_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(message: Message) -> dict:
    notes = message.notifications
    title = headline(notes)
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text",
                                                      "text": title[:150], "emoji": True}}]
    blocks += [_section(f"{_emoji(n)} {_escape(line(n))}") for n in notes[:MAX_SECTIONS]]
    if len(notes) > MAX_SECTIONS:
        blocks.append(_section(f"… and {len(notes) - MAX_SECTIONS} more (see health_notifications)"))
    text = "\n".join([title] + [line(n) for n in notes[:MAX_SECTIONS]])
    return {"text": _escape(text[:3900]), "blocks": blocks}
