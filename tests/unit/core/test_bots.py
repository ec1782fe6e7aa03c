"""Bot user agents are told apart from browsers and server-side SDKs."""

from __future__ import annotations

import pytest

from headwater.core.bots import is_bot


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "Chrome-Lighthouse",
    ],
)
def test_crawlers_and_headless_browsers_are_bots(agent):
    assert is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        None,
        "",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "analytics-python/2.4.0",
        "python-requests/2.32.3",
        "curl/8.5.0",
    ],
)
def test_browsers_and_sdks_are_not(agent):
    assert not is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "GOOGLEBOT/2.1",
        "MyCRAWLER 1.0",
        "Robot",
        "bot",
        "abbot-x",
        "Mozilla/5.0 HEADLESSchrome",
        "Ŝpider \u212abot/1",  # non-ASCII: the case-blind search, Kelvin sign and all
        "\u017fpider",
        "Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537.36 ünïcode",
    ],
)
def test_lower_cased_ascii_search_agrees_with_the_case_blind_one(agent):
    from headwater.core.bots import _BOT_MARKERS

    assert is_bot(agent) == (_BOT_MARKERS.search(agent) is not None)
