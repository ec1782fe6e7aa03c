"""Tracked links: only web addresses, and what the click event carries."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headwater.core.redirects import Redirect


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "/relative/path", "ftp://files.example/x", "https://"]
)
def test_only_absolute_web_addresses_are_redirect_targets(url):
    with pytest.raises(ValidationError):
        Redirect(id="r", url=url, source_id="s")


def test_click_carries_query_then_configured_properties_then_the_link():
    link = Redirect(
        id="r-1",
        url="https://shop.example/",
        source_id="s",
        properties={"campaign": "spring", "utm_source": "configured"},
    )

    properties = link.click_properties({"utm_source": "mail", "redirect": "spoofed"})

    assert properties == {
        "utm_source": "configured",
        "campaign": "spring",
        "redirect": {"id": "r-1", "url": "https://shop.example/"},
    }
    assert link.event_type == "redirect"
