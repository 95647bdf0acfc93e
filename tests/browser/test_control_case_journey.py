"""A diabetes control case in a real browser (issue 16's acceptance walk): the navigator
books an individual coaching session and enrols the patient in the next
Spanish-language group series from the case page; the facilitator takes attendance
once the first class has begun; the navigator records an HbA1c from an outside
report, and the case page's trend, last value and care gap follow without a reload."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from navigator.models import CoachingSession, GroupAttendance, GroupEnrolment
from patients.models import CareGap
from patients.services import care_gaps
from tests import factories
from tests.support.browser import begin_the_day_at_ten, signed_in_context
from tests.support.fhir import diabetes, ehr_resource, hba1c

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def page_as(browser, live_server, user) -> Page:
    return signed_in_context(browser, live_server.url, user).new_page()


def local_input(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def test_enrol_attend_record_a_lab_and_see_the_trend(browser, live_server, request):
    begin_the_day_at_ten(request)
    # Given a Spanish-speaking patient with diabetes, poorly controlled last winter
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    facilitator = factories.NavigatorFactory(user__first_name="Rosa", user__last_name="Facil")
    patient = factories.PatientFactory(
        given_name="Lucia",
        family_name="Quintana",
        preferred_language="es",
        birth_date=dt.date(1966, 4, 9),
    )
    ehr_resource(patient, diabetes("2017-05-01"))
    last_winter = timezone.localdate() - dt.timedelta(days=120)
    ehr_resource(patient, hba1c(last_winter.isoformat(), 9.8))
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=timezone.localdate())
    case = factories.CaseFactory(
        patient=patient, program=factories.program("diabetes"), navigator=navigator
    )
    # And a Spanish-language series of the programme starting tomorrow at ten
    tomorrow_ten = timezone.localtime() + dt.timedelta(days=1)
    series = factories.GroupSeriesFactory(
        name="Vivir bien con diabetes",
        program=case.program,
        language="es",
        facilitator=facilitator.user,
    )
    first = factories.GroupSessionFactory(series=series, number=1, starts_at=tomorrow_ten)
    factories.GroupSessionFactory(
        series=series, number=2, starts_at=tomorrow_ten + dt.timedelta(days=7)
    )

    # When the navigator opens the case: a control case, no screening to record
    page = page_as(browser, live_server, navigator.user)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    expect(page.get_by_test_id("lab-last")).to_contain_text("9.8 %")
    expect(page.get_by_test_id("screening-form")).to_have_count(0)
    expect(page.locator("#lab-trend-chart circle")).to_have_count(1)

    # And books an individual session for the day after tomorrow
    form = page.get_by_test_id("coaching-form")
    form.get_by_label("Date and time").fill(local_input(tomorrow_ten + dt.timedelta(days=1)))
    form.get_by_label("Healthy eating").check()
    form.get_by_role("button", name="Book session").click()
    expect(page.get_by_test_id("case-notice")).to_contain_text("Coaching session booked")
    expect(page.get_by_test_id("coaching-session")).to_contain_text("in Spanish")

    # And enrols her in the next Spanish-language series, from the case page
    expect(page.get_by_test_id("next-series")).to_contain_text("Vivir bien con diabetes")
    page.get_by_role("button", name="Enrol in the next Spanish series").click()
    expect(page.get_by_test_id("group-enrolment")).to_contain_text("Vivir bien con diabetes")
    expect(page.get_by_test_id("group-attendance-summary")).to_contain_text(
        "Attended 0 of 0 sessions held so far (2 in the series)"
    )
    page.context.close()

    with time_machine.travel(tomorrow_ten + dt.timedelta(minutes=30), tick=True):
        # And, the first class under way, the facilitator marks her attended
        page = page_as(browser, live_server, facilitator.user)
        page.goto(f"{live_server.url}/groups/sessions/{first.pk}/attendance/")
        row = page.get_by_test_id("attendance-row")
        row.get_by_label("Attended").check()
        row.get_by_role("button", name="Save").click()
        expect(page.get_by_test_id("attendance-mark")).to_contain_text("saved")
        page.context.close()

        # Then the case page counts the class and its hours
        page = page_as(browser, live_server, navigator.user)
        page.goto(f"{live_server.url}/cases/{case.pk}/")
        expect(page.get_by_test_id("group-attendance-summary")).to_contain_text(
            "Attended 1 of 1 session held so far"
        )
        expect(page.get_by_test_id("hours-row").nth(1)).to_contain_text("1 h 30 min")

        # When the navigator records today's HbA1c from the outside lab's report
        page.get_by_text("Record a lab from an outside report").click()
        form = page.get_by_test_id("lab-form")
        form.get_by_label("Test").select_option("hba1c")
        form.get_by_label("Value").fill("7.4")
        form.get_by_label("Collected on").fill(timezone.localdate().isoformat())
        form.get_by_label("Reporting lab or report").fill("Quest Diagnostics")
        form.get_by_role("button", name="Record lab").click()

        # Then the trend, the last value and the status follow, in place
        expect(page.get_by_test_id("case-notice")).to_contain_text("Lab recorded")
        expect(page.locator("#lab-trend-chart circle")).to_have_count(2)
        expect(page.get_by_test_id("lab-last")).to_contain_text("7.4 %")
        expect(page.get_by_test_id("screening-status")).to_contain_text("At target")
        expect(page.get_by_test_id("lab-trend")).to_contain_text("HbA1c (entered by staff)")
        page.context.close()

    assert GroupEnrolment.objects.get().case_id == case.pk
    assert GroupAttendance.objects.get().status == "attended"
    assert CoachingSession.objects.get().language == "es"
    assert CareGap.objects.get(patient=patient, program=case.program).status == "at_target"
