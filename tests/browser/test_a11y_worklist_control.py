"""WCAG 2.1 AA on the worklist with a diabetes control case (axe-core in Chromium,
laptop and phone): its control reasons and its "Enrol in the next Spanish-language
series" button, before and after the patient is enrolled over HTMX (the row says so
in place of the button), and the list still fits the phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from navigator.models import CoachingSessionStatus
from tests import factories
from tests.browser.test_a11y import axe_core, check  # noqa: F401  (axe_core: autouse)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_worklist_with_a_control_case_and_its_enrol_button_has_no_violations(
    browser, live_server
):
    # Given a Spanish speaker's diabetes case with a missed coaching session, two
    # Spanish series ahead, and a screening case (the laptop's click enrols the patient;
    # the phone's finds them enrolled already and says so: both are drawn in the row)
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    case = factories.CaseFactory(
        navigator=navigator,
        program=factories.program("diabetes"),
        patient__preferred_language="es",
        patient__family_name="Ramírez",
    )
    factories.CoachingSessionFactory(
        case=case,
        status=CoachingSessionStatus.MISSED,
        scheduled_at=timezone.now() - dt.timedelta(days=3),
    )
    for days in (7, 14):
        series = factories.GroupSeriesFactory(program=factories.program("diabetes"))
        factories.GroupSessionFactory(
            series=series, starts_at=timezone.now() + dt.timedelta(days=days)
        )
    factories.CaseFactory(navigator=navigator)

    def enrol(page: Page) -> str:
        page.get_by_role("button", name="Enrol in the next Spanish-language series").click()
        page.get_by_test_id("enrol-result").wait_for()
        return "enrolled over HTMX"

    # Then the list passes before and after the click, on a laptop and a phone
    check(browser, live_server, navigator.user, "/worklist/", then=enrol)
