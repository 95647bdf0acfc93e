"""A navigator works cases in a real browser (Playwright driving Debian's Chromium).

Every action on the case page is swapped in by HTMX, without a page reload: a
one-click attempt, a barrier added and resolved, an appointment booked, the
screening recorded; one case is worked with the keyboard alone (shortcuts, Tab,
Enter and Space); and a form left open while a colleague changed the case is
refused with what changed, the navigator's input kept.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from navigator.models import (
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseEventKind,
    CaseStatus,
)
from navigator.services import barriers
from outreach.models import ContactAttempt
from patients.models import PatientPhone
from tests import factories
from tests.factories import PASSWORD
from tests.support.browser import begin_the_day_at_ten, new_context, signed_in_context

pytestmark = [
    pytest.mark.browser,
    # A transactional test flushes every table when it ends; the data migrations'
    # programs and barrier taxonomy must be restored for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def page(browser):
    context = new_context(browser)
    yield context.new_page()
    context.close()


def signed_in(browser, live_server, user) -> Page:
    """A page in its own browser session, signed in as `user` (a session cookie)."""
    return signed_in_context(browser, live_server.url, user).new_page()


def mark_page(page: Page) -> None:
    """Tag the loaded document; a reload or a full navigation loses the tag."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


def notice_of(page: Page):
    return page.get_by_test_id("case-notice")


def test_a_navigator_works_a_case_from_first_call_to_the_result(
    page, live_server, tmp_path, request
):
    begin_the_day_at_ten(request)
    today = timezone.localdate()
    transportation = BarrierType.objects.get(code="transportation")

    # Given a navigator with a newly assigned colorectal case, and another navigator's case
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    case = factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Lucía",
        patient__family_name="Ferreira",
        patient__phone="+16175550123",
        status=CaseStatus.ASSIGNED,
        next_follow_up=today,
    )
    factories.CaseFactory(patient__given_name="Zora", patient__family_name="Okafor")

    # When they open EquiNav, they are asked to sign in
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(navigator.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # And land on their worklist, which lists their case and not the other one
    expect(page).to_have_url(f"{live_server.url}/worklist/")
    expect(page.get_by_text("Okafor")).to_have_count(0)

    # And open the case: the header says how to reach her
    page.get_by_role("link", name=re.compile("Ferreira")).first.click()
    expect(page).to_have_url(f"{live_server.url}/cases/{case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucía Ferreira")
    expect(page.get_by_role("link", name="(617) 555-0123")).to_have_attribute(
        "href", "tel:+16175550123"
    )
    mark_page(page)
    status = page.get_by_test_id("case-status")
    timeline = page.get_by_test_id("timeline")
    expect(status).to_have_text("Assigned")

    # They reached her by phone: a note, then one click on the outcome
    attempt = page.get_by_test_id("attempt-form")
    expect(attempt.get_by_label("Channel")).to_have_value("phone")
    expect(attempt.get_by_label("Number")).to_have_value(
        str(PatientPhone.objects.get(patient=case.patient).pk)
    )
    attempt.get_by_label("Note").fill("Agreed to a colonoscopy")
    attempt.get_by_role("button", name="Reached", exact=True).click()
    expect(notice_of(page)).to_have_text("Contact attempt logged.")
    expect(notice_of(page)).to_be_focused()
    expect(status).to_have_text("Contacting")
    expect(timeline).to_contain_text("Outbound phone: reached")
    assert_not_reloaded(page)

    # They add a barrier with the action taken
    barrier_form = page.get_by_test_id("barrier-form")
    barrier_form.get_by_label("Barrier").select_option(label="Transportation")
    barrier_form.get_by_label("Note").fill("No car; the bus takes two hours")
    barrier_form.get_by_label("Action taken").fill("Booked a ride through the health plan")
    barrier_form.get_by_role("button", name="Add barrier").click()
    expect(notice_of(page)).to_have_text("Barrier added.")
    barrier = page.get_by_test_id("barrier")
    expect(barrier).to_have_count(1)
    expect(barrier).to_contain_text("Action taken")
    expect(barrier).to_contain_text("Booked a ride through the health plan")
    expect(timeline).to_contain_text("Barrier: Transportation")
    assert_not_reloaded(page)

    # And resolve it, saying how
    barrier.get_by_role("textbox", name="Action taken").fill("Ride confirmed for the day")
    barrier.get_by_role("button", name="Resolve: Transportation").click()
    expect(notice_of(page)).to_have_text("Barrier resolved.")
    expect(barrier).to_contain_text("Resolved")
    expect(barrier.get_by_role("button", name=re.compile("Resolve"))).to_have_count(0)
    expect(timeline).to_contain_text(
        "Barrier Transportation: resolved — Ride confirmed for the day"
    )
    assert_not_reloaded(page)

    # They book the colonoscopy, for two hours from now
    when = (timezone.localtime() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    booking = page.get_by_test_id("appointment-form")
    booking.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT%H:%M"))
    booking.get_by_label("Where").fill("Endoscopy Center")
    booking.get_by_label("Modality").select_option(label="Colonoscopy")
    booking.get_by_role("button", name="Book appointment").click()
    expect(notice_of(page)).to_have_text("Appointment booked.")
    expect(status).to_have_text("Scheduled")
    appointment = page.get_by_test_id("appointment")
    expect(appointment).to_have_count(1)
    expect(appointment).to_contain_text("Endoscopy Center")
    expect(appointment).to_contain_text("Booked")
    expect(timeline).to_contain_text(f"Appointment {when:%Y-%m-%d %H:%M} at Endoscopy Center")
    # With an appointment within a week, the next attempt is a prep call
    expect(attempt.get_by_label("Purpose")).to_have_value("prep_call")
    assert_not_reloaded(page)

    # And, once it has happened (three hours on), record it and its result
    later = time_machine.travel(timezone.now() + dt.timedelta(hours=3), tick=True)
    later.start()
    request.addfinalizer(later.stop)
    done_on = when.date()
    screening = page.get_by_test_id("screening-form")
    screening.get_by_label("Test").select_option(label="Colonoscopy")
    screening.get_by_label("Done on").fill(done_on.isoformat())
    screening.get_by_label("Result").select_option(label="Normal (negative)")
    screening.get_by_role("button", name="Record screening").click()
    expect(notice_of(page)).to_have_text("Result recorded; the case shows what comes next.")
    expect(status).to_have_text("Screening complete")
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
    logged = case.attempts.get()
    assert (logged.channel, logged.outcome, logged.created_by) == (
        "phone",
        "reached",
        navigator.user,
    )
    assert logged.phone == PatientPhone.objects.get(patient=case.patient)
    assert logged.note == "Agreed to a colonoscopy"
    added = case.barriers.get()
    assert (added.barrier_type, added.status) == (transportation, BarrierStatus.RESOLVED)
    assert added.note == "No car; the bus takes two hours"
    assert added.action == "Ride confirmed for the day"
    booked = case.appointments.get()
    assert booked.status == AppointmentStatus.KEPT
    assert (booked.site, booked.modality.name) == ("Endoscopy Center", "Colonoscopy")
    assert timezone.localtime(booked.scheduled_at) == when
    recorded = case.screenings.get()
    assert (recorded.result, recorded.performed_on) == ("normal", done_on)
    kinds = set(case.events.values_list("kind", flat=True))
    assert {
        CaseEventKind.ATTEMPT_LOGGED,
        CaseEventKind.BARRIER_ADDED,
        CaseEventKind.BARRIER_UPDATED,
        CaseEventKind.APPOINTMENT_BOOKED,
        CaseEventKind.SCREENING_RECORDED,
    } <= kinds
    assert set(case.events.exclude(kind=CaseEventKind.OPENED).values_list("actor", flat=True)) == {
        navigator.user.pk
    }


def test_a_navigator_works_a_case_with_the_keyboard_alone(browser, live_server):
    # Given a navigator's case, the patient with two numbers, the first one wrong
    navigator = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=navigator, patient__given_name="Amadou")
    PatientPhone.objects.create(patient=case.patient, number="+16175550100", rank=0, is_bad=True)
    good = PatientPhone.objects.create(patient=case.patient, number="+16175550199", rank=1)
    page = signed_in(browser, live_server, navigator.user)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    mark_page(page)
    keyboard = page.keyboard
    timeline = page.get_by_test_id("timeline")

    # "?" opens the shortcuts' help, a dialog; Esc closes it and focus goes back
    page.locator("body").focus()
    keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog.get_by_role("button", name="Close")).to_be_focused()
    expect(help_dialog).to_contain_text("Add a barrier")
    keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # "a" goes to the outcome buttons; the call goes to the good number; Tab, Enter logs it
    attempt = page.get_by_test_id("attempt-form")
    expect(attempt.get_by_label("Number")).to_have_value(str(good.pk))
    keyboard.press("a")
    reached = attempt.get_by_role("button", name="Reached", exact=True)
    expect(reached).to_be_focused()
    # (Enter in a field of the form logs nothing: no outcome was chosen)
    keyboard.press("Shift+Tab")
    keyboard.press("Shift+Tab")
    expect(attempt.get_by_label("Next follow-up")).to_be_focused()
    keyboard.press("Enter")
    expect(page.get_by_test_id("case-announcer")).to_have_text(
        "Choose an outcome button to log the attempt."
    )
    assert not ContactAttempt.objects.filter(case=case).exists()
    keyboard.press("Tab")
    keyboard.press("Tab")
    expect(reached).to_be_focused()
    keyboard.press("Tab")
    expect(attempt.get_by_role("button", name="No answer or busy")).to_be_focused()
    keyboard.press("Enter")
    expect(notice_of(page)).to_have_text("Contact attempt logged.")
    expect(notice_of(page)).to_be_focused()
    expect(timeline).to_contain_text("Outbound phone: no answer or busy")
    assert_not_reloaded(page)

    # "n" writes a note; a shortcut letter typed in the note is just a letter
    keyboard.press("n")
    note = page.get_by_test_id("note-form").get_by_label("Note")
    expect(note).to_be_focused()
    keyboard.type("Call back after 6 pm; ask for Amadou")
    expect(note).to_have_value("Call back after 6 pm; ask for Amadou")
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add note")).to_be_focused()
    keyboard.press("Enter")
    expect(notice_of(page)).to_have_text("Note added.")
    expect(timeline.locator("li").first).to_contain_text("Call back after 6 pm; ask for Amadou")
    assert_not_reloaded(page)

    # "b" adds a barrier: type-ahead in the menu, Tab through the fields, Enter
    keyboard.press("b")
    barrier_form = page.get_by_test_id("barrier-form")
    barrier_select = barrier_form.get_by_label("Barrier")
    expect(barrier_select).to_be_focused()
    keyboard.type("Transportation")  # the select's type-ahead picks the option
    expect(barrier_select).to_have_value(str(BarrierType.objects.get(code="transportation").pk))
    keyboard.press("Tab")
    expect(barrier_form.get_by_label("Note")).to_be_focused()
    keyboard.type("No car")
    keyboard.press("Tab")
    expect(barrier_form.get_by_label("Action taken")).to_be_focused()
    keyboard.press("Tab")
    expect(barrier_form.get_by_role("button", name="Add barrier")).to_be_focused()
    keyboard.press("Enter")
    expect(notice_of(page)).to_have_text("Barrier added.")
    barrier = page.get_by_test_id("barrier")
    expect(barrier).to_contain_text("Identified")
    assert_not_reloaded(page)

    # And resolves it: Tab from the status message to the barrier's action, then Space
    action = barrier.get_by_role("textbox", name="Action taken")
    for _ in range(40):
        keyboard.press("Tab")
        if action.evaluate("element => element === document.activeElement"):
            break
    expect(action).to_be_focused()
    keyboard.type("Neighbour will drive")
    keyboard.press("Tab")
    keyboard.press("Tab")
    expect(barrier.get_by_role("button", name="Resolve: Transportation")).to_be_focused()
    keyboard.press("Space")
    expect(notice_of(page)).to_have_text("Barrier resolved.")
    expect(barrier).to_contain_text("Resolved")
    assert_not_reloaded(page)

    # "f" sets the follow-up, prefilled with the protocol's default
    keyboard.press("f")
    follow_up = page.get_by_test_id("follow-up-form").get_by_label("Next follow-up")
    expect(follow_up).to_be_focused()
    case.refresh_from_db()
    expect(follow_up).to_have_value(case.next_follow_up.isoformat())
    assert_not_reloaded(page)

    # Then everything was saved, and the page never reloaded
    case.refresh_from_db()
    assert ContactAttempt.objects.get(case=case).outcome == "no_answer"
    assert ContactAttempt.objects.get(case=case).phone == good
    barrier_row = case.barriers.get()
    assert (barrier_row.status, barrier_row.action) == (
        BarrierStatus.RESOLVED,
        "Neighbour will drive",
    )
    assert case.events.filter(kind=CaseEventKind.NOTE).count() == 1
    page.context.close()


def test_a_form_left_open_while_a_colleague_changed_the_case_is_refused(browser, live_server):
    # Given a navigator with the case open, and a manager who opens it too
    navigator = factories.NavigatorFactory()
    manager = factories.ManagerFactory(username="mona")
    case = factories.CaseFactory(navigator=navigator, patient__phone="+16175550123")
    mine = signed_in(browser, live_server, navigator.user)
    mine.goto(f"{live_server.url}/cases/{case.pk}/")
    mark_page(mine)
    theirs = signed_in(browser, live_server, manager)
    theirs.goto(f"{live_server.url}/cases/{case.pk}/")

    # When the manager, in their session, sets the next follow-up (a note would not do:
    # it only adds, and never makes another form stale)
    follow_up_on = timezone.localdate() + dt.timedelta(days=9)
    theirs.get_by_test_id("follow-up-form").get_by_label("Next follow-up").fill(
        follow_up_on.isoformat()
    )
    theirs.get_by_role("button", name="Set follow-up").click()
    expect(notice_of(theirs)).to_have_text("Next follow-up set.")

    # And the navigator then logs an attempt from the page they had open
    attempt = mine.get_by_test_id("attempt-form")
    attempt.get_by_label("Note").fill("Left a message with her son")
    attempt.get_by_role("button", name="Left voicemail").click()

    # Then they are told what changed and that nothing was saved, their note kept
    alert = mine.get_by_test_id("attempt-form").get_by_role("alert")
    expect(alert).to_contain_text("This case changed after you opened it")
    expect(alert).to_contain_text(f"Next follow-up {follow_up_on:%Y-%m-%d} (mona)")
    expect(alert).to_contain_text("Nothing was saved")
    expect(alert).to_be_focused()
    expect(mine.get_by_test_id("attempt-form").get_by_label("Note")).to_have_value(
        "Left a message with her son"
    )
    # And the page now shows the manager's change
    expect(mine.get_by_test_id("timeline")).to_contain_text(
        f"Next follow-up {follow_up_on:%Y-%m-%d}"
    )
    assert not ContactAttempt.objects.filter(case=case).exists()
    assert_not_reloaded(mine)

    # When they look and log it again, it is saved
    mine.get_by_test_id("attempt-form").get_by_role("button", name="Left voicemail").click()
    expect(notice_of(mine)).to_have_text("Contact attempt logged.")
    assert ContactAttempt.objects.get(case=case).note == "Left a message with her son"
    assert_not_reloaded(mine)
    mine.context.close()
    theirs.context.close()


def test_a_barrier_gone_from_the_case_is_reported_without_a_reload(browser, live_server):
    # Given a case page showing a barrier that is then moved off this case's reach
    navigator = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=navigator)
    barrier = barriers.barrier_add(
        case=case,
        barrier_type=BarrierType.objects.get(code="transportation"),
        actor=navigator.user,
    )
    page = signed_in(browser, live_server, navigator.user)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    mark_page(page)
    other = factories.CaseFactory(navigator=navigator)
    type(barrier).objects.filter(pk=barrier.pk).update(case=other)

    # When the navigator resolves it
    page.get_by_role("button", name="Resolve: Transportation").click()

    # Then they are told it was not saved, and why
    announcer = page.get_by_test_id("case-announcer")
    expect(announcer).to_contain_text("Not saved: that is not on this case")
    expect(announcer).to_be_focused()
    assert_not_reloaded(page)
    barrier.refresh_from_db()
    assert barrier.status == BarrierStatus.IDENTIFIED
    page.context.close()
