"""A health coach works a caseload exactly as a navigator does (issue 16, part 6): their
worklist, their cases and the ones they cover, covering across the two roles, the team
page, the API, and every scoped read. (The permission matrix walks every route as a
coach too: tests/security/test_route_matrix.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.equity.scope import equity_scope
from navigator.forms.group_classes import GroupSeriesForm
from navigator.models import Coverage, Role, User
from navigator.selectors.coaching import (
    coaching_sessions_visible_to,
    group_enrolments_visible_to,
    group_series_visible_to,
)
from navigator.selectors.visibility import (
    appointments_visible_to,
    barriers_visible_to,
    case_events_visible_to,
    cases_visible_to,
    coverages_for,
    navigators_visible_to,
)
from navigator.services.coverage import coverage_create
from navigator.services.notes import case_note_add
from outreach.models import ContactAttempt, FollowUpReminder, InterpreterRequest
from outreach.selectors import (
    attempts_visible_to,
    interpreter_requests_visible_to,
    reminders_visible_to,
)
from patients.models import Referral
from patients.selectors import patients_visible_to, referrals_visible_to
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def team():
    """A coach and a navigator with a case each, and a colleague with one nobody covers."""
    coach = factories.CoachFactory(languages=["es", "en"])
    navigator = factories.NavigatorFactory(languages=["es", "en"])
    colleague = factories.NavigatorFactory()
    return {
        "coach": coach,
        "navigator": navigator,
        "colleague": colleague,
        "coach_case": factories.CaseFactory(
            navigator=coach, program=factories.program("diabetes"), patient__family_name="Qzc"
        ),
        "navigator_case": factories.CaseFactory(navigator=navigator, patient__family_name="Qzn"),
        "colleague_case": factories.CaseFactory(navigator=colleague, patient__family_name="Qzo"),
    }


# --- The worklist and the case page ---------------------------------------------------------


def test_a_coach_signs_in_to_their_worklist_and_works_their_case(client, team):
    # Given the coach signed in
    client.force_login(team["coach"].user)

    # When they open the start page, their worklist and their case
    home = client.get("/")
    worklist = client.get(reverse("navigator:worklist"))
    case_page = client.get(reverse("navigator:case_detail", args=[team["coach_case"].pk]))
    theirs = client.get(reverse("navigator:case_detail", args=[team["navigator_case"].pk]))

    # Then the start page sends them to the worklist, which lists their case only, and
    # another's case is not found
    assert home.status_code == 302 and home["Location"] == reverse("navigator:worklist")
    assert worklist.status_code == 200
    body = worklist.content.decode()
    assert "Qzc" in body and "Qzn" not in body and "Qzo" not in body
    assert 'href="/coverage/"' in body or reverse("navigator:coverage") in body
    assert case_page.status_code == 200
    assert theirs.status_code == 404


def test_a_coach_logs_a_call_on_their_case_through_the_api(team):
    response = api_as(team["coach"].user).post(
        f"/api/cases/{team['coach_case'].pk}/attempts/",
        {"channel": "phone", "outcome": "no_answer"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert ContactAttempt.objects.get(case=team["coach_case"]).created_by == team["coach"].user


# --- Covering across the two roles ----------------------------------------------------------


def test_a_coach_covering_a_navigator_works_the_navigators_cases(client, team):
    # Given the navigator away today, handing their caseload to the coach
    today = timezone.localdate()
    navigator, coach = team["navigator"], team["coach"]
    coverage_create(
        absent=navigator,
        covering=coach,
        starts_on=today,
        ends_on=today + dt.timedelta(days=3),
        actor=navigator.user,
    )
    client.force_login(coach.user)

    # When the coach opens their worklist, the navigator's, and logs a call on a case
    own = client.get(reverse("navigator:worklist")).content.decode()
    covered = client.get(reverse("navigator:worklist"), {"navigator": navigator.pk})
    logged = api_as(coach.user).post(
        f"/api/cases/{team['navigator_case'].pk}/attempts/",
        {"channel": "phone", "outcome": "reached"},
        format="json",
    )

    # Then the navigator's case is on the coach's list and theirs to work; the case
    # stays the navigator's
    assert "Qzn" in own and "Qzc" in own and "Qzo" not in own
    assert covered.status_code == 200
    assert logged.status_code == 201, logged.content
    assert team["navigator_case"] in cases_visible_to(coach.user)
    team["navigator_case"].refresh_from_db()
    assert team["navigator_case"].navigator == navigator


def test_a_navigator_covering_a_coach_works_the_coachs_cases(client, team):
    # Given the coach away, handing their caseload to the navigator from the cover page
    today = timezone.localdate()
    coach, navigator = team["coach"], team["navigator"]
    client.force_login(coach.user)
    handed = client.post(
        reverse("navigator:coverage"),
        {
            "absent": coach.pk,
            "covering": navigator.pk,
            "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=2)).isoformat(),
        },
    )

    # When the navigator opens their worklist and the coach's diabetes case
    client.force_login(navigator.user)
    worklist = client.get(reverse("navigator:worklist")).content.decode()
    case_page = client.get(reverse("navigator:case_detail", args=[team["coach_case"].pk]))

    # Then the cover was made by the coach, and the navigator works the coach's case
    assert handed.status_code == 302, handed.content.decode()[:2000]
    cover = Coverage.objects.get()
    assert (cover.absent, cover.covering, cover.created_by) == (coach, navigator, coach.user)
    assert "Qzc" in worklist and "Qzn" in worklist
    assert case_page.status_code == 200


def test_covers_a_coach_gives_or_takes_are_the_ones_they_see(team):
    given = factories.CoverageFactory(absent=team["coach"], covering=team["navigator"])
    others = factories.CoverageFactory(absent=team["colleague"], covering=team["navigator"])

    assert list(coverages_for(user=team["coach"].user)) == [given]
    assert set(coverages_for(user=team["navigator"].user)) == {given, others}


# --- Every scoped read gives a coach what it gives a navigator -----------------------------


def _scoped_reads(user) -> dict[str, set[int]]:
    return {
        "cases": set(cases_visible_to(user).values_list("pk", flat=True)),
        "barriers": set(barriers_visible_to(user).values_list("case_id", flat=True)),
        "appointments": set(appointments_visible_to(user).values_list("case_id", flat=True)),
        "events": set(case_events_visible_to(user).values_list("case_id", flat=True)),
        "attempts": set(attempts_visible_to(user).values_list("case_id", flat=True)),
        "reminders": set(reminders_visible_to(user).values_list("case_id", flat=True)),
        "interpreters": set(
            interpreter_requests_visible_to(user).values_list("case_id", flat=True)
        ),
        "coaching": set(coaching_sessions_visible_to(user).values_list("case_id", flat=True)),
        "enrolments": set(group_enrolments_visible_to(user).values_list("case_id", flat=True)),
        "patients": set(patients_visible_to(user).values_list("navigation_cases__pk", flat=True)),
        "referrals": set(referrals_visible_to(user).values_list("case_id", flat=True)),
        "navigators": set(navigators_visible_to(user).values_list("pk", flat=True)),
    }


def test_every_scoped_read_gives_a_coach_their_caseload_as_it_gives_a_navigator_theirs(team):
    # Given on each case one of everything a scoped read returns
    staff = factories.ClinicStaffFactory()
    series = factories.GroupSeriesFactory()
    for key in ("coach_case", "navigator_case", "colleague_case"):
        case = team[key]
        factories.CaseBarrierFactory(case=case)
        factories.AppointmentFactory(case=case)
        factories.ContactAttemptFactory(case=case)
        case_note_add(case=case, text="Spoke with the family", actor=case.navigator.user)
        FollowUpReminder.objects.create(
            case=case, navigator=case.navigator, due_on=timezone.localdate()
        )
        factories.CoachingSessionFactory(case=case)
        factories.GroupEnrolmentFactory(series=series, case=case, enrolled_by=staff)
        Referral.objects.create(
            clinic=case.patient.clinic,
            patient=case.patient,
            program=case.program,
            referring_clinician="Dr. Y",
            case=case,
            created_by=staff,
        )
    # (interpreter requests: on the coach's and the navigator's cases only)
    for key in ("coach_case", "navigator_case"):
        InterpreterRequest.objects.create(
            case=team[key],
            language="es",
            modality="phone",
            needed_at=timezone.now(),
            created_by=team[key].navigator.user,
        )

    # When each read is made as the coach and as the navigator
    as_coach = _scoped_reads(team["coach"].user)
    as_navigator = _scoped_reads(team["navigator"].user)

    # Then each gets their own case's rows (and their own caseload), nothing else
    coach_case, navigator_case = team["coach_case"].pk, team["navigator_case"].pk
    for name, found in as_coach.items():
        expected = {team["coach"].pk} if name == "navigators" else {coach_case}
        assert found == expected, name
    for name, found in as_navigator.items():
        expected = {team["navigator"].pk} if name == "navigators" else {navigator_case}
        assert found == expected, name
    # and the timetable of group classes, and a caseload's equity scope
    assert group_series_visible_to(team["coach"].user).count() == 1
    scope = equity_scope(team["coach"].user)
    assert (scope.who, scope.user_id) == ("caseload", team["coach"].user.pk)
    assert scope.dimensions == equity_scope(team["navigator"].user).dimensions


def test_the_api_gives_a_coach_their_own_and_covered_cases_and_their_own_caseload(team):
    # Given the colleague away, covered by the coach
    factories.CoverageFactory(absent=team["colleague"], covering=team["coach"])
    client = api_as(team["coach"].user)
    coach_case, colleague_case = team["coach_case"].pk, team["colleague_case"].pk

    # When the coach lists cases, their worklist, the caseloads and the patients
    cases = ids(client.get("/api/cases/"))
    worklist = ids(client.get("/api/worklist/"))
    navigators = client.get("/api/navigators/").json()["results"]
    patients = ids(client.get("/api/patients/"))
    other = client.get(f"/api/cases/{team['navigator_case'].pk}/")

    # Then the coach's and the covered colleague's cases; only their own caseload,
    # named as a coach's; patients of their own cases; another navigator's case: 404
    assert cases == {coach_case, colleague_case}
    assert worklist == {coach_case, colleague_case}
    assert [(row["id"], row["role"], row["role_label"]) for row in navigators] == [
        (team["coach"].pk, "coach", "Health coach")
    ]
    assert patients == {team["coach_case"].patient_id}
    assert other.status_code == 404


# --- The team, the choice lists and the admin ----------------------------------------------


def test_the_team_page_and_api_list_coaches_with_their_role(client, team):
    manager = factories.ManagerFactory()
    client.force_login(manager)

    page = client.get(reverse("navigator:team"))
    rows = api_as(manager).get("/api/team/").json()

    assert page.status_code == 200
    body = page.content.decode()
    assert str(team["coach"]) in body
    assert "Health coach · Spanish, English" in body
    assert "Navigators and coaches this week" in body
    roles = {row["id"]: row["role"] for row in rows}
    assert roles[team["coach"].pk] == "coach"
    assert roles[team["navigator"].pk] == "navigator"
    # The reassign and cover choices say who is a coach
    assert f"{team['coach']} (Health coach; Spanish, English)" in body


def test_a_coach_may_lead_a_group_class_and_clinic_staff_may_not(team):
    staff = factories.ClinicStaffFactory()

    choices = set(GroupSeriesForm().fields["facilitator"].queryset)  # type: ignore[attr-defined]

    assert team["coach"].user in choices
    assert team["navigator"].user in choices
    assert staff not in choices


def test_the_admin_creates_a_coach_and_gives_a_caseload_only_to_staff_who_work_one(client, team):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    staff = factories.ClinicStaffFactory()

    added = client.post(
        "/admin/navigator/user/add/",
        {
            "username": "newcoach",
            "password1": factories.PASSWORD,
            "password2": factories.PASSWORD,
            "usable_password": "true",
            "role": Role.COACH,
        },
    )
    profile_form = client.get("/admin/navigator/navigatorprofile/add/").content.decode()
    listing = client.get("/admin/navigator/navigatorprofile/").content.decode()

    assert added.status_code == 302, added.content.decode()[:3000]
    assert User.objects.get(username="newcoach").role == Role.COACH
    assert f'<option value="{team["coach"].user.pk}"' in profile_form
    assert f'<option value="{staff.pk}"' not in profile_form
    assert "Health coach" in listing
