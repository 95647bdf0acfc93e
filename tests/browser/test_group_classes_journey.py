"""Group classes in a real browser (issue 16 part 4): a manager sets up a series with
two sessions, a navigator enrols a patient of their caseload, the facilitator takes
attendance once the first session has begun (the mark saved over HTMX, the page not
reloaded), and the roster prints without the site's header."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from navigator.models import GroupAttendance, GroupEnrolment, GroupSeries
from tests import factories
from tests.support.browser import begin_the_day_at_ten, signed_in_context

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def page_as(browser, live_server, user) -> Page:
    return signed_in_context(browser, live_server.url, user).new_page()


def local_input(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def test_a_series_is_set_up_filled_attended_and_its_roster_printed(browser, live_server, request):
    begin_the_day_at_ten(request)
    # Given a manager, a facilitator, and a navigator with a Spanish-speaking patient
    manager = factories.ManagerFactory()
    facilitator = factories.NavigatorFactory(user__first_name="Rosa", user__last_name="Facil")
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    case = factories.ControlCaseFactory(  # group classes are a control programme's
        navigator=navigator,
        patient__given_name="Lucia",
        patient__family_name="Quintana",
        patient__preferred_language="es",
    )
    tomorrow_ten = timezone.localtime() + dt.timedelta(days=1)

    # When the manager sets up the series and adds two sessions
    page = page_as(browser, live_server, manager)
    page.goto(f"{live_server.url}/groups/")
    page.get_by_test_id("new-series").click()
    page.get_by_label("Programme").select_option(str(case.program_id))
    page.get_by_label("Name").fill("Vivir bien con diabetes")
    page.get_by_label("Curriculum").fill("dsmes-basics")
    page.get_by_label("Language").select_option("es")
    page.get_by_label("Facilitator").select_option(str(facilitator.user_id))
    page.get_by_label("Seats").fill("8")
    page.get_by_label("Place").fill("Sala comunitaria")
    page.get_by_role("button", name="Set up the series").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vivir bien con diabetes")
    for number, starts in ((1, tomorrow_ten), (2, tomorrow_ten + dt.timedelta(days=7))):
        form = page.get_by_test_id("session-form")
        form.get_by_label("Session number").fill(str(number))
        form.get_by_label("Starts").fill(local_input(starts))
        form.get_by_role("button", name="Add the session").click()
        expect(page.get_by_text(f"Session {number} added.")).to_be_visible()
    expect(page.get_by_test_id("session-row")).to_have_count(2)
    series = GroupSeries.objects.get()
    page.context.close()

    # And the navigator enrols their patient from the series page
    page = page_as(browser, live_server, navigator.user)
    page.goto(f"{live_server.url}/groups/")
    page.get_by_role("link", name="Vivir bien con diabetes").click()
    page.get_by_test_id("enrol-form").get_by_label("Patient").select_option(str(case.pk))
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.get_by_test_id("roster-row")).to_contain_text("Lucia Quintana")
    expect(page.get_by_test_id("seats")).to_have_text("1 of 8")
    page.context.close()

    # And, the first session under way, the facilitator marks her attended
    with time_machine.travel(tomorrow_ten + dt.timedelta(minutes=30), tick=True):
        page = page_as(browser, live_server, facilitator.user)
        page.goto(f"{live_server.url}/groups/{series.pk}/")
        page.get_by_role("link", name="Take attendance for session 1").click()
        row = page.get_by_test_id("attendance-row")
        row.get_by_label("Attended").check()
        row.get_by_role("button", name="Save").click()
        # Then the row comes back saved, in place
        expect(page.get_by_test_id("attendance-mark")).to_contain_text("Attended (90 min)")
        expect(page.get_by_test_id("attendance-mark")).to_contain_text("saved")

        # And the printed roster carries the mark, says it holds PHI, and has no header
        page.goto(f"{live_server.url}/groups/{series.pk}/roster/print/")
        expect(page.get_by_test_id("phi-banner")).to_be_visible()
        expect(page.get_by_test_id("print-roster-row")).to_contain_text("Attended")
        page.emulate_media(media="print")
        expect(page.locator(".site-header")).to_be_hidden()
        expect(page.get_by_role("button", name="Print")).to_be_hidden()
        assert page.pdf()[:4] == b"%PDF"
        page.context.close()

    enrolment = GroupEnrolment.objects.get()
    assert enrolment.patient_id == case.patient_id
    assert GroupAttendance.objects.get().status == "attended"
