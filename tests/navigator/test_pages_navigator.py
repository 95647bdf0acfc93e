"""The navigator's pages: worklist, case page and its quick forms, the manager's case list."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from navigator import cases
from navigator.models import (
    Appointment,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEvent,
    CaseStatus,
)
from navigator.services.appointments import appointment_book, appointment_set_status
from outreach.models import ContactAttempt, FollowUpReminder
from patients.models import CareGap, CareGapStatus, ScreeningEvent, ScreeningModality
from patients.services.care_gaps import care_gaps_recompute
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def case_url(name: str, case, *args) -> str:
    return reverse(f"navigator:{name}", args=[case.pk, *args])


def attempt_data(**overrides) -> dict:
    return {"channel": "phone", "direction": "outbound", "outcome": "reached", **overrides}


def future_local(days: int = 3) -> str:
    moment = timezone.localtime() + dt.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def case(navigator):
    return factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Ana",
        patient__family_name="Silva",
        patient__phone="+16175550123",
    )


@pytest.fixture
def other_case(db):
    return factories.CaseFactory(patient__given_name="Other", patient__family_name="Person")


@pytest.fixture
def nav_client(client, navigator):
    client.force_login(navigator.user)
    return client


# --- Home pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_user", "home"),
    [
        (lambda: factories.NavigatorFactory().user, "navigator:worklist"),
        (lambda: factories.ManagerFactory(), "navigator:equity"),
        (lambda: factories.AdminFactory(), "navigator:equity"),
        (lambda: factories.ClinicStaffFactory(), "patients:referral_list"),
    ],
    ids=["navigator", "manager", "admin", "clinic_staff"],
)
def test_it_sends_each_role_to_its_own_home_page(client, make_user, home):
    # Given a signed-in user of some role
    user = make_user()
    client.force_login(user)

    # When they open the site root
    response = client.get("/", follow=True)

    # Then they land on their home page, which shows their name and a logout button
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse(home)
    html = response.content.decode()
    assert user.get_full_name() in html
    assert f'action="{reverse("logout")}"' in html


def test_it_asks_an_anonymous_visitor_to_sign_in(client):
    # Given nobody signed in, when they open a case page, then they go to the login page
    response = client.get(reverse("navigator:worklist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))

    login = client.get(reverse("login"))
    assert login.status_code == 200
    assert 'aria-label="Sign in"' in login.content.decode()


def test_it_logs_a_user_in_through_the_login_page(client, navigator):
    # Given a navigator with a password, when they sign in on the login page
    response = client.post(
        reverse("login"),
        {"username": navigator.user.username, "password": factories.PASSWORD},
        follow=True,
    )
    # Then they land on their worklist
    assert response.redirect_chain[-1][0] == reverse("navigator:worklist")


def test_it_serves_htmx_from_static_files_not_a_cdn(nav_client):
    html = nav_client.get(reverse("navigator:worklist")).content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert 'hx-headers=\'{"X-CSRFToken": ' in html
    assert "https://" not in html.split("</head>")[0]


# --- Worklist -------------------------------------------------------------------------------


def test_it_lists_the_navigators_open_cases_with_badges_and_reminders(nav_client, navigator):
    # Given an overdue case needing an interpreter with a reminder, and a case due later
    today = timezone.localdate()
    overdue = factories.CaseFactory(
        navigator=navigator,
        next_follow_up=today - dt.timedelta(days=3),
        needs_interpreter=True,
        patient__family_name="Overdue",
        patient__preferred_language="es",
    )
    later = factories.CaseFactory(
        navigator=navigator,
        next_follow_up=today + dt.timedelta(days=5),
        patient__family_name="Later",
    )
    FollowUpReminder.objects.create(case=overdue, navigator=navigator, due_on=today)
    closed = factories.CaseFactory(
        navigator=navigator, status=CaseStatus.DECLINED, patient__family_name="Declined"
    )
    someone_elses = factories.CaseFactory(patient__family_name="Elsewhere")

    # When the navigator opens the worklist
    response = nav_client.get(reverse("navigator:worklist"))

    # Then the overdue case comes first, flagged, and the others are not listed
    assert response.status_code == 200
    html = response.content.decode()
    assert [c.pk for c in response.context["cases"]] == [overdue.pk, later.pk]
    assert html.index("Overdue,") < html.index("Later,")
    assert "Declined," not in html
    assert "Elsewhere," not in html
    assert closed.pk not in [c.pk for c in response.context["cases"]]
    assert someone_elses.pk not in [c.pk for c in response.context["cases"]]
    assert "badge--interpreter" in html
    assert "badge--overdue" in html
    assert "badge--reminder" in html
    assert "Spanish" in html
    assert [r.case_id for r in response.context["reminders"]] == [overdue.pk]


@pytest.mark.parametrize("role_factory", [factories.ManagerFactory, factories.ClinicStaffFactory])
def test_it_refuses_the_worklist_to_other_roles(client, role_factory):
    client.force_login(role_factory())
    assert client.get(reverse("navigator:worklist")).status_code == 403


def _add_cases(navigator, count: int) -> None:
    for _ in range(count):
        case = factories.CaseFactory(navigator=navigator, patient__phone="+16175550100")
        ContactAttempt.objects.create(
            case=case, channel="phone", outcome="no_answer", created_by=navigator.user
        )
        CaseBarrier.objects.create(
            case=case, barrier_type=BarrierType.objects.first(), created_by=navigator.user
        )
        FollowUpReminder.objects.create(case=case, navigator=navigator, due_on=timezone.localdate())


def test_it_renders_the_worklist_in_a_fixed_number_of_queries(
    nav_client, navigator, django_assert_max_num_queries
):
    # Given 3 cases, the queries one worklist page takes
    _add_cases(navigator, 3)
    nav_client.get(reverse("navigator:worklist"))
    with CaptureQueriesContext(connection) as few:
        response = nav_client.get(reverse("navigator:worklist"))
    assert len(response.context["cases"]) == 3

    # When there are 30 cases
    _add_cases(navigator, 27)

    # Then the page takes no more queries
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = nav_client.get(reverse("navigator:worklist"))
    assert len(response.context["cases"]) == 30
    assert response.content.decode().count("badge--reminder") == 30


# --- Case page --------------------------------------------------------------------------------


def test_it_shows_the_case_page_with_patient_summary_and_every_form(nav_client, case):
    # When the navigator opens their case
    response = nav_client.get(case_url("case_detail", case))

    # Then the patient summary, the timeline and every quick form are there
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ana Silva" in html
    assert case.patient.mrn in html
    assert 'href="tel:+16175550123"' in html
    for testid in (
        "attempt-form",
        "barrier-form",
        "appointment-form",
        "screening-form",
        "status-form",
        "timeline",
        "case-status",
    ):
        assert f'data-testid="{testid}"' in html
    for label in (
        'aria-label="Log a contact attempt"',
        ">Log attempt<",
        ">Add barrier<",
        ">Book appointment<",
        ">Record screening<",
        ">Change status<",
        ">Set follow-up<",
    ):
        assert label in html
    # Reassigning is for managers only.
    assert "Reassign" not in html


def test_it_offers_only_legal_manual_status_moves(nav_client, case):
    # Given an assigned case, the status menu offers only what may follow by hand.
    # Closing as unreachable is not among them: it is proposed (by the outreach
    # protocol or the navigator) and a manager confirms it (tests/outreach/test_protocols.py).
    form = nav_client.get(case_url("case_detail", case)).context["status_form"]
    offered = [value for value, _ in form.fields["status"].widget.choices if value]
    assert offered == ["contacting", "declined", "ineligible"]


def test_it_logs_an_attempt_with_htmx_and_returns_the_case_partial(nav_client, case):
    # When the navigator logs an attempt through HTMX
    response = nav_client.post(
        case_url("attempt_create", case),
        attempt_data(note="Spoke with daughter", interpreter_used="on"),
        **HTMX,
    )

    # Then a partial comes back, and the attempt exists with the case now contacting
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="case-dynamic"' in html
    assert "Contact attempt logged." in html
    attempt = ContactAttempt.objects.get(case=case)
    assert attempt.note == "Spoke with daughter"
    assert attempt.interpreter_used is True
    assert attempt.created_by == case.navigator.user
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTING
    assert case.next_follow_up == timezone.localdate() + dt.timedelta(days=7)
    assert "Outbound phone: reached" in html


def test_it_logs_an_attempt_without_javascript_and_redirects_back(nav_client, case):
    # When the same form is posted without HTMX, with an explicit follow-up date
    follow_up = timezone.localdate() + dt.timedelta(days=4)
    response = nav_client.post(
        case_url("attempt_create", case),
        attempt_data(outcome="no_answer", next_follow_up=follow_up.isoformat()),
    )

    # Then it redirects back to the case page, and the follow-up is the one chosen
    assert response.status_code == 302
    assert response["Location"].startswith(case_url("case_detail", case))
    case.refresh_from_db()
    assert case.next_follow_up == follow_up
    assert ContactAttempt.objects.filter(case=case).count() == 1


def test_it_shows_attempt_errors_next_to_their_fields_and_writes_nothing(nav_client, case):
    # When the attempt has no outcome and a follow-up in the past
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = nav_client.post(
        case_url("attempt_create", case),
        attempt_data(outcome="", next_follow_up=yesterday.isoformat()),
        **HTMX,
    )

    # Then the form comes back with the outcome error and nothing is written
    assert response.status_code == 200
    form = response.context["attempt_form"]
    assert "outcome" in form.errors
    assert 'id="attempt_outcome_error"' in response.content.decode()
    assert not ContactAttempt.objects.exists()

    # And a follow-up in the past is refused by the service, on its field
    response = nav_client.post(
        case_url("attempt_create", case),
        attempt_data(next_follow_up=yesterday.isoformat()),
        **HTMX,
    )
    assert "next_follow_up" in response.context["attempt_form"].errors
    assert not ContactAttempt.objects.exists()


def test_it_answers_400_with_the_full_page_for_a_bad_post_without_javascript(nav_client, case):
    response = nav_client.post(case_url("attempt_create", case), attempt_data(channel="pigeon"))
    assert response.status_code == 400
    assert "<html" in response.content.decode()
    assert "channel" in response.context["attempt_form"].errors
    assert not ContactAttempt.objects.exists()


def test_it_adds_and_then_resolves_a_barrier(nav_client, case):
    # Given a barrier type
    transport = BarrierType.objects.get(code="transportation")

    # When the navigator adds it
    response = nav_client.post(
        case_url("barrier_create", case),
        {"barrier_type": transport.pk, "note": "No car"},
        **HTMX,
    )

    # Then it is on the case, identified
    assert response.status_code == 200
    barrier = CaseBarrier.objects.get(case=case)
    assert barrier.status == BarrierStatus.IDENTIFIED
    assert "No car" in response.content.decode()

    # When they record the action taken, then resolve it
    nav_client.post(
        case_url("barrier_update", case, barrier.pk),
        {"status": "action_taken", "action": "Booked a ride"},
        **HTMX,
    )
    response = nav_client.post(
        case_url("barrier_update", case, barrier.pk), {"status": "resolved"}, **HTMX
    )

    # Then the barrier is resolved, and the timeline says so
    barrier.refresh_from_db()
    assert barrier.status == BarrierStatus.RESOLVED
    assert barrier.action == "Booked a ride"
    assert "Barrier Transportation: resolved" in response.content.decode()


def test_it_groups_barrier_types_by_category(nav_client, case):
    form = nav_client.get(case_url("case_detail", case)).context["barrier_form"]
    groups = [label for label, _ in form.fields["barrier_type"].choices if label]
    assert "Transportation" in groups and "Financial" in groups
    html = nav_client.get(case_url("case_detail", case)).content.decode()
    assert '<optgroup label="Financial">' in html


def test_it_shows_the_services_refusal_of_a_duplicate_barrier(nav_client, case):
    transport = BarrierType.objects.get(code="transportation")
    nav_client.post(case_url("barrier_create", case), {"barrier_type": transport.pk}, **HTMX)
    response = nav_client.post(
        case_url("barrier_create", case), {"barrier_type": transport.pk}, **HTMX
    )
    assert "already an open barrier" in str(response.context["barrier_form"].errors["barrier_type"])
    assert CaseBarrier.objects.filter(case=case).count() == 1


def test_it_refuses_to_move_a_barrier_back(nav_client, case):
    barrier = CaseBarrier.objects.create(
        case=case,
        barrier_type=BarrierType.objects.get(code="transportation"),
        status=BarrierStatus.RESOLVED,
        created_by=case.navigator.user,
    )
    response = nav_client.post(
        case_url("barrier_update", case, barrier.pk), {"status": "identified"}, **HTMX
    )
    assert response.status_code == 200
    assert "cannot go back" in response.content.decode()
    barrier.refresh_from_db()
    assert barrier.status == BarrierStatus.RESOLVED


def test_it_404s_a_barrier_of_another_case(nav_client, case, navigator):
    # Given a barrier on another of the navigator's own cases
    second = factories.CaseFactory(navigator=navigator)
    barrier = CaseBarrier.objects.create(
        case=second,
        barrier_type=BarrierType.objects.get(code="transportation"),
        created_by=navigator.user,
    )
    # When it is updated through the first case's URL, then it is not found
    response = nav_client.post(
        case_url("barrier_update", case, barrier.pk), {"status": "resolved"}, **HTMX
    )
    assert response.status_code == 404
    barrier.refresh_from_db()
    assert barrier.status == BarrierStatus.IDENTIFIED


def test_it_books_a_future_appointment(nav_client, case):
    modality = ScreeningModality.objects.filter(program=case.program).first()
    response = nav_client.post(
        case_url("appointment_create", case),
        {"scheduled_at": future_local(), "site": "GI Suite", "modality": modality.pk},
        **HTMX,
    )
    assert response.status_code == 200
    appointment = Appointment.objects.get(case=case)
    assert appointment.site == "GI Suite"
    assert appointment.modality == modality
    case.refresh_from_db()
    assert case.status == CaseStatus.SCHEDULED
    assert "GI Suite" in response.content.decode()


def test_it_rejects_a_past_appointment_and_shows_why(nav_client, case):
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = nav_client.post(
        case_url("appointment_create", case), {"scheduled_at": past, "site": "GI Suite"}, **HTMX
    )
    assert response.status_code == 200
    errors = response.context["appointment_form"].errors
    assert "must be in the future" in str(errors["scheduled_at"])
    assert "must be in the future" in response.content.decode()
    assert not Appointment.objects.exists()
    case.refresh_from_db()
    assert case.status == CaseStatus.ASSIGNED


def test_it_limits_appointment_modalities_to_the_case_program(nav_client, case):
    mammogram = ScreeningModality.objects.filter(program__code="breast").first()
    response = nav_client.post(
        case_url("appointment_create", case),
        {"scheduled_at": future_local(), "site": "X", "modality": mammogram.pk},
        **HTMX,
    )
    assert "modality" in response.context["appointment_form"].errors
    assert not Appointment.objects.exists()


def test_it_records_a_no_show_and_the_case_goes_back_to_contacting(nav_client, case):
    appointment = appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(hours=2),
        site="Clinic",
        actor=case.navigator.user,
    )
    page = nav_client.get(case_url("case_detail", case)).content.decode()
    # Before its time, the only outcome offered is cancelling it
    outcome_form = page.split('data-testid="appointment-outcome-form"')[1].split("</form>")[0]
    assert ">Cancelled</button>" in outcome_form
    assert ">No-show</button>" not in outcome_form and ">Kept</button>" not in outcome_form

    with time_machine.travel(appointment.scheduled_at + dt.timedelta(hours=1), tick=False):
        page = nav_client.get(case_url("case_detail", case)).content.decode()
        assert ">No-show</button>" in page
        response = nav_client.post(
            case_url("appointment_update", case, appointment.pk), {"status": "no_show"}, **HTMX
        )
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTING


def test_it_records_the_screening_and_completes_the_case(nav_client, case):
    modality = ScreeningModality.objects.filter(program=case.program).first()
    response = nav_client.post(
        case_url("screening_create", case),
        {
            "modality": modality.pk,
            "performed_on": timezone.localdate().isoformat(),
            "result": "normal",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert ScreeningEvent.objects.filter(case=case, result="normal").exists()
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    html = response.content.decode()
    assert "Screening complete" in html
    # A completed case books no more appointments and records no second screening.
    assert 'data-testid="appointment-form"' not in html
    assert 'data-testid="screening-form"' not in html


def test_recording_the_screening_brings_the_screening_status_up_to_date_in_the_same_answer(
    nav_client, case
):
    # Given a case whose patient the care-gap engine found overdue
    care_gaps_recompute(patient_ids=[case.patient_id], as_of=timezone.localdate())
    gap = CareGap.objects.get(patient=case.patient, program=case.program)
    assert gap.status == CareGapStatus.OVERDUE
    page = nav_client.get(case_url("case_detail", case)).content.decode()
    assert gap.summary in page

    # When the navigator records a normal colonoscopy done today
    colonoscopy = ScreeningModality.objects.get(program=case.program, code="colonoscopy")
    response = nav_client.post(
        case_url("screening_create", case),
        {"modality": colonoscopy.pk, "performed_on": timezone.localdate().isoformat(),
         "result": "normal"},
        **HTMX,
    )  # fmt: skip

    # Then the same answer shows the status that screening gives: no "overdue" beside
    # "completed", no waiting for the nightly run
    gap.refresh_from_db()
    assert gap.status == CareGapStatus.UP_TO_DATE
    assert gap.last_screening_on == timezone.localdate()
    status_block = response.content.decode().split('data-testid="screening-status"')[1]
    status_block = status_block.split("</div>")[0]
    assert "Up to date" in status_block
    assert "Overdue" not in status_block


def test_it_shows_the_refusal_of_a_second_screening_from_a_stale_page(nav_client, case):
    # Given a case whose screening is already recorded
    modality = ScreeningModality.objects.filter(program=case.program).first()
    data = {
        "modality": modality.pk,
        "performed_on": timezone.localdate().isoformat(),
        "result": "normal",
    }
    nav_client.post(case_url("screening_create", case), data, **HTMX)

    # When the form is posted again (from a page opened before)
    response = nav_client.post(case_url("screening_create", case), data, **HTMX)

    # Then the refusal is shown on the form, which comes back for it, and nothing is added
    assert 'data-testid="screening-form"' in response.content.decode()
    assert "already recorded" in response.content.decode()
    assert ScreeningEvent.objects.filter(case=case).count() == 1


def test_it_shows_the_refusal_of_an_outcome_for_a_settled_appointment(nav_client, case):
    appointment = appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=2),
        site="Clinic",
        actor=case.navigator.user,
    )
    appointment_set_status(appointment=appointment, status="cancelled", actor=case.navigator.user)
    response = nav_client.post(
        case_url("appointment_update", case, appointment.pk), {"status": "kept"}, **HTMX
    )
    assert "already cancelled" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


def test_it_rejects_an_illegal_status_move_and_changes_nothing(nav_client, case):
    # Given an assigned case, when "closed" (only legal after completion) is posted anyway
    events_before = CaseEvent.objects.filter(case=case).count()
    response = nav_client.post(
        case_url("case_transition", case), {"status": "closed", "note": "sneaky"}, **HTMX
    )

    # Then the service's refusal is shown on the status field and nothing changes
    assert response.status_code == 200
    assert "cannot move from assigned to closed" in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.ASSIGNED
    assert CaseEvent.objects.filter(case=case).count() == events_before


def test_it_closes_a_case_and_then_shows_no_action_forms(nav_client, case):
    response = nav_client.post(
        case_url("case_transition", case), {"status": "declined", "note": "not interested"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DECLINED

    html = nav_client.get(case_url("case_detail", case)).content.decode()
    for testid in ("attempt-form", "barrier-form", "appointment-form", "screening-form"):
        assert f'data-testid="{testid}"' not in html
    assert "can no longer change" in html


def test_it_shows_the_refusal_when_a_closed_case_is_posted_to(nav_client, case):
    cases.case_transition(case=case, to_status=CaseStatus.DECLINED, actor=None)
    response = nav_client.post(case_url("attempt_create", case), attempt_data(), **HTMX)
    assert response.status_code == 200
    assert "it can no longer change" in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_it_sets_the_next_follow_up_and_refuses_a_past_one(nav_client, case):
    day = timezone.localdate() + dt.timedelta(days=10)
    nav_client.post(case_url("follow_up_set", case), {"next_follow_up": day.isoformat()}, **HTMX)
    case.refresh_from_db()
    assert case.next_follow_up == day

    past = timezone.localdate() - dt.timedelta(days=1)
    response = nav_client.post(
        case_url("follow_up_set", case), {"next_follow_up": past.isoformat()}, **HTMX
    )
    assert "cannot be in the past" in str(response.context["follow_up_form"].errors)
    case.refresh_from_db()
    assert case.next_follow_up == day


def test_it_never_500s_on_garbage_input(nav_client, case):
    posts = [
        ("attempt_create", {"channel": "x" * 500, "next_follow_up": "99999-99-99"}),
        ("barrier_create", {"barrier_type": "not-a-number"}),
        ("appointment_create", {"scheduled_at": "9999-12-31T23:59", "site": "X"}),
        ("appointment_create", {"scheduled_at": "2026-02-30T10:00", "site": "X"}),
        ("screening_create", {"modality": "999999", "performed_on": "0000-00-00"}),
        ("case_transition", {"status": "exploded"}),
        ("follow_up_set", {"next_follow_up": "9999-12-31"}),
    ]
    for name, data in posts:
        response = nav_client.post(case_url(name, case), data, **HTMX)
        assert response.status_code == 200, name
        assert 'role="alert"' in response.content.decode(), name
    case.refresh_from_db()
    assert case.status == CaseStatus.ASSIGNED
    assert not Appointment.objects.exists()


# --- Scoping ------------------------------------------------------------------------------


def test_it_404s_another_navigators_case_and_its_action_urls(nav_client, other_case):
    # Given a case belonging to another navigator
    barrier = CaseBarrier.objects.create(
        case=other_case,
        barrier_type=BarrierType.objects.get(code="transportation"),
        created_by=other_case.navigator.user,
    )
    appointment = appointment_book(
        case=other_case,
        scheduled_at=timezone.now() + dt.timedelta(days=2),
        site="Clinic",
        actor=other_case.navigator.user,
    )
    other_case.refresh_from_db()
    events_before = CaseEvent.objects.filter(case=other_case).count()

    # When our navigator opens it or posts to any of its forms
    assert nav_client.get(case_url("case_detail", other_case)).status_code == 404
    posts = [
        (case_url("attempt_create", other_case), attempt_data()),
        (case_url("barrier_create", other_case), {"barrier_type": barrier.barrier_type_id}),
        (case_url("barrier_update", other_case, barrier.pk), {"status": "resolved"}),
        (
            case_url("appointment_create", other_case),
            {"scheduled_at": future_local(), "site": "X"},
        ),
        (case_url("appointment_update", other_case, appointment.pk), {"status": "kept"}),
        (case_url("screening_create", other_case), {"result": "normal"}),
        (case_url("case_transition", other_case), {"status": "declined"}),
        (case_url("follow_up_set", other_case), {"next_follow_up": ""}),
    ]
    for url, data in posts:
        assert nav_client.post(url, data).status_code == 404, url
        assert nav_client.post(url, data, **HTMX).status_code == 404, url

    # Then nothing was written
    other_case.refresh_from_db()
    assert other_case.status == CaseStatus.SCHEDULED
    assert other_case.next_follow_up is not None
    assert not ContactAttempt.objects.exists()
    barrier.refresh_from_db()
    assert barrier.status == BarrierStatus.IDENTIFIED
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert CaseEvent.objects.filter(case=other_case).count() == events_before


def test_it_refuses_clinic_staff_every_case_page(client, clinic_staff, case):
    client.force_login(clinic_staff)
    assert client.get(case_url("case_detail", case)).status_code == 403
    assert client.post(case_url("attempt_create", case), attempt_data()).status_code == 403
    assert client.get(reverse("navigator:case_list")).status_code == 403
    assert not ContactAttempt.objects.exists()


def test_it_refuses_reassignment_to_a_navigator(nav_client, case):
    other = factories.NavigatorFactory()
    response = nav_client.post(case_url("case_assign", case), {"navigator": other.pk})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.navigator.user != other.user


def test_it_lets_a_manager_reassign_a_case(client, manager, case):
    # Given a manager and a Spanish-speaking navigator
    spanish = factories.NavigatorFactory(languages=["es"], user__first_name="Rosa")
    client.force_login(manager)

    # The case page offers the reassign form with the navigators' languages
    html = client.get(case_url("case_detail", case)).content.decode()
    assert 'data-testid="assign-form"' in html
    assert "(Spanish)" in html

    # When the manager reassigns the case
    response = client.post(case_url("case_assign", case), {"navigator": spanish.pk}, **HTMX)

    # Then the case has its new navigator
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.navigator == spanish
    assert "Case reassigned." in response.content.decode()


# --- Manager's case list --------------------------------------------------------------------


def test_it_lists_and_filters_all_cases_for_a_manager(client, manager, case, other_case):
    client.force_login(manager)
    response = client.get(reverse("navigator:case_list"))
    assert response.status_code == 200
    assert {c.pk for c in response.context["cases"]} == {case.pk, other_case.pk}

    response = client.get(reverse("navigator:case_list"), {"navigator": case.navigator_id})
    assert [c.pk for c in response.context["cases"]] == [case.pk]

    response = client.get(
        reverse("navigator:case_list"), {"status": "declined", "program": case.program_id}
    )
    assert list(response.context["cases"]) == []


def test_it_shows_a_filter_error_rather_than_failing(client, manager):
    client.force_login(manager)
    response = client.get(reverse("navigator:case_list"), {"status": "bogus", "page": "x"})
    assert response.status_code == 400
    assert "status" in response.context["form"].errors


def test_it_refuses_the_case_list_to_a_navigator(nav_client):
    assert nav_client.get(reverse("navigator:case_list")).status_code == 403


def test_it_lets_an_admin_open_any_case(client, case):
    client.force_login(factories.AdminFactory())
    assert client.get(case_url("case_detail", case)).status_code == 200
    assert client.get(reverse("navigator:case_list")).status_code == 200


def test_review12_a_refused_early_outcome_comes_back_offering_only_cancelled(nav_client, case):
    appointment = appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=2),
        site="Clinic",
        actor=case.navigator.user,
    )
    from navigator.models import NavigationCase

    version = NavigationCase.objects.get(pk=case.pk).version
    response = nav_client.post(
        case_url("appointment_update", case, appointment.pk),
        {"status": "kept", "version": version},
        **HTMX,
    )
    html = response.content.decode()
    assert "can be known only once it has begun" in html
    # The form that comes back still offers Kept and No-show for a future appointment
    assert 'value="kept"' not in html and 'value="no_show"' not in html


def test_the_screening_form_asks_when_the_result_came_back_and_refuses_a_day_before_the_test(
    nav_client, case
):
    colonoscopy = ScreeningModality.objects.get(program=case.program, code="colonoscopy")
    today = timezone.localdate()
    page = nav_client.get(case_url("case_detail", case)).content.decode()
    assert "Reported on" in page

    response = nav_client.post(
        case_url("screening_create", case),
        {"modality": colonoscopy.pk, "performed_on": today.isoformat(), "result": "normal",
         "resulted_on": (today - dt.timedelta(days=3)).isoformat()},
        **HTMX,
    )  # fmt: skip

    assert "A result cannot come back before its test" in response.content.decode()
    assert not ScreeningEvent.objects.filter(case=case).exists()
