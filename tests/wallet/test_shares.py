"""Pure parts of share links (``wallet/shares.py``): the coarse user agent kept in the access log,
link-preview crawlers, a link's state, its token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from wallet.share_tables import Share
from wallet.shares import coarse_agent, new_token, preview_bot, share_url, state_of

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AGENTS = [
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        "Chrome on Android",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox on Windows",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari on iOS",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Edge on Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Safari/605.1.15",
        "Safari on macOS",
    ),
    ("curl/8.5.0", "curl"),
    ("python-httpx/0.28.1", "Python httpx"),
    (
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "LinkedIn preview",
    ),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Slack preview"),
    ("Mozilla/5.0 (compatible; SomeCrawler/2.1; +http://crawler.example)", "Bot"),
    ("a-private-tool/1.0 build 7f3a9c", "Other"),
    ("", "Unknown"),
    (None, "Unknown"),
]


@pytest.mark.parametrize(("header", "family"), AGENTS)
def test_coarse_agent_keeps_a_family_only(header: str | None, family: str) -> None:
    assert coarse_agent(header) == family
    assert len(coarse_agent(header)) <= 64


def test_preview_bots() -> None:
    assert preview_bot("facebookexternalhit/1.1") == "Facebook preview"
    assert preview_bot("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0") is None
    assert preview_bot(None) is None


def _share(**values: object) -> Share:
    return Share(learner_id="l", token_hash="0" * 64, **values)


def test_state_of_a_link() -> None:
    assert state_of(_share(), NOW) == "active"
    assert state_of(_share(expires_at=NOW + timedelta(seconds=1)), NOW) == "active"
    assert state_of(_share(expires_at=NOW), NOW) == "expired"
    # SQLite hands back naive datetimes: they are UTC
    assert state_of(_share(expires_at=(NOW - timedelta(days=1)).replace(tzinfo=None)), NOW) == (
        "expired"
    )
    assert state_of(_share(max_views=2, views=1), NOW) == "active"
    assert state_of(_share(max_views=2, views=2), NOW) == "used_up"
    assert state_of(_share(revoked_at=NOW, max_views=2, views=2), NOW) == "revoked"


def test_token_is_256_random_bits_url_safe() -> None:
    context = SimpleNamespace(random=lambda n: bytes(range(n)), public_url="https://w.example/")
    token = new_token(context)  # type: ignore[arg-type]
    assert len(token) == 43 and token.isascii() and "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert share_url(context, token) == f"https://w.example/s/{token}"  # type: ignore[arg-type]
