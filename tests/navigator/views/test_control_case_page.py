"""A control programme's case page (navigator/views/control_case.py, coaching.py): no
screening test, kit or result; individual coaching (book, record, goals and their
review), education hours against Medicare's DSMT allowance, the group enrolment and
"enrol in the next series", and a lab copied from an outside report, which the care
gap and the trend read. Each role's scope, bad input changing nothing, and the page's
queries not growing with the coaching on it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from navigator.models import (
    CaseEvent,
    CoachingGoal,
    CoachingSession,
    GroupEnrolment,
)
from navigator.selectors import cases as case_selectors
from navigator.services.coaching import coaching_goal_set
from navigator.services.group_classes import group_attendance_record
from navigator.views.control_case import control_case_context
from outreach.models import InterpreterRequest, InterpreterRequestStatus
from patients.models import CareGap, ClinicalResource, Patient
from patients.services import care_gaps
from patients.services.labs import ENTERED_BY_STAFF_TAG
from tests import factories
from tests.support.fhir import diabetes, ehr_resource, hba1c

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


POOR_CONTROL = (hba1c("2026-02-01", 9.6),)


def control_case(navigator=None, labs=POOR_CONTROL, **patient):
    patient.setdefault("birth_date", dt.date(1970, 5, 1))
    person = factories.PatientFactory(**patient)
    ehr_resource(person, diabetes("2019-03-01"))
    for lab in labs:
        ehr_resource(person, lab)
    care_gaps.care_gaps_recompute(patient_ids=[person.pk], as_of=NOW.date())
    return factories.CaseFactory(
        patient=person,
        program=factories.program("diabetes"),
        navigator=navigator or factories.NavigatorFactory(),
    )


def page(client, case, **headers) -> str:
    response = client.get(reverse("navigator:case_detail", args=[case.pk]), **headers)
    assert response.status_code == 200
    return response.content.decode()


def post(client, name, case, *args, htmx=True, **data):
    url = reverse(f"navigator:{name}", args=[case.pk, *args])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(url, {"version": case.version, **data}, **headers)


# --- What the page offers ----------------------------------------------------------------


def test_a_control_case_offers_coaching_groups_hours_and_labs_not_a_screening(client):
    # Given a diabetes case
    case = control_case()
    client.force_login(case.navigator.user)

    # When its navigator opens it
    html = page(client, case)

    # Then it offers coaching, the hours, group classes, a lab and a lab visit
    for testid in (
        "coaching-form",
        "education-hours",
        "group-classes",
        "lab-form",
        "appointment-form",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert "Book a lab draw or clinic visit" in html
    assert "Diabetes control · case" in html
    # And nothing of a screening: no test to record, no kit, no screening test menu
    for testid in ("screening-form", "kit-form", "diagnostic-form"):
        assert f'data-testid="{testid}"' not in html, testid
    assert 'id="screenings"' not in html
    assert 'id="appointment_modality"' not in html
    assert "Record the screening result" not in html
    assert "Screening status and EHR data" not in html
    assert "Care gaps, labs and EHR data" in html


def test_a_screening_case_keeps_its_screening_forms_and_has_no_coaching(client):
    case = factories.CaseFactory()
    client.force_login(case.navigator.user)

    html = page(client, case)

    assert 'data-testid="screening-form"' in html
    assert 'data-testid="coaching-panel"' not in html
    assert 'data-testid="lab-form"' not in html
    assert "Screening status and EHR data" in html


# --- Individual coaching -------------------------------------------------------------------


def test_a_session_is_booked_in_the_patients_language_with_an_interpreter(client):
    # Given a Spanish-speaking patient who needs an interpreter, and an English-only coach
    case = control_case(preferred_language="es", interpreter_needed=True)
    client.force_login(case.navigator.user)

    # When the coach books a session without choosing a language
    response = post(
        client,
        "coaching_book",
        case,
        scheduled_at="2026-06-03T10:00",
        duration_minutes="45",
        topics=["healthy_eating", "monitoring"],
        language="es",
        interpreter_modality="video",
    )

    # Then the session is booked in Spanish, with a video interpreter requested
    assert response.status_code == 200
    session = CoachingSession.objects.get()
    assert (session.language, session.duration_minutes) == ("es", 45)
    assert session.topics == ["healthy_eating", "monitoring"]
    interpreter = InterpreterRequest.objects.get()
    assert (interpreter.language, interpreter.modality) == ("es", "video")
    assert interpreter.status == InterpreterRequestStatus.REQUESTED
    html = response.content.decode()
    assert "Coaching session booked" in html
    assert 'data-testid="coaching-session"' in html


def test_the_booking_form_defaults_to_the_patients_language(client):
    case = control_case(preferred_language="vi")
    client.force_login(case.navigator.user)

    html = page(client, case)

    form = html[html.index('data-testid="coaching-form"') :]
    assert '<option value="vi" selected>' in form


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("scheduled_at", "2026-05-30T10:00", "A session must be in the future."),
        ("duration_minutes", "600", "Ensure this value is less than or equal to 240."),
        ("topics", "flying", "Select a valid choice."),
    ],
)
def test_a_bad_booking_is_refused_and_changes_nothing(client, field, value, error):
    case = control_case()
    client.force_login(case.navigator.user)
    data = {
        "scheduled_at": "2026-06-03T10:00",
        "duration_minutes": "60",
        "language": "en",
        "interpreter_modality": "phone",
    }
    data[field] = value
    events = CaseEvent.objects.count()

    response = post(client, "coaching_book", case, htmx=False, **data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not CoachingSession.objects.exists()
    assert CaseEvent.objects.count() == events


def test_a_past_session_is_recorded_attended_with_minutes_and_topics(client):
    case = control_case()
    session = factories.CoachingSessionFactory(
        case=case, scheduled_at=NOW - dt.timedelta(hours=2), topics=["monitoring"]
    )
    client.force_login(case.navigator.user)

    response = post(
        client,
        "coaching_update",
        case,
        session.pk,
        status="attended",
        minutes_spent="50",
        topics=["healthy_eating", "taking_medication"],
    )

    assert response.status_code == 200
    session.refresh_from_db()
    assert (session.status, session.minutes_spent) == ("attended", 50)
    assert session.topics == ["healthy_eating", "taking_medication"]
    html = response.content.decode()
    assert "Attended (50 min)" in html
    # Attended: a goal may now be set in it
    assert 'data-testid="coaching-goal-form"' in html


def test_an_upcoming_session_can_only_be_cancelled(client):
    case = control_case()
    session = factories.CoachingSessionFactory(case=case)  # two days ahead
    client.force_login(case.navigator.user)

    refused = post(client, "coaching_update", case, session.pk, htmx=False, status="attended")
    cancelled = post(client, "coaching_update", case, session.pk, status="cancelled")

    assert refused.status_code == 400
    assert "has not begun" in refused.content.decode()
    assert cancelled.status_code == 200
    session.refresh_from_db()
    assert session.status == "cancelled"


def test_minutes_for_a_missed_session_are_refused(client):
    case = control_case()
    session = factories.CoachingSessionFactory(case=case, scheduled_at=NOW - dt.timedelta(hours=2))
    client.force_login(case.navigator.user)

    response = post(
        client, "coaching_update", case, session.pk, htmx=False, status="missed", minutes_spent="30"
    )

    assert response.status_code == 400
    assert "Minutes are for a session attended." in response.content.decode()
    session.refresh_from_db()
    assert session.status == "scheduled"


def test_a_goal_is_set_in_one_session_and_reviewed_in_a_later_one(client):
    # Given two attended sessions
    case = control_case()
    first = factories.CoachingSessionFactory(
        case=case, scheduled_at=NOW - dt.timedelta(days=14), status="attended", minutes_spent=60
    )
    later = factories.CoachingSessionFactory(
        case=case, scheduled_at=NOW - dt.timedelta(days=1), status="attended", minutes_spent=45
    )
    client.force_login(case.navigator.user)

    # When a goal is set in the first
    set_response = post(
        client,
        "coaching_goal_create",
        case,
        first.pk,
        behaviour="being_active",
        text="Walk 20 minutes after dinner, 5 days a week",
    )
    goal = CoachingGoal.objects.get()
    case.refresh_from_db()
    # And reviewed as partly met in the later one
    review = post(
        client, "coaching_goal_review", case, goal.pk, session=later.pk, outcome="partly_met"
    )

    # Then the goal shows its outcome, and the timeline both steps with their actor
    assert set_response.status_code == review.status_code == 200
    goal.refresh_from_db()
    assert (goal.set_in_id, goal.reviewed_in_id, goal.outcome) == (first.pk, later.pk, "partly_met")
    html = review.content.decode()
    assert "Walk 20 minutes after dinner" in html
    assert "Partly met" in html
    kinds = set(
        CaseEvent.objects.filter(case=case, actor=case.navigator.user).values_list(
            "kind", flat=True
        )
    )
    assert {"goal_set", "goal_reviewed"} <= kinds


def test_a_goal_cannot_be_reviewed_in_the_session_it_was_set_in(client):
    case = control_case()
    first = factories.CoachingSessionFactory(
        case=case, scheduled_at=NOW - dt.timedelta(days=14), status="attended", minutes_spent=60
    )
    goal = coaching_goal_set(
        session=first, text="Check sugar before breakfast", behaviour="monitoring",
        actor=case.navigator.user,
    )  # fmt: skip
    case.refresh_from_db()
    client.force_login(case.navigator.user)

    response = post(
        client, "coaching_goal_review", case, goal.pk, htmx=False, session=first.pk, outcome="met"
    )

    assert response.status_code == 400
    goal.refresh_from_db()
    assert goal.outcome == ""


# --- Education hours and group classes -------------------------------------------------------


def test_the_hours_count_individual_and_group_education_against_the_allowance(client):
    # Given a 60-minute individual session and a 90-minute group class attended this year
    case = control_case(preferred_language="es")
    factories.CoachingSessionFactory(
        case=case, scheduled_at=NOW - dt.timedelta(days=10), status="attended", minutes_spent=60
    )
    series = factories.GroupSeriesFactory(program=case.program, language="es")
    session = factories.GroupSessionFactory(series=series, starts_at=NOW - dt.timedelta(days=3))
    factories.GroupSessionFactory(series=series, starts_at=NOW + dt.timedelta(days=4))
    enrolment = factories.GroupEnrolmentFactory(series=series, case=case)
    group_attendance_record(
        session=session, enrolment=enrolment, status="attended", actor=factories.ManagerFactory()
    )
    client.force_login(case.navigator.user)

    html = page(client, case)

    hours = html[html.index('data-testid="education-hours"') :]
    rows = re.findall(r'<tr data-testid="hours-row"><th scope="row">(.*?)</th>(.*?)</tr>', hours)
    cells = {kind: re.findall(r'<td class="num">(.*?)</td>', tds) for kind, tds in rows}
    # (attended, allowance, left)
    assert cells["Individual"] == ["1 h", "1 h", "0 h"]
    assert cells["Group"] == ["1 h 30 min", "9 h", "7 h 30 min"]
    assert cells["Counted against the allowance"] == ["2 h 30 min", "10 h", "7 h 30 min"]
    assert "Medicare covers up to 10 hours, at most 1 of them individual" in hours
    assert "this is not a claim" in hours
    groups = html[html.index('data-testid="group-classes"') :]
    assert "Attended 1 of 1 session held so far (2 in the series)" in groups


def test_the_page_enrols_the_patient_in_the_next_series_in_their_language(client):
    # Given a Spanish-speaking patient and two Spanish series ahead, the sooner one full
    case = control_case(preferred_language="es")
    full = factories.GroupSeriesFactory(program=case.program, language="es", capacity=2)
    factories.GroupSessionFactory(series=full, starts_at=NOW + dt.timedelta(days=2))
    factories.GroupEnrolmentFactory.create_batch(2, series=full, case__program=case.program)
    roomy = factories.GroupSeriesFactory(
        name="Vivir bien (julio)", program=case.program, language="es"
    )
    factories.GroupSessionFactory(series=roomy, starts_at=NOW + dt.timedelta(days=9))
    client.force_login(case.navigator.user)

    # When the navigator opens the case and presses "Enrol in the next Spanish series"
    html = page(client, case)
    assert "Enrol in the next Spanish series" in html
    assert "Vivir bien (julio)" in html[html.index('data-testid="next-series"') :]
    response = post(client, "case_group_enrol", case, series=roomy.pk)

    # Then the patient is on the roster of the series with room, and the page says so
    assert response.status_code == 200
    enrolment = GroupEnrolment.objects.get(case=case)
    assert enrolment.series == roomy
    assert 'data-testid="group-enrolment"' in response.content.decode()


def test_enrolling_in_another_programmes_series_is_refused(client):
    case = control_case()
    # another programme's series (a screening one, as stored before series were
    # refused for screening programmes)
    other = factories.GroupSeriesFactory(program=factories.program("colorectal"))
    client.force_login(case.navigator.user)

    response = post(client, "case_group_enrol", case, htmx=False, series=other.pk)

    assert response.status_code == 400
    assert not GroupEnrolment.objects.exists()


# --- A lab from an outside report -----------------------------------------------------------


def test_a_lab_is_stored_as_a_lab_observation_and_the_gap_and_trend_follow(client):
    # Given a patient in poor control (9.6 % in February)
    case = control_case()
    assert CareGap.objects.get(patient=case.patient, program=case.program).status == (
        "poor_control"
    )
    before = NOW - dt.timedelta(days=3)
    Patient.objects.filter(pk=case.patient_id).update(clinical_data_changed_at=before)
    client.force_login(case.navigator.user)

    # When the navigator records a 7.2 % HbA1c from an outside lab's report
    response = post(
        client,
        "lab_create",
        case,
        test="hba1c",
        value="7.2",
        unit="%",
        collected_on="2026-05-20",
        source="Quest Diagnostics",
    )

    # Then it is a laboratory Observation, tagged as entered by staff, naming the lab
    assert response.status_code == 200
    row = ClinicalResource.objects.get(resource_id__startswith="staff-")
    resource = row.resource
    assert row.patient_id == case.patient_id
    assert resource["category"][0]["coding"][0]["code"] == "laboratory"
    assert resource["code"]["coding"][0]["code"] == "4548-4"
    assert resource["valueQuantity"]["value"] == 7.2
    assert resource["effectiveDateTime"] == "2026-05-20"
    assert resource["performer"] == [{"display": "Quest Diagnostics"}]
    assert ENTERED_BY_STAFF_TAG in resource["meta"]["tag"]
    # And the patient's data moved, the care gap is recomputed: at target now
    assert Patient.objects.get(pk=case.patient_id).clinical_data_changed_at == NOW
    assert CareGap.objects.get(patient=case.patient, program=case.program).status == "at_target"
    # And the timeline says who entered what
    event = CaseEvent.objects.get(case=case, kind="lab_recorded")
    assert event.actor == case.navigator.user
    assert "HbA1c 7.2 %" in event.summary
    # And the trend shows it, with its provenance
    html = response.content.decode()
    assert "7.2 % on May 20, 2026" in html
    assert "HbA1c (entered by staff)" in html


def test_the_same_lab_sent_twice_is_stored_once(client):
    case = control_case()
    client.force_login(case.navigator.user)
    data = {
        "test": "gmi",
        "value": "8.1",
        "unit": "%",
        "collected_on": "2026-05-20",
        "source": "CGM report",
    }

    post(client, "lab_create", case, **data)
    case.refresh_from_db()
    post(client, "lab_create", case, **data)

    assert ClinicalResource.objects.filter(resource_id__startswith="staff-").count() == 1
    assert CaseEvent.objects.filter(case=case, kind="lab_recorded").count() == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"value": "45"}, "is outside what a lab reports for HbA1c"),
        ({"value": "2.1"}, "is outside what a lab reports for HbA1c"),
        ({"value": "abc"}, "Enter a number."),
        ({"collected_on": "2026-06-02"}, "cannot have been collected after today"),
        ({"collected_on": "1969-01-01"}, "before the patient&#x27;s birth"),
        ({"unit": "mmol/mol"}, "Select a valid choice."),
        ({"source": " "}, "This field is required."),
        ({"test": "ldl"}, "Select a valid choice."),
    ],
)
def test_a_bad_lab_is_refused_and_changes_nothing(client, change, error):
    case = control_case()
    client.force_login(case.navigator.user)
    data = {
        "test": "hba1c",
        "value": "7.5",
        "unit": "%",
        "collected_on": "2026-05-01",
        "source": "Quest",
    } | change
    stamp = Patient.objects.get(pk=case.patient_id).clinical_data_changed_at
    resources = ClinicalResource.objects.count()

    response = post(client, "lab_create", case, htmx=False, **data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert ClinicalResource.objects.count() == resources
    assert Patient.objects.get(pk=case.patient_id).clinical_data_changed_at == stamp
    assert not CaseEvent.objects.filter(kind="lab_recorded").exists()


def test_a_lab_on_a_screening_case_is_refused(client):
    case = factories.CaseFactory()
    client.force_login(case.navigator.user)

    response = post(
        client, "lab_create", case, htmx=False, test="hba1c", value="7.5", unit="%",
        collected_on="2026-05-01", source="Quest",
    )  # fmt: skip

    assert response.status_code == 400
    assert "has no coaching, group classes or labs" in response.content.decode()
    assert not ClinicalResource.objects.exists()


# --- Who may ---------------------------------------------------------------------------------


def _every_action(case, session, goal, series):
    return [
        ("coaching_book", (), {"scheduled_at": "2026-06-03T10:00", "duration_minutes": "60",
                               "language": "en", "interpreter_modality": "phone"}),
        ("coaching_update", (session.pk,), {"status": "cancelled"}),
        ("coaching_goal_create", (session.pk,), {"behaviour": "monitoring", "text": "Check"}),
        ("coaching_goal_review", (goal.pk,), {"session": session.pk, "outcome": "met"}),
        ("case_group_enrol", (), {"series": series.pk}),
        ("lab_create", (), {"test": "hba1c", "value": "7.5", "unit": "%",
                            "collected_on": "2026-05-01", "source": "Quest"}),
    ]  # fmt: skip


def test_another_navigators_case_is_not_found_and_clinic_staff_are_refused(client):
    # Given another navigator's case with a session, a goal, and a series with room
    case = control_case()
    attended = factories.CoachingSessionFactory(
        case=case, scheduled_at=NOW - dt.timedelta(days=3), status="attended", minutes_spent=60
    )
    goal = coaching_goal_set(
        session=attended, text="Walk", behaviour="being_active", actor=case.navigator.user
    )
    upcoming = factories.CoachingSessionFactory(case=case)
    series = factories.GroupSeriesFactory(program=case.program, language="en")
    factories.GroupSessionFactory(series=series)
    case.refresh_from_db()
    events = CaseEvent.objects.count()
    outsider = factories.NavigatorFactory().user
    staff = factories.ClinicStaffFactory(clinic=case.patient.clinic)

    for user, expected in ((outsider, 404), (staff, 403)):
        client.force_login(user)
        for name, args, data in _every_action(case, upcoming, goal, series):
            response = post(client, name, case, *args, htmx=False, **data)
            # Then nothing is found (or allowed), and nothing changes
            assert response.status_code == expected, (user, name)

    assert CaseEvent.objects.count() == events
    assert CoachingSession.objects.count() == 2
    upcoming.refresh_from_db()
    assert upcoming.status == "scheduled"
    assert not GroupEnrolment.objects.exists()
    assert not ClinicalResource.objects.filter(resource_id__startswith="staff-").exists()


def test_a_session_of_another_case_is_not_found_through_this_one(client):
    mine = control_case()
    theirs = factories.CoachingSessionFactory(case=control_case())
    client.force_login(mine.navigator.user)

    response = post(client, "coaching_update", mine, theirs.pk, htmx=False, status="cancelled")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"


# --- Queries ---------------------------------------------------------------------------------


def _coached(case, sessions: int):
    series = factories.GroupSeriesFactory(program=case.program, language="en")
    past = [
        factories.GroupSessionFactory(series=series, starts_at=NOW - dt.timedelta(days=d + 1))
        for d in range(sessions)
    ]
    factories.GroupSessionFactory(series=series, starts_at=NOW + dt.timedelta(days=5))
    enrolment = factories.GroupEnrolmentFactory(series=series, case=case)
    manager = factories.ManagerFactory()
    for group_session in past:
        group_attendance_record(
            session=group_session, enrolment=enrolment, status="attended", actor=manager
        )
    for day in range(sessions):
        attended = factories.CoachingSessionFactory(
            case=case,
            scheduled_at=NOW - dt.timedelta(days=30 - day),
            status="attended",
            minutes_spent=30,
        )
        coaching_goal_set(
            session=attended, text=f"Goal {day}", behaviour="monitoring", actor=manager
        )
    factories.CoachingSessionFactory(case=case)
    # Another series with room, offered as the next one
    ahead = factories.GroupSeriesFactory(program=case.program, language="en")
    factories.GroupSessionFactory(series=ahead, starts_at=NOW + dt.timedelta(days=20))


def test_the_control_case_page_makes_as_many_queries_for_one_session_as_for_eight(client):
    # Given two control cases of one navigator: one with a session, a class and a goal,
    # the other with eight of each
    navigator = factories.NavigatorFactory()
    few, many = control_case(navigator), control_case(navigator)
    _coached(few, 1)
    _coached(many, 8)
    client.force_login(navigator.user)
    page(client, few)  # warm the caches

    # When each page is drawn
    with CaptureQueriesContext(connection) as one:
        page(client, few)
    with CaptureQueriesContext(connection) as eight:
        html = page(client, many)

    # Then the count does not grow with the coaching on the case
    assert html.count('data-testid="coaching-session"') == 9
    assert html.count('data-testid="coaching-goal"') == 8
    assert len(eight) == len(one), [q["sql"][:120] for q in eight.captured_queries]


def test_the_control_panels_cost_eight_queries(django_assert_num_queries):
    # Given a coached case, read as the case page reads it
    case = control_case()
    _coached(case, 2)
    user = case.navigator.user
    case = case_selectors.case_detail(user=user, case_id=case.pk)

    with django_assert_num_queries(8):
        # 1 the case's coaching sessions with their coach; 2 its goals with their
        # sessions; 3 its group enrolments with their series and session counts;
        # 4 their attendance; 5 the group sessions of it; 6 individual minutes and 7 group
        # minutes attended (the DSMT hours); 8 the next series with room
        context = control_case_context(user, case, {})

    assert len(context["coaching_rows"]) == 3
    assert context["next_series"] is not None
