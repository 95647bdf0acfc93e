"""WCAG 2.1 AA on a diabetes control case's page (axe-core in Chromium, laptop and
phone): the lab trend with its form, individual coaching with a goal and its review,
the education hours, a group enrolment with attendance and "enrol in the next
series"; and the page with a refused lab (its errors shown)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from navigator.services.coaching import coaching_goal_set
from navigator.services.group_classes import group_attendance_record
from navigator.services.labs import case_lab_record
from patients.services import care_gaps
from tests import factories
from tests.browser.test_a11y import axe_core, check  # noqa: F401  (axe_core: autouse)
from tests.support.fhir import diabetes, ehr_resource, hba1c

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def a_coached_control_case(navigator):
    """A diabetes case with labs, an attended session with a goal, one ahead, and a
    Spanish series joined (one class attended) with another series offered next."""
    now = timezone.now()
    patient = factories.PatientFactory(
        given_name="Lucía",
        family_name="Ferreira",
        preferred_language="es",
        interpreter_needed=True,
        birth_date=dt.date(1968, 3, 2),
    )
    ehr_resource(patient, diabetes("2018-01-01"))
    for days, value in ((400, 10.2), (200, 9.3), (30, 8.4)):
        ehr_resource(patient, hba1c((now - dt.timedelta(days=days)).date().isoformat(), value))
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=timezone.localdate())
    case = factories.CaseFactory(
        patient=patient, program=factories.program("diabetes"), navigator=navigator
    )
    attended = factories.CoachingSessionFactory(
        case=case,
        scheduled_at=now - dt.timedelta(days=7),
        status="attended",
        minutes_spent=60,
        topics=["healthy_eating", "being_active"],
    )
    coaching_goal_set(
        session=attended, text="Caminar 20 minutos después de cenar", behaviour="being_active",
        actor=navigator.user,
    )  # fmt: skip
    factories.CoachingSessionFactory(
        case=case, scheduled_at=now - dt.timedelta(days=1), status="attended", minutes_spent=45
    )
    factories.CoachingSessionFactory(case=case)
    series = factories.GroupSeriesFactory(
        name="Vivir bien con diabetes", program=case.program, language="es"
    )
    begun = factories.GroupSessionFactory(series=series, starts_at=now - dt.timedelta(days=2))
    factories.GroupSessionFactory(series=series, starts_at=now + dt.timedelta(days=5))
    enrolment = factories.GroupEnrolmentFactory(series=series, case=case)
    group_attendance_record(
        session=begun, enrolment=enrolment, status="attended", actor=factories.ManagerFactory()
    )
    following = factories.GroupSeriesFactory(
        name="Vivir bien (otoño)", program=case.program, language="es"
    )
    factories.GroupSessionFactory(series=following, starts_at=now + dt.timedelta(days=40))
    # A lab copied from an outside report: its row offers a correction.
    case_lab_record(
        case=case, test="hba1c", value=Decimal("8.1"),
        collected_on=(now - dt.timedelta(days=10)).date(), source="Quest",
        actor=navigator.user,
    )  # fmt: skip
    return case


def test_a_control_case_page_has_no_accessibility_violations(browser, live_server):
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    case = a_coached_control_case(navigator)

    def refuse_a_lab(page: Page) -> str:
        page.get_by_text("Record a lab from an outside report").click()
        form = page.get_by_test_id("lab-form")
        form.get_by_label("Value").fill("45")
        form.get_by_label("Collected on").fill(timezone.localdate().isoformat())
        form.get_by_label("Reporting lab or report").fill("Quest")
        form.get_by_role("button", name="Record lab").click()
        page.get_by_role("alert").first.wait_for()
        # And the staff-entered labs' corrections, opened
        page.get_by_text("Correct a lab entered by staff").click()
        page.get_by_test_id("lab-fix-form").first.wait_for()
        return "a lab refused, corrections open"

    check(browser, live_server, navigator.user, f"/cases/{case.pk}/", then=refuse_a_lab)
