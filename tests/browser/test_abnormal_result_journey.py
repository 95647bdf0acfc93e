"""An abnormal result, in a real browser, from the navigator's case page to the
clinic's referral page: an abnormal FIT is not a completed screening anywhere (the
case page, the worklist and the clinic all say *diagnostic follow-up needed*); the
colonoscopy booked and recorded normal completes it everywhere."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from navigator.intake.referrals import referral_create
from navigator.models import CaseStatus, FollowUpState, ResultFollowUp
from navigator.services.assignment import case_assign
from patients.services.patients import PatientInput, PhoneInput
from tests import factories
from tests.support.browser import begin_the_day_at_ten, new_context

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def signed_in(browser, live_server, user) -> Page:
    client = Client()
    client.force_login(user)
    context = new_context(browser)
    context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }])  # fmt: skip
    return context.new_page()


def test_an_abnormal_fit_stays_open_until_the_colonoscopy_is_recorded_everywhere(
    browser, live_server, request
):
    begin_the_day_at_ten(request)
    # Given a clinic's referral, assigned to a navigator
    clinic = factories.ClinicFactory()
    staff = factories.ClinicStaffFactory(clinic=clinic)
    navigator = factories.NavigatorFactory()
    referral = referral_create(
        clinic=clinic,
        program=factories.program("colorectal"),
        patient_data=PatientInput(
            mrn="AB-100", given_name="Jorge", family_name="Quintero",
            birth_date=dt.date(1965, 4, 2), sex="male", preferred_language="en",
            phones=[PhoneInput(number="+16175550142", kind="mobile")],
        ),
        referring_clinician="Dr. Chen", reason="Overdue", actor=staff,
    )  # fmt: skip
    case = case_assign(case=referral.case, navigator=navigator, actor=None, reason="test")
    nav = signed_in(browser, live_server, navigator.user)
    clinic_page = signed_in(browser, live_server, staff)
    case_url = live_server.url + reverse("navigator:case_detail", args=[case.pk])
    worklist_url = live_server.url + reverse("navigator:worklist")
    referral_url = live_server.url + reverse("patients:referral_detail", args=[referral.pk])

    # When the navigator records the FIT, abnormal
    nav.goto(case_url)
    form = nav.get_by_test_id("screening-form")
    form.get_by_label("Test").select_option(label="FIT (fecal immunochemical test)")
    form.get_by_label("Done on").fill(timezone.localdate().isoformat())
    form.get_by_label("Result").select_option(
        label="Abnormal (positive stool test, or a polyp or mass seen)"
    )
    form.get_by_role("button", name="Record screening").click()

    # Then the case page says diagnostic follow-up needed, with the colonoscopy's due date
    status = nav.get_by_test_id("case-status")
    expect(status).to_have_text("Diagnostic follow-up needed")
    due = timezone.localdate() + dt.timedelta(days=60)
    follow_up = nav.get_by_test_id("result-follow-up")
    expect(follow_up).to_contain_text("Diagnostic colonoscopy after the FIT")
    expect(follow_up).to_contain_text(f"Due by {due:%b} {due.day}, {due.year}")
    expect(nav.get_by_test_id("loop-status")).to_have_text("Diagnostic follow-up needed")
    # ... and so do the worklist, ranked first, and the clinic
    nav.goto(worklist_url)
    row = nav.locator("tr.worklist-row").first
    expect(row).to_contain_text("Diagnostic follow-up needed")
    expect(row).to_contain_text("diagnostic colonoscopy not booked")
    clinic_page.goto(referral_url)
    expect(clinic_page.get_by_test_id("referral-status")).to_have_text(
        "Diagnostic follow-up needed"
    )

    # When the colonoscopy is booked, two hours from now
    nav.goto(case_url)
    when = (timezone.localtime() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    booking = nav.get_by_test_id("diagnostic-form")
    booking.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT%H:%M"))
    booking.get_by_label("Where").fill("Endoscopy Center")
    booking.get_by_role("button", name="Book diagnostic appointment").click()
    expect(nav.get_by_test_id("appointment")).to_contain_text("Endoscopy Center")
    expect(status).to_have_text("Diagnostic follow-up needed")

    # ... and, once done, recorded normal
    later = time_machine.travel(timezone.now() + dt.timedelta(hours=3), tick=True)
    later.start()
    request.addfinalizer(later.stop)
    nav.goto(case_url)
    form = nav.get_by_test_id("screening-form")
    expect(form.get_by_label("Test")).to_have_value(str(factories.modality("colonoscopy").pk))
    form.get_by_label("Done on").fill(timezone.localdate().isoformat())
    form.get_by_label("Result").select_option(label="Normal (negative)")
    form.get_by_role("button", name="Record screening").click()

    # Then it is complete everywhere
    expect(status).to_have_text("Screening complete")
    expect(nav.get_by_test_id("past-follow-up")).to_contain_text("Diagnostic colonoscopy")
    nav.goto(worklist_url)
    expect(nav.get_by_text(re.compile("diagnostic colonoscopy not booked"))).to_have_count(0)
    clinic_page.goto(referral_url)
    expect(clinic_page.get_by_test_id("referral-status")).to_have_text("Screening complete")
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert ResultFollowUp.objects.get(case=case).state == FollowUpState.DONE
