"""Chromium for the browser tests (Playwright driving Debian's Chromium): where it is,
how it is started, and a page's context."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext

CHROMIUM = "/usr/bin/chromium"
# No sandbox (containers), no GPU, and nothing the browser would fetch on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LAPTOP = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000


def new_context(browser: Browser, viewport: dict[str, int] = LAPTOP) -> BrowserContext:
    """A fresh browser session (its own cookies) at `viewport`, in US English."""
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    return context


def signed_in_context(
    browser: Browser, live_server_url: str, user, viewport: dict[str, int] = LAPTOP
) -> BrowserContext:
    """A fresh browser session at `viewport`, signed in as `user` through the session
    cookie Django's test client makes (no login form on every test)."""
    client = Client()
    client.force_login(user)
    context = new_context(browser, viewport)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server_url,
            }
        ]
    )
    return context
