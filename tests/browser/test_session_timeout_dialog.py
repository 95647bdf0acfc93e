"""The session-timeout warning in a real browser: shortly before the idle limit the
dialog opens (its script is a static file, allowed by the CSP), "Stay signed in" keeps
the session, and a page left alone past the limit lands on the sign-in page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.support.browser import signed_in_context

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def short_limits(settings):
    # The warning opens 3 s after the page loads; the idle limit is 10 s.
    settings.EQUINAV_SESSION_IDLE_SECONDS = 10
    settings.EQUINAV_SESSION_WARNING_SECONDS = 7
    settings.EQUINAV_SESSION_MAX_SECONDS = 43_200


def test_the_dialog_warns_and_stay_signed_in_keeps_the_session(browser, live_server, short_limits):
    user = factories.UserFactory()
    context = signed_in_context(browser, live_server.url, user)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + "/accounts/api-tokens/")

    dialog = page.get_by_role("alertdialog", name="Still there?")
    expect(dialog).to_be_visible(timeout=8_000)
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_focused()
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()

    # Still signed in, past the moment the first idle spell would have ended
    page.wait_for_timeout(4_000)
    expect(page).to_have_url(re.compile(r"/accounts/api-tokens/$"))
    assert not [e for e in errors if "Content Security Policy" in e]
    context.close()


def test_a_page_left_alone_ends_on_the_sign_in_page(browser, live_server, short_limits):
    user = factories.UserFactory()
    context = signed_in_context(browser, live_server.url, user)
    page = context.new_page()
    page.goto(live_server.url + "/accounts/api-tokens/")

    expect(page).to_have_url(re.compile(r"/accounts/login/"), timeout=15_000)
    expect(page.get_by_text("without activity")).to_be_visible()
    context.close()
