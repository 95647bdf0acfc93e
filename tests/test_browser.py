"""A navigator walks the loop in a real browser (Playwright driving Debian's Chromium).

Log in, open the worklist, open a case, log an attempt, add a barrier (by
keyboard only), book the appointment and record the screening: every action on
the case page is swapped in by HTMX, without a page reload.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from navigator.models import AppointmentStatus, BarrierType, CaseEventKind, CaseStatus
from tests import factories
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # A transactional test flushes every table when it ends; the data migrations'
    # programs and barrier taxonomy must be restored for the tests that follow.
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
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000


@pytest.fixture
def page(require_chromium, monkeypatch):
    # Playwright's sync API runs an event loop in this thread, so Django would
    # refuse the ORM calls the test makes between browser steps; they are still
    # plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=require_chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=VIEWPORT, locale="en-US")
            context.set_default_timeout(TIMEOUT_MS)
            yield context.new_page()
            context.close()
        finally:
            browser.close()
            # Under that event loop Django keeps the test's own connection in a
            # context-local slot that the test database teardown never sees: close
            # it here, or PostgreSQL refuses to drop the test database.
            connections.close_all()


def mark_page(page: Page) -> None:
    """Tag the loaded document; a reload or a full navigation loses the tag."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


def test_a_navigator_works_a_case_from_first_call_to_the_result(page, live_server, tmp_path):
    today = timezone.localdate()
    transportation = BarrierType.objects.get(code="transportation")

    # Given a navigator with a newly assigned colorectal case, due for follow-up
    # today, and a second case due later; and another navigator's case
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    case = factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Lucía",
        patient__family_name="Ferreira",
        status=CaseStatus.ASSIGNED,
        next_follow_up=today,
    )
    later = factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Amadou",
        patient__family_name="Diallo",
        next_follow_up=today + dt.timedelta(days=3),
    )
    factories.CaseFactory(patient__given_name="Zora", patient__family_name="Okafor")

    # When they open EquiNav, they are asked to sign in
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(navigator.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # And land on their worklist: their two cases, the one due today first
    expect(page).to_have_url(f"{live_server.url}/worklist/")
    expect(page.get_by_role("heading", name="My worklist", level=1)).to_be_visible()
    table = page.get_by_role("table", name="My open cases")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Ferreira, Lucía")
    expect(rows.nth(0)).to_contain_text("Assigned")
    expect(rows.nth(1)).to_contain_text("Diallo, Amadou")
    expect(page.get_by_text("Okafor")).to_have_count(0)

    # And open the case
    table.get_by_role("link", name="Ferreira, Lucía").click()
    expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucía Ferreira")
    mark_page(page)
    status = page.get_by_test_id("case-status")
    timeline = page.get_by_test_id("timeline")
    notice = page.locator("#case-dynamic").get_by_role("status")
    expect(status).to_have_text("Assigned")

    # They log a contact attempt: they reached her by phone
    attempt = page.get_by_test_id("attempt-form")
    attempt.get_by_label("Channel").select_option(label="Phone")
    attempt.get_by_label("Outcome").select_option(label="Reached")
    attempt.get_by_label("Note").fill("Agreed to a colonoscopy")
    attempt.get_by_role("button", name="Log attempt").click()
    expect(notice).to_have_text("Contact attempt logged.")
    expect(status).to_have_text("Contacting")
    expect(timeline).to_contain_text("Outbound phone: reached")
    assert_not_reloaded(page)

    # They add a barrier using only the keyboard
    barrier_form = page.get_by_test_id("barrier-form")
    barrier_select = barrier_form.get_by_label("Barrier")
    barrier_select.focus()
    page.keyboard.type("Transportation")  # the select's type-ahead picks the option
    expect(barrier_select).to_have_value(str(transportation.pk))
    page.keyboard.press("Tab")
    expect(barrier_form.get_by_label("Note")).to_be_focused()
    page.keyboard.type("No car; the bus takes two hours")
    page.keyboard.press("Tab")
    expect(barrier_form.get_by_label("Action taken")).to_be_focused()
    page.keyboard.type("Booked a ride through the health plan")
    page.keyboard.press("Tab")
    expect(barrier_form.get_by_role("button", name="Add barrier")).to_be_focused()
    page.keyboard.press("Enter")
    expect(notice).to_have_text("Barrier added.")
    barrier = page.get_by_test_id("barrier")
    expect(barrier).to_have_count(1)
    expect(barrier).to_contain_text("Transportation")
    expect(barrier).to_contain_text("Booked a ride through the health plan")
    expect(timeline).to_contain_text("Barrier: Transportation")
    assert_not_reloaded(page)

    # They book the colonoscopy
    when = timezone.localtime() + dt.timedelta(days=5)
    booking = page.get_by_test_id("appointment-form")
    booking.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT09:30"))
    booking.get_by_label("Where").fill("Endoscopy Center")
    booking.get_by_label("Modality").select_option(label="Colonoscopy")
    booking.get_by_role("button", name="Book appointment").click()
    expect(notice).to_have_text("Appointment booked.")
    expect(status).to_have_text("Scheduled")
    appointment = page.get_by_test_id("appointment")
    expect(appointment).to_have_count(1)
    expect(appointment).to_contain_text("Endoscopy Center")
    expect(appointment).to_contain_text("Booked")
    expect(timeline).to_contain_text(f"Appointment {when:%Y-%m-%d} 09:30 at Endoscopy Center")
    assert_not_reloaded(page)

    # And, once it has happened, record it and its result
    screening = page.get_by_test_id("screening-form")
    screening.get_by_label("Test").select_option(label="Colonoscopy")
    screening.get_by_label("Done on").fill(today.isoformat())
    screening.get_by_label("Result").select_option(label="Normal")
    screening.get_by_role("button", name="Record screening").click()
    expect(notice).to_have_text("Screening recorded; the case is completed.")
    expect(status).to_have_text("Screening completed")
    expect(page.get_by_test_id("screening")).to_contain_text("Colonoscopy")
    expect(page.get_by_test_id("screening")).to_contain_text("Normal")
    expect(appointment).to_contain_text("Kept")
    # Nothing is left to book or record
    expect(page.get_by_test_id("screening-form")).to_have_count(0)
    expect(page.get_by_test_id("appointment-form")).to_have_count(0)
    assert_not_reloaded(page)
    page.screenshot(path=str(tmp_path / "case-completed.png"), full_page=True)

    # Then the case holds every step, as the navigator did it
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert case.completed_at is not None
    logged = case.attempts.get()
    assert (logged.channel, logged.outcome, logged.created_by) == (
        "phone",
        "reached",
        navigator.user,
    )
    added = case.barriers.get()
    assert added.barrier_type == transportation
    assert added.note == "No car; the bus takes two hours"
    assert added.action == "Booked a ride through the health plan"
    booked = case.appointments.get()
    assert booked.status == AppointmentStatus.KEPT
    assert (booked.site, booked.modality.name) == ("Endoscopy Center", "Colonoscopy")
    assert timezone.localtime(booked.scheduled_at).replace(tzinfo=None) == dt.datetime.combine(
        when.date(), dt.time(9, 30)
    )
    recorded = case.screenings.get()
    assert (recorded.result, recorded.performed_on) == ("normal", today)
    kinds = set(case.events.values_list("kind", flat=True))
    assert {
        CaseEventKind.ATTEMPT_LOGGED,
        CaseEventKind.BARRIER_ADDED,
        CaseEventKind.APPOINTMENT_BOOKED,
        CaseEventKind.SCREENING_RECORDED,
    } <= kinds
    assert set(case.events.values_list("actor", flat=True)) == {navigator.user.pk}
    # And the other case was left alone
    later.refresh_from_db()
    assert later.status == CaseStatus.ASSIGNED
    assert not later.attempts.exists()
    assert not later.events.filter(actor=navigator.user).exists()
