"""Each role reaches exactly what it may: everything else is a 403 or a 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navigator.models import CaseStatus
from outreach.models import ContactAttempt, FollowUpReminder
from patients.models import Referral
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    """Two clinics, two navigators, a case and a referral for each."""
    north, south = factories.ClinicFactory(), factories.ClinicFactory()
    mine, theirs = factories.NavigatorFactory(), factories.NavigatorFactory()
    my_case = factories.CaseFactory(navigator=mine, patient__clinic=north)
    their_case = factories.CaseFactory(navigator=theirs, patient__clinic=south)
    staff = factories.ClinicStaffFactory(clinic=north)
    referrals = {}
    for case, clinic in ((my_case, north), (their_case, south)):
        referrals[clinic.pk] = Referral.objects.create(
            clinic=clinic,
            patient=case.patient,
            program=case.program,
            referring_clinician="Dr. X",
            case=case,
            created_by=staff,
        )
    for case, nav in ((my_case, mine), (their_case, theirs)):
        ContactAttempt.objects.create(
            case=case, channel="phone", outcome="reached", note="secret", created_by=nav.user
        )
        FollowUpReminder.objects.create(case=case, navigator=nav, due_on=timezone.localdate())
    return {
        "north": north,
        "south": south,
        "mine": mine,
        "theirs": theirs,
        "my_case": my_case,
        "their_case": their_case,
        "staff": staff,
        "my_referral": referrals[north.pk],
        "their_referral": referrals[south.pk],
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- navigators ------------------------------------------------------------------------


def test_a_navigator_lists_only_their_own_cases(world):
    client = api_as(world["mine"].user)
    assert ids(client.get("/api/cases/")) == {world["my_case"].pk}
    assert ids(client.get("/api/worklist/")) == {world["my_case"].pk}


def test_a_navigator_gets_404_for_another_navigators_case_and_its_actions(world):
    client = api_as(world["mine"].user)
    theirs = world["their_case"]
    base = f"/api/cases/{theirs.pk}"

    assert client.get(f"{base}/").status_code == 404
    posts = {
        f"{base}/attempts/": {"channel": "phone", "outcome": "reached"},
        f"{base}/barriers/": {"barrier_type": "transportation"},
        f"{base}/appointments/": {
            "scheduled_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
            "site": "Lab",
        },
        f"{base}/screening/": {
            "modality": "fit", "performed_on": timezone.localdate().isoformat(),
            "result": "normal",
        },
        f"{base}/transition/": {"status": "declined"},
        f"{base}/follow-up/": {"next_follow_up": None},
    }  # fmt: skip
    for url, payload in posts.items():
        assert client.post(url, payload, format="json").status_code == 404, url

    theirs.refresh_from_db()
    assert theirs.status == CaseStatus.ASSIGNED
    assert theirs.attempts.count() == 1
    assert not theirs.barriers.exists()
    assert not theirs.appointments.exists()


def test_a_navigator_sees_only_patients_and_reminders_of_their_cases(world):
    client = api_as(world["mine"].user)
    assert ids(client.get("/api/patients/")) == {world["my_case"].patient_id}
    assert client.get(f"/api/patients/{world['their_case'].patient_id}/").status_code == 404
    assert ids(client.get("/api/reminders/")) == {world["my_case"].follow_up_reminders.get().pk}


def test_a_navigator_cannot_read_reports_or_refer(world):
    client = api_as(world["mine"].user)
    assert client.get("/api/reports/completion/?start=2026-01-01&end=2026-12-31").status_code == 403
    assert client.get("/api/referrals/").status_code == 403


def test_a_navigator_sees_only_their_own_navigator_profile(world):
    client = api_as(world["mine"].user)
    assert ids(client.get("/api/navigators/")) == {world["mine"].pk}


# --- clinic staff ----------------------------------------------------------------------


def test_clinic_staff_list_only_their_clinics_referrals(world):
    client = api_as(world["staff"])
    assert ids(client.get("/api/referrals/")) == {world["my_referral"].pk}
    assert client.get(f"/api/referrals/{world['their_referral'].pk}/").status_code == 404


def test_clinic_staff_see_a_referrals_status_but_no_barriers_notes_or_attempts(world):
    client = api_as(world["staff"])
    body = client.get(f"/api/referrals/{world['my_referral'].pk}/").json()
    assert body["status_label"] == "Received"
    flat = str(body)
    for hidden in ("barriers", "attempts", "timeline", "secret", "note"):
        assert hidden not in flat


def test_clinic_staff_cannot_reach_cases_worklists_reminders_or_reports(world):
    client = api_as(world["staff"])
    case = world["my_case"]
    assert client.get("/api/cases/").status_code == 403
    assert client.get(f"/api/cases/{case.pk}/").status_code == 403
    assert (
        client.post(
            f"/api/cases/{case.pk}/attempts/", {"channel": "phone", "outcome": "reached"}
        ).status_code
        == 403
    )
    assert client.get("/api/worklist/").status_code == 403
    assert client.get("/api/reminders/").status_code == 403
    assert client.get("/api/navigators/").status_code == 403
    assert client.get("/api/barrier-types/").status_code == 403
    assert client.get("/api/reports/completion/?start=2026-01-01&end=2026-12-31").status_code == 403


def test_clinic_staff_see_only_their_clinics_patients(world):
    client = api_as(world["staff"])
    assert ids(client.get("/api/patients/")) == {world["my_case"].patient_id}
    assert client.get(f"/api/patients/{world['their_case'].patient_id}/").status_code == 404


# --- managers and admins -------------------------------------------------------------------


@pytest.mark.parametrize("factory", [factories.ManagerFactory, factories.AdminFactory])
def test_managers_and_admins_see_every_case_referral_and_reminder(world, factory):
    client = api_as(factory())
    both_cases = {world["my_case"].pk, world["their_case"].pk}
    assert ids(client.get("/api/cases/")) == both_cases
    assert ids(client.get("/api/referrals/")) == {
        world["my_referral"].pk, world["their_referral"].pk
    }  # fmt: skip
    assert len(ids(client.get("/api/reminders/"))) == 2
    assert client.get(f"/api/cases/{world['their_case'].pk}/").status_code == 200


# --- nobody ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/api/cases/", "/api/worklist/", "/api/referrals/", "/api/patients/", "/api/reminders/",
     "/api/reports/completion/", "/api/programs/", "/api/navigators/"],
)  # fmt: skip
def test_anonymous_requests_are_refused(world, url, api):
    assert api.get(url).status_code in {401, 403}


def test_a_non_numeric_case_id_is_a_404_not_a_500(world):
    client = api_as(world["mine"].user)
    assert client.get("/api/cases/abc/").status_code == 404
    response = client.post("/api/cases/abc/transition/", {"status": "declined"})
    assert response.status_code == 404


def test_filtering_reminders_by_case_reveals_nothing_of_other_caseloads(world):
    client = api_as(world["mine"].user)
    theirs = client.get(f"/api/reminders/?case={world['their_case'].pk}")
    missing = client.get("/api/reminders/?case=999999")
    assert theirs.status_code == missing.status_code == 200
    assert theirs.json()["results"] == missing.json()["results"] == []


def test_a_reassigned_cases_reminder_goes_to_its_new_navigator(world):
    # Given my case, with a pending reminder, reassigned to the other navigator
    case = world["my_case"]
    api_as(factories.ManagerFactory()).post(
        f"/api/cases/{case.pk}/assign/", {"navigator": world["theirs"].pk}
    )

    # Then the reminder is theirs now, not mine
    reminder_id = case.follow_up_reminders.get().pk
    assert reminder_id not in ids(api_as(world["mine"].user).get("/api/reminders/"))
    assert reminder_id in ids(api_as(world["theirs"].user).get("/api/reminders/"))
