"""WCAG 2.1 AA (axe-core) on the sign-in pages: the API tokens page, two-factor
enrolment and its code page, and the session-timeout warning dialog open."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_a11y import axe_core, check  # noqa: F401  (axe_core: autouse)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_api_tokens_page_and_the_timeout_warning_have_no_violations(
    browser, live_server, settings
):
    settings.EQUINAV_SESSION_IDLE_SECONDS = 60
    settings.EQUINAV_SESSION_WARNING_SECONDS = 58
    user = factories.UserFactory()
    AuthToken.objects.create(user=user)

    def warned(page: Page) -> str:
        expect(page.get_by_role("alertdialog", name="Still there?")).to_be_visible(timeout=8_000)
        return "timeout warning open"

    check(browser, live_server, user, "/accounts/api-tokens/", then=warned)


def test_the_two_factor_pages_have_no_violations(browser, live_server, settings):
    settings.EQUINAV_REQUIRE_TOTP_FOR_PRIVILEGED = True
    check(browser, live_server, factories.ManagerFactory(), "/accounts/two-factor/enrol/")

    manager = factories.ManagerFactory()
    TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    check(browser, live_server, manager, "/accounts/two-factor/verify/")
