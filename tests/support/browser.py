"""Chromium for the browser tests (Playwright driving Debian's Chromium): where it is,
how it is started, and a page's context."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
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


def begin_the_day_at_ten(request: pytest.FixtureRequest) -> None:
    """Move the clock to 10:00 today in the clinic's zone, ticking, until the test ends.

    A walk that books an appointment hours ahead and then records it stays on one day,
    whatever time CI runs: forms drawn before the clock moves offer today as the latest date.
    """
    morning = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    clock = time_machine.travel(morning, tick=True)
    clock.start()
    request.addfinalizer(clock.stop)


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
