"""Bad input on the case page and its API: a stale form, a past booking, an attempt on
a closed case, a barrier that is not on the case, a close without a reason.

Each is refused with a clear, specific message, and nothing is half-written: no row,
no timeline entry, no status or follow-up change, no new case version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator import cases
from navigator.models import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
)
from navigator.services.appointments import appointment_book
from navigator.services.barriers import barrier_add
from navigator.services.follow_up import case_set_follow_up
from navigator.services.notes import case_note_add
from navigator.services.screenings import case_record_screening
from outreach.models import ContactAttempt
from patients.models import ScreeningEvent, ScreeningModality
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
STALE = "This case changed after you opened it"
NOT_SAVED = "Nothing was saved"


@dataclass(frozen=True)
class Snapshot:
    """Everything a case action could write."""

    status: str
    next_follow_up: dt.date | None
    version: int
    events: int
    attempts: int
    barriers: tuple
    appointments: tuple
    screenings: int


def snapshot(case: NavigationCase) -> Snapshot:
    case = NavigationCase.objects.get(pk=case.pk)
    return Snapshot(
        status=case.status,
        next_follow_up=case.next_follow_up,
        version=case.version,
        events=CaseEvent.objects.filter(case=case).count(),
        attempts=ContactAttempt.objects.filter(case=case).count(),
        barriers=tuple(
            CaseBarrier.objects.filter(case=case).order_by("pk").values_list("status", "action")
        ),
        appointments=tuple(
            Appointment.objects.filter(case=case).order_by("pk").values_list("status", "site")
        ),
        screenings=ScreeningEvent.objects.filter(case=case).count(),
    )


def in_local(days: int) -> str:
    return (timezone.localtime() + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def colonoscopy() -> ScreeningModality:
    return ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy")


@pytest.fixture
def case(navigator):
    return factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Ana",
        patient__family_name="Silva",
        patient__phone="+16175550123",
    )


@pytest.fixture
def barrier(case):
    return barrier_add(
        case=case,
        barrier_type=BarrierType.objects.get(code="transportation"),
        actor=case.navigator.user,
    )


@pytest.fixture
def appointment(case):
    return appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=3),
        site="GI Suite",
        actor=case.navigator.user,
    )


@pytest.fixture
def nav_client(client, navigator):
    client.force_login(navigator.user)
    return client


@pytest.fixture
def colleague(db):
    return factories.ManagerFactory(username="rosa.manager")


def change_elsewhere(case: NavigationCase, colleague) -> str:
    """Someone else, in another session, changes what a form on the case shows; what
    the timeline says of it."""
    on = timezone.localdate() + dt.timedelta(days=26)
    case_set_follow_up(case=case, on=on, actor=colleague)
    return f"Next follow-up {on:%Y-%m-%d}"


# --- Stale forms on the case page ------------------------------------------------------------


@dataclass
class CaseFormPost:
    name: str
    url: str
    data: dict[str, Any]
    kept: str  # the user's input, which must come back in the form


def form_posts(case, barrier, appointment) -> list[CaseFormPost]:
    def url(name: str, *args: int) -> str:
        return reverse(f"navigator:{name}", args=[case.pk, *args])

    return [
        CaseFormPost(
            "attempt",
            url("attempt_create"),
            {
                "channel": "phone",
                "direction": "outbound",
                "outcome": "reached",
                "note": "Agreed to the prep call",
            },
            "Agreed to the prep call",
        ),
        CaseFormPost("note", url("note_create"), {"text": "Prefers mornings"}, "Prefers mornings"),
        CaseFormPost(
            "barrier",
            url("barrier_create"),
            {
                "barrier_type": BarrierType.objects.get(code="work-childcare").pk,
                "note": "Three children at home",
            },
            "Three children at home",
        ),
        CaseFormPost(
            "barrier update",
            url("barrier_update", barrier.pk),
            {"status": "resolved", "action": "Ride booked with the health plan"},
            "Ride booked with the health plan",
        ),
        CaseFormPost(
            "appointment",
            url("appointment_create"),
            {"scheduled_at": in_local(9), "site": "Endoscopy West"},
            "Endoscopy West",
        ),
        CaseFormPost(
            "appointment outcome",
            url("appointment_update", appointment.pk),
            # Cancelled: the appointment is days away, too early to be kept or missed.
            {"status": "cancelled"},
            "",
        ),
        CaseFormPost(
            "screening",
            url("screening_create"),
            {
                "modality": colonoscopy().pk,
                "performed_on": timezone.localdate().isoformat(),
                "result": "normal",
            },
            "",
        ),
        CaseFormPost(
            "status",
            url("case_transition"),
            {"status": "declined", "note": "Does not want screening now"},
            "Does not want screening now",
        ),
        CaseFormPost(
            "follow-up",
            url("follow_up_set"),
            {"next_follow_up": (timezone.localdate() + dt.timedelta(days=12)).isoformat()},
            (timezone.localdate() + dt.timedelta(days=12)).isoformat(),
        ),
    ]


# Every form that changes what another could overwrite (a note only adds: below).
FORM_NAMES = [
    "attempt",
    "barrier",
    "barrier update",
    "appointment",
    "appointment outcome",
    "screening",
    "status",
    "follow-up",
]


@pytest.mark.parametrize("form_name", FORM_NAMES)
def test_a_stale_form_is_refused_with_what_changed_and_the_input_kept(
    nav_client, case, barrier, appointment, colleague, form_name
):
    # Given the case page as the navigator opened it
    page = nav_client.get(reverse("navigator:case_detail", args=[case.pk]))
    opened_at = NavigationCase.objects.get(pk=case.pk).version
    assert f'name="version" value="{opened_at}"' in page.content.decode()
    post = next(p for p in form_posts(case, barrier, appointment) if p.name == form_name)

    # And a colleague who then changes the case in another session
    changed = change_elsewhere(case, colleague)
    before = snapshot(case)

    # When the navigator submits the form they had open (HTMX)
    response = nav_client.post(post.url, {**post.data, "version": opened_at}, **HTMX)

    # Then the partial comes back saying what changed, and that nothing was saved
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="case-dynamic"' in html
    assert STALE in html
    assert f"{changed} (rosa.manager)" in html
    assert NOT_SAVED in html
    assert 'role="alert"' in html
    # With what they typed still in the form
    if post.kept:
        assert post.kept in html
    # And the case carries no trace of the refused submission
    assert snapshot(case) == before

    # And the form, drawn again, carries the current version: submitted again, it saves
    current = before.version
    assert f'name="version" value="{current}"' in html
    response = nav_client.post(post.url, {**post.data, "version": current}, **HTMX)
    assert STALE not in response.content.decode()
    assert snapshot(case) != before


def test_a_stale_form_without_javascript_answers_409_with_the_whole_page(
    nav_client, case, colleague
):
    # Given a version the case has moved on from
    opened_at = NavigationCase.objects.get(pk=case.pk).version
    change_elsewhere(case, colleague)
    before = snapshot(case)

    # When the attempt form is posted normally
    response = nav_client.post(
        reverse("navigator:attempt_create", args=[case.pk]),
        {"channel": "phone", "direction": "outbound", "outcome": "no_answer", "version": opened_at},
    )

    # Then the whole page comes back as a conflict, the message at the top of the form
    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" in html
    assert STALE in html and NOT_SAVED in html
    assert snapshot(case) == before


def test_a_form_drawn_from_the_current_version_saves(nav_client, case):
    version = NavigationCase.objects.get(pk=case.pk).version
    response = nav_client.post(
        reverse("navigator:note_create", args=[case.pk]),
        {"text": "Prefers Spanish-speaking staff", "version": version},
        **HTMX,
    )
    assert "Note added." in response.content.decode()
    note = CaseEvent.objects.get(case=case, kind=CaseEventKind.NOTE)
    assert note.data["text"] == "Prefers Spanish-speaking staff"
    assert NavigationCase.objects.get(pk=case.pk).version == version + 1


def test_a_stale_form_for_a_case_closed_meanwhile_says_so(nav_client, case, colleague):
    # Given the navigator's page, and a colleague who then declines the case
    opened_at = NavigationCase.objects.get(pk=case.pk).version
    cases.case_transition(
        case=case, to_status=CaseStatus.DECLINED, actor=colleague, note="not interested"
    )
    before = snapshot(case)

    # When the navigator logs an attempt from their page
    response = nav_client.post(
        reverse("navigator:attempt_create", args=[case.pk]),
        {"channel": "phone", "direction": "outbound", "outcome": "reached", "version": opened_at},
        **HTMX,
    )

    # Then they are told what happened, and nothing is written
    html = response.content.decode()
    assert STALE in html
    assert "Declined: not interested (rosa.manager)" in html
    assert snapshot(case) == before


def test_a_tampered_version_is_refused_with_a_clear_message(nav_client, case):
    before = snapshot(case)
    response = nav_client.post(
        reverse("navigator:attempt_create", args=[case.pk]),
        {"channel": "phone", "direction": "outbound", "outcome": "reached", "version": "abc"},
        **HTMX,
    )
    assert "lost track of the case; reload the case" in response.content.decode()
    assert snapshot(case) == before


# --- Stale changes through the API ---------------------------------------------------------


def api_posts(case, barrier, appointment) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/api/cases/{case.pk}"
    return [
        ("attempt", f"{base}/attempts/", {"channel": "phone", "outcome": "reached"}),
        ("note", f"{base}/notes/", {"text": "Prefers mornings"}),
        ("barrier", f"{base}/barriers/", {"barrier_type": "work-childcare"}),
        ("barrier update", f"{base}/barriers/{barrier.pk}/", {"status": "resolved"}),
        (
            "appointment",
            f"{base}/appointments/",
            {"scheduled_at": (timezone.now() + dt.timedelta(days=9)).isoformat(), "site": "X"},
        ),
        ("appointment outcome", f"{base}/appointments/{appointment.pk}/", {"status": "cancelled"}),
        (
            "screening",
            f"{base}/screening/",
            {
                "modality": "colonoscopy",
                "performed_on": timezone.localdate().isoformat(),
                "result": "normal",
            },
        ),
        ("status", f"{base}/transition/", {"status": "declined", "note": "no"}),
        (
            "follow-up",
            f"{base}/follow-up/",
            {"next_follow_up": (timezone.localdate() + dt.timedelta(days=5)).isoformat()},
        ),
    ]


@pytest.mark.parametrize("endpoint", FORM_NAMES)
def test_the_api_answers_409_to_a_stale_version_and_saves_nothing(
    case, barrier, appointment, colleague, endpoint
):
    # Given a client that read the case, and a colleague who then changed it
    client = api_as(case.navigator.user)
    read = client.get(f"/api/cases/{case.pk}/").json()["version"]
    changed = change_elsewhere(case, colleague)
    before = snapshot(case)
    name, url, data = next(p for p in api_posts(case, barrier, appointment) if p[0] == endpoint)

    # When it posts its change with the version it read
    response = client.post(url, {**data, "version": read}, format="json")

    # Then it is a conflict that says what changed, and nothing is written
    assert response.status_code == 409, response.content
    message = response.json()["version"][0]
    assert STALE in message and changed in message
    assert snapshot(case) == before

    # And with the current version the same change goes through
    response = client.post(url, {**data, "version": before.version}, format="json")
    assert response.status_code in (200, 201), response.content


def test_the_api_still_takes_a_change_without_a_version(case):
    client = api_as(case.navigator.user)
    response = client.post(
        f"/api/cases/{case.pk}/notes/", {"text": "Called the pharmacy"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["version"] == NavigationCase.objects.get(pk=case.pk).version
    assert response.json()["timeline"][0]["summary"] == "Called the pharmacy"


# --- The other bad inputs ------------------------------------------------------------


def test_booking_an_appointment_in_the_past_is_refused_and_writes_nothing(nav_client, case):
    before = snapshot(case)
    response = nav_client.post(
        reverse("navigator:appointment_create", args=[case.pk]),
        {"scheduled_at": in_local(-1), "site": "GI Suite", "version": before.version},
        **HTMX,
    )
    assert "An appointment must be in the future." in response.content.decode()
    assert snapshot(case) == before

    response = api_as(case.navigator.user).post(
        f"/api/cases/{case.pk}/appointments/",
        {"scheduled_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(), "site": "X"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["scheduled_at"] == ["An appointment must be in the future."]
    assert snapshot(case) == before


def test_logging_an_attempt_on_a_closed_case_is_refused_and_writes_nothing(nav_client, case):
    cases.case_transition(case=case, to_status=CaseStatus.INELIGIBLE, actor=None, note="moved")
    before = snapshot(case)
    response = nav_client.post(
        reverse("navigator:attempt_create", args=[case.pk]),
        {"channel": "phone", "direction": "outbound", "outcome": "reached", "version": 99},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    # The stale version is what is reported first: the case changed, and is now closed.
    assert STALE in html or "it can no longer change" in html
    assert snapshot(case) == before

    response = nav_client.post(
        reverse("navigator:attempt_create", args=[case.pk]),
        {"channel": "phone", "direction": "outbound", "outcome": "reached"},
        **HTMX,
    )
    assert "This case is ineligible; it can no longer change." in response.content.decode()
    assert snapshot(case) == before

    response = api_as(case.navigator.user).post(
        f"/api/cases/{case.pk}/attempts/", {"channel": "phone", "outcome": "reached"}
    )
    assert response.status_code == 400
    assert response.json()["case"] == ["This case is ineligible; it can no longer change."]
    assert snapshot(case) == before


def test_resolving_a_barrier_that_is_not_on_the_case_is_refused_and_writes_nothing(
    nav_client, case, navigator
):
    # Given a barrier on another of the navigator's own cases
    other = factories.CaseFactory(navigator=navigator)
    elsewhere = barrier_add(
        case=other,
        barrier_type=BarrierType.objects.get(code="transportation"),
        actor=navigator.user,
    )
    before, other_before = snapshot(case), snapshot(other)

    # When it is resolved through this case's page and API
    url = reverse("navigator:barrier_update", args=[case.pk, elsewhere.pk])
    assert nav_client.post(url, {"status": "resolved"}, **HTMX).status_code == 404
    assert nav_client.post(url, {"status": "resolved"}).status_code == 404
    response = api_as(navigator.user).post(
        f"/api/cases/{case.pk}/barriers/{elsewhere.pk}/", {"status": "resolved"}
    )
    assert response.status_code == 404

    # Then neither case changed
    assert snapshot(case) == before
    assert snapshot(other) == other_before
    elsewhere.refresh_from_db()
    assert elsewhere.status == BarrierStatus.IDENTIFIED


def test_closing_a_case_without_a_reason_is_refused_and_writes_nothing(nav_client, case):
    before = snapshot(case)
    for status in ("declined", "ineligible", "closed_unreachable"):
        response = nav_client.post(
            reverse("navigator:case_transition", args=[case.pk]),
            {"status": status, "note": "  ", "version": before.version},
            **HTMX,
        )
        assert "; the reason goes on the timeline." in response.content.decode(), status
        assert "note" in response.context["status_form"].errors
    assert snapshot(case) == before

    # With a reason, it closes and the reason is on the timeline
    nav_client.post(
        reverse("navigator:case_transition", args=[case.pk]),
        {"status": "declined", "note": "Prefers to wait a year", "version": before.version},
        **HTMX,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.DECLINED
    assert case.events.filter(summary__contains="Prefers to wait a year").exists()


def test_enter_in_an_attempt_field_without_javascript_logs_nothing(nav_client, case):
    # Given the page without its script, Enter in a field presses the form's first
    # submit button, which chooses no outcome
    html = nav_client.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()
    form = html[html.index('data-testid="attempt-form"') :]
    first_button = form[form.index("<button") : form.index("</button>")]
    assert 'name="outcome" value=""' in first_button
    before = snapshot(case)

    # When it is posted, then the attempt is refused, not logged as any outcome
    response = nav_client.post(
        reverse("navigator:attempt_create", args=[case.pk]),
        {"channel": "phone", "direction": "outbound", "outcome": "", "version": before.version},
    )
    assert response.status_code == 400
    assert "Choose the outcome: each outcome button logs the attempt." in (
        response.content.decode()
    )
    assert snapshot(case) == before


def test_a_note_must_say_something(nav_client, case):
    before = snapshot(case)
    response = nav_client.post(
        reverse("navigator:note_create", args=[case.pk]), {"text": "   "}, **HTMX
    )
    assert "Write the note first." in response.content.decode()
    assert snapshot(case) == before
    response = api_as(case.navigator.user).post(
        f"/api/cases/{case.pk}/notes/", {"text": "x" * 2001}, format="json"
    )
    assert response.status_code == 400
    assert snapshot(case) == before


def test_a_note_on_another_navigators_case_is_not_found_and_writes_nothing(nav_client):
    theirs = factories.CaseFactory()
    before = snapshot(theirs)
    url = reverse("navigator:note_create", args=[theirs.pk])
    assert nav_client.post(url, {"text": "Hello"}, **HTMX).status_code == 404
    navigator = factories.NavigatorFactory()
    response = api_as(navigator.user).post(
        f"/api/cases/{theirs.pk}/notes/", {"text": "Hello"}, format="json"
    )
    assert response.status_code == 404
    assert snapshot(theirs) == before


def test_a_diagnostic_booking_needs_a_result_calling_for_a_follow_up(nav_client, case):
    # Given a case without any screening, a diagnostic booking is refused
    before = snapshot(case)
    response = nav_client.post(
        reverse("navigator:appointment_create", args=[case.pk]),
        {"purpose": "diagnostic", "scheduled_at": in_local(4), "site": "GI"},
        **HTMX,
    )
    assert "No result on this case calls for a follow-up test." in (response.content.decode())
    assert snapshot(case) == before

    # Given an abnormal FIT, the page offers the diagnostic colonoscopy, and books it
    fit = ScreeningModality.objects.get(program__code="colorectal", code="fit")
    case_record_screening(
        case=case,
        modality=fit,
        performed_on=timezone.localdate(),
        result="abnormal",
        actor=case.navigator.user,
    )
    html = nav_client.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()
    assert 'data-testid="diagnostic-form"' in html
    assert "Book the follow-up: diagnostic colonoscopy" in html
    response = nav_client.post(
        reverse("navigator:appointment_create", args=[case.pk]),
        {"purpose": "diagnostic", "scheduled_at": in_local(4), "site": "GI Suite"},
        **HTMX,
    )
    assert "Diagnostic appointment booked." in response.content.decode()
    booked = Appointment.objects.get(case=case, purpose=AppointmentPurpose.DIAGNOSTIC)
    assert (booked.status, booked.modality) == (AppointmentStatus.BOOKED, colonoscopy())
    assert 'data-testid="diagnostic-form"' not in response.content.decode()


# --- Notes only add: they never conflict ------------------------------------------------------


def test_a_note_written_on_an_old_page_is_saved_whatever_changed_since(nav_client, case, colleague):
    # Given the case page as the navigator opened it, then a colleague's change
    opened_at = NavigationCase.objects.get(pk=case.pk).version
    change_elsewhere(case, colleague)

    # When the navigator adds a note from the page they had open
    response = nav_client.post(
        reverse("navigator:note_create", args=[case.pk]),
        {"text": "Prefers mornings", "version": opened_at},
        **HTMX,
    )

    # Then the note is saved, with no word of a conflict
    assert STALE not in response.content.decode()
    assert "Note added." in response.content.decode()
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.NOTE).get().summary == (
        "Prefers mornings"
    )


@pytest.mark.parametrize("form_name", ["status", "follow-up", "barrier update"])
def test_a_note_added_elsewhere_does_not_make_an_open_form_stale(
    nav_client, case, barrier, appointment, colleague, form_name
):
    # Given the case page as the navigator opened it, then a colleague's note
    opened_at = NavigationCase.objects.get(pk=case.pk).version
    case_note_add(case=case, text="Patient called back about the date", actor=colleague)
    before = snapshot(case)
    post = next(p for p in form_posts(case, barrier, appointment) if p.name == form_name)

    # When the navigator submits the form they had open
    response = nav_client.post(post.url, {**post.data, "version": opened_at}, **HTMX)

    # Then it is saved: a note changed nothing the form could overwrite
    assert STALE not in response.content.decode()
    assert snapshot(case) != before


def test_a_note_and_a_real_change_since_still_refuse_the_form_naming_the_change(
    nav_client, case, colleague
):
    # Given a page opened before a colleague's note and a colleague's change
    opened_at = NavigationCase.objects.get(pk=case.pk).version
    case_note_add(case=case, text="Patient called back about the date", actor=colleague)
    changed = change_elsewhere(case, colleague)
    before = snapshot(case)

    # When the navigator sets the follow-up from the page they had open
    response = nav_client.post(
        reverse("navigator:follow_up_set", args=[case.pk]),
        {"next_follow_up": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
         "version": opened_at},
        **HTMX,
    )  # fmt: skip

    # Then it is refused, naming the change, and nothing is saved
    assert STALE in response.content.decode()
    assert changed in response.content.decode()
    assert snapshot(case) == before


def test_two_notes_written_from_the_same_version_through_the_api_are_both_kept(case, colleague):
    # Given two people who read the case at the same version
    navigator_api, manager_api = api_as(case.navigator.user), api_as(colleague)
    read = navigator_api.get(f"/api/cases/{case.pk}/").json()["version"]

    # When each adds a note, sending the version they read
    first = navigator_api.post(
        f"/api/cases/{case.pk}/notes/", {"text": "Left a voicemail", "version": read}, format="json"
    )
    second = manager_api.post(
        f"/api/cases/{case.pk}/notes/", {"text": "Spoke to the clinic", "version": read},
        format="json",
    )  # fmt: skip

    # Then both are kept
    assert (first.status_code, second.status_code) == (201, 201)
    notes = CaseEvent.objects.filter(case=case, kind=CaseEventKind.NOTE).order_by("pk")
    assert [note.summary for note in notes] == ["Left a voicemail", "Spoke to the clinic"]


def test_review12_a_real_change_followed_by_three_notes_is_still_named(nav_client, case, colleague):
    opened_at = NavigationCase.objects.get(pk=case.pk).version
    changed = change_elsewhere(case, colleague)
    for text in ("note one", "note two", "note three"):
        case_note_add(case=case, text=text, actor=colleague)

    response = nav_client.post(
        reverse("navigator:follow_up_set", args=[case.pk]),
        {"next_follow_up": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
         "version": opened_at},
        **HTMX,
    )  # fmt: skip

    assert STALE in response.content.decode()
    # The refusal names what could be overwritten, not only the last three notes
    html = response.content.decode()
    start = html.index(STALE)
    message = html[start : html.index(NOT_SAVED, start)]
    assert changed in message, message
