"""WCAG 2.1 AA on the group class pages (axe-core in Chromium, laptop and phone): the
series list, a new series refused, a series page with its roster and forms, a
session's attendance (with a mark saved over HTMX) and the printable roster."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from navigator.services.group_classes import group_attendance_record
from tests import factories
from tests.browser.test_a11y import axe_core, check  # noqa: F401  (axe_core: autouse)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_group_class_pages_have_no_accessibility_violations(browser, live_server):
    # Given a series with a session under way and one ahead, and two patients on it
    manager = factories.ManagerFactory()
    navigator = factories.NavigatorFactory()
    series = factories.GroupSeriesFactory(name="Vivir bien", facilitator=navigator.user)
    begun = factories.GroupSessionFactory(
        series=series, number=1, starts_at=timezone.now() - dt.timedelta(minutes=30)
    )
    factories.GroupSessionFactory(series=series, number=2)
    first, _ = (
        factories.GroupEnrolmentFactory(series=series, case__navigator=navigator) for _ in range(2)
    )
    group_attendance_record(session=begun, enrolment=first, status="excused", actor=manager)
    factories.CaseFactory(navigator=navigator)

    def mark(page: Page) -> str:
        row = page.get_by_test_id("attendance-row").last
        row.get_by_label("Attended").check()
        row.get_by_role("button", name="Save").click()
        row.get_by_text("saved").wait_for()
        return "a mark saved"

    def refuse(page: Page) -> str:
        page.get_by_role("button", name="Set up the series").click()
        page.get_by_role("alert").first.wait_for()
        return "refused"

    # Then each page passes, as the navigator who facilitates and as the manager
    check(browser, live_server, navigator.user, "/groups/")
    check(browser, live_server, navigator.user, f"/groups/{series.pk}/")
    check(browser, live_server, manager, f"/groups/{series.pk}/")
    check(browser, live_server, manager, "/groups/new/", then=refuse)
    check(
        browser, live_server, navigator.user, f"/groups/sessions/{begun.pk}/attendance/", then=mark
    )
    check(browser, live_server, manager, f"/groups/{series.pk}/roster/print/")
