"""Bot traffic, told by its user agent. Bot events are kept and flagged, never dropped:
what counts as a bot is a judgement, and a dropped event cannot be re-judged."""

from __future__ import annotations

import re

__all__ = ["BOT_TAG", "is_bot"]

BOT_TAG = "bot"

# Crawlers, link previewers, uptime checkers and headless browsers name themselves.
# Plain HTTP libraries (python-requests, curl) are not here: server-side SDKs use them.
_BOT_MARKERS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrap|headless|phantomjs|lighthouse|pingdom|"
    r"uptimerobot|facebookexternalhit|embedly|archiver|mediapartners|bingpreview",
    re.IGNORECASE,
)


def is_bot(user_agent: str | None) -> bool:
    """Whether ``user_agent`` names a crawler, previewer or headless browser."""
    return bool(user_agent) and _BOT_MARKERS.search(user_agent or "") is not None
