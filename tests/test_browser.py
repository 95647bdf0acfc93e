"""A navigator walks the loop in a real browser (Playwright driving Debian's Chromium).

Log in, open the worklist, open a case, log an attempt, add a barrier (by
keyboard only), book the appointment and record the screening: every action
without a page reload.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections
from django.utils import timezone

from navigator.models import AppointmentStatus, CaseEventKind, CaseStatus
from tests import factories
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # Data migrations seed the programs and barriers; restore them for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def page(require_chromium, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # test makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=require_chromium, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # Under Playwright's event loop Django keeps this test's connection in
            # a context-local slot that the test database teardown never sees.
            connections.close_all()


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__loadedOnce") == 1, "the page was reloaded"


def test_a_navigator_works_a_case_from_first_call_to_the_result(page, live_server, tmp_path):
    from playwright.sync_api import expect

    # Given a navigator with a newly assigned colorectal case
    navigator = factories.NavigatorFactory(languages=["es", "en"])
    case = factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Lucía",
        patient__family_name="Ferreira",
        patient__preferred_language="es",
        status=CaseStatus.ASSIGNED,
    )

    # When they log in, they land on their worklist
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(navigator.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/worklist/")
    row_link = page.get_by_role("link", name="Ferreira, Lucía")
    expect(row_link).to_be_visible()

    # And open the case
    row_link.click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    page.evaluate("window.__loadedOnce = 1")
    status = page.get_by_test_id("case-status")
    expect(status).to_have_text("Assigned")

    # They log a contact attempt: one form, no reload
    attempt = page.get_by_test_id("attempt-form")
    attempt.get_by_label("Channel").select_option("phone")
    attempt.get_by_label("Outcome").select_option("reached")
    attempt.get_by_label("Interpreter used").check()
    attempt.get_by_role("button", name="Log attempt").click()
    expect(status).to_have_text("Contacting")
    expect(page.get_by_test_id("timeline")).to_contain_text("reached (interpreter)")
    assert_not_reloaded(page)

    # They add a barrier using only the keyboard
    barrier_select = page.get_by_test_id("barrier-form").get_by_label("Barrier")
    barrier_select.focus()
    page.keyboard.type("Transportation")
    page.keyboard.press("Tab")  # to the note
    page.keyboard.type("No car; bus takes two hours")
    page.keyboard.press("Tab")  # to the action taken
    page.keyboard.type("Booked a ride through the health plan")
    page.keyboard.press("Tab")  # to the submit button
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("barrier").first).to_contain_text("Transportation")
    expect(page.get_by_test_id("timeline")).to_contain_text("Barrier: Transportation")
    assert_not_reloaded(page)

    # They book the colonoscopy
    when = timezone.localtime() + dt.timedelta(days=6)
    booking = page.get_by_test_id("appointment-form")
    booking.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT09:30"))
    booking.get_by_label("Where").fill("Endoscopy Center")
    booking.get_by_label("Modality").select_option(label="Colonoscopy")
    booking.get_by_role("button", name="Book appointment").click()
    expect(status).to_have_text("Scheduled")
    expect(page.get_by_test_id("appointment").first).to_contain_text("Endoscopy Center")
    assert_not_reloaded(page)

    # And, once it has happened, record it and its result
    screening = page.get_by_test_id("screening-form")
    screening.get_by_label("Test").select_option(label="Colonoscopy")
    screening.get_by_label("Done on").fill(timezone.localdate().isoformat())
    screening.get_by_label("Result").select_option("normal")
    screening.get_by_role("button", name="Record screening").click()
    expect(status).to_have_text("Screening completed")
    expect(page.get_by_test_id("screening").first).to_contain_text("Normal")
    assert_not_reloaded(page)
    page.screenshot(path=str(tmp_path / "case-completed.png"), full_page=True)

    # Then the case holds every step, as the navigator did it
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert case.completed_at is not None
    attempt_row = case.attempts.get()
    assert (attempt_row.channel, attempt_row.outcome, attempt_row.interpreter_used) == (
        "phone",
        "reached",
        True,
    )
    barrier = case.barriers.get()
    assert barrier.barrier_type.code == "transportation"
    assert barrier.action == "Booked a ride through the health plan"
    assert case.appointments.get().status == AppointmentStatus.KEPT
    assert case.screenings.get().result == "normal"
    kinds = set(case.events.values_list("kind", flat=True))
    assert {
        CaseEventKind.ATTEMPT_LOGGED,
        CaseEventKind.BARRIER_ADDED,
        CaseEventKind.APPOINTMENT_BOOKED,
        CaseEventKind.SCREENING_RECORDED,
    } <= kinds
    assert set(case.events.values_list("actor", flat=True)) == {navigator.user.pk}
