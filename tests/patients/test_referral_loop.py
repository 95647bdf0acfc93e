"""The clinic sees the loop close: the referral page and API say where navigation
stands in plain words, and the referral list searches, filters and marks what changed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.cases import event_record
from navigator.intake.referrals import referral_create
from navigator.models import Appointment, CaseEventKind, CaseStatus
from navigator.selectors.referrals import LoopFollowUp, referral_loop
from navigator.services.appointments import appointment_book
from navigator.services.screenings import case_record_screening
from outreach.services.attempts import attempt_log
from patients.models import Referral, ReferralSeen
from patients.selectors import referral_detail
from patients.services.patients import PatientInput, PhoneInput
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

LIST = reverse("patients:referral_list")


def years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def refer(staff, *, mrn: str, family_name: str = "Jones", **patient) -> Referral:
    return referral_create(
        clinic=staff.clinic,
        program=factories.program("colorectal"),
        patient_data=PatientInput(
            mrn=mrn,
            given_name=patient.pop("given_name", "Pat"),
            family_name=family_name,
            birth_date=patient.pop("birth_date", years_ago(55)),
            sex="male",
            **patient,
        ),
        referring_clinician="Dr. Lee",
        actor=staff,
    )


@pytest.fixture
def navigator_on_duty(db):
    navigator = factories.NavigatorFactory(
        user__first_name="Rosa", user__last_name="Diaz", user__email="rosa@navigators.org"
    )
    navigator.work_phone = "+16175550100"
    navigator.save()
    return navigator


@pytest.fixture
def referral(clinic_staff, navigator_on_duty):
    return refer(clinic_staff, mrn="A-1", family_name="Santos")


@pytest.fixture
def other_referral(navigator_on_duty):
    other_staff = factories.ClinicStaffFactory(clinic=factories.ClinicFactory(code="south"))
    return refer(other_staff, mrn="S-1", family_name="Southerner")


def walk_the_loop(referral: Referral) -> None:
    """Reach the patient, book the test, record it abnormal."""
    case = referral.case
    navigator = case.navigator.user
    three_days_ago = timezone.now() - dt.timedelta(days=3)
    attempt_log(
        case=case.pk,
        channel="phone",
        outcome="reached",
        actor=navigator,
        note="Worried about the prep; lives with her sister",
        attempted_at=three_days_ago,
    )
    appointment = appointment_book(
        case=case.pk,
        scheduled_at=timezone.now() + dt.timedelta(days=2),
        site="Main St Lab",
        actor=navigator,
        modality=factories.modality("fit"),
    )
    # Time passes: the appointment's day has come (test setup, not a service).
    Appointment.objects.filter(pk=appointment.pk).update(
        scheduled_at=timezone.now() - dt.timedelta(days=2)
    )
    case_record_screening(
        case=case.pk,
        modality=factories.modality("fit"),
        performed_on=timezone.localdate() - dt.timedelta(days=1),
        result="abnormal",
        actor=navigator,
    )


# --- The selector ---------------------------------------------------------------------


def test_a_new_referral_says_who_navigates_and_that_nothing_happened_yet(clinic_staff, referral):
    loop = referral_loop(referral_detail(user=clinic_staff, referral_id=referral.pk))

    assert loop.navigator_name == "Rosa Diaz"
    assert loop.navigator_phone == "+16175550100"
    assert loop.navigator_email == "rosa@navigators.org"
    assert loop.step == "Received"
    assert loop.last_contact == "No contact yet"
    assert loop.appointment_on is None
    assert loop.test_name == ""
    assert loop.follow_up is None
    assert loop.closed_reason == ""


def test_the_loop_gives_the_contact_date_the_appointment_and_the_test_with_its_result(
    clinic_staff, referral
):
    walk_the_loop(referral)

    loop = referral_loop(referral_detail(user=clinic_staff, referral_id=referral.pk))

    assert loop.last_contact_on == timezone.localdate() - dt.timedelta(days=3)
    assert loop.last_contact_reached is True
    assert loop.last_contact == "Patient reached"
    assert loop.appointment_on == timezone.localdate() - dt.timedelta(days=2)
    assert loop.appointment_upcoming is False
    assert loop.test_name == "FIT (fecal immunochemical test)"
    assert loop.test_on == timezone.localdate() - dt.timedelta(days=1)
    # An abnormal FIT is not a completed screening: the clinic reads the follow-up due
    assert loop.test_result == "Abnormal (positive stool test, or a polyp or mass seen)"
    assert loop.step == "Diagnostic follow-up needed"
    assert loop.follow_up == LoopFollowUp(
        test="Diagnostic colonoscopy",
        due_on=timezone.localdate() + dt.timedelta(days=60),
        outcome="Not done yet",
    )


def test_an_attempt_that_reached_nobody_says_so_and_never_what_was_noted(clinic_staff, referral):
    attempt_log(
        case=referral.case_id,
        channel="phone",
        outcome="no_answer",
        actor=referral.case.navigator.user,
        note="Husband answered, said call back",
    )

    loop = referral_loop(referral_detail(user=clinic_staff, referral_id=referral.pk))

    assert loop.last_contact == "Tried; patient not reached"
    assert "Husband" not in repr(loop)


def test_a_closed_case_says_why_in_plain_words(clinic_staff, referral, manager):
    from navigator.cases import case_transition

    case_transition(
        case=referral.case, to_status=CaseStatus.DECLINED, actor=manager, note="Declined"
    )

    loop = referral_loop(referral_detail(user=clinic_staff, referral_id=referral.pk))

    assert loop.closed_reason == "The patient declined screening"
    assert loop.closed_on == timezone.localdate()


# --- The page -----------------------------------------------------------------------


def test_the_referral_page_shows_the_loop_and_no_barrier_note_or_attempt_content(
    client, clinic_staff, referral
):
    walk_the_loop(referral)
    client.force_login(clinic_staff)

    response = client.get(reverse("patients:referral_detail", args=[referral.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Rosa Diaz" in html
    assert "tel:+16175550100" in html
    assert "Patient reached" in html
    assert "FIT (fecal immunochemical test) on" in html and "Abnormal" in html
    assert "Diagnostic colonoscopy" in html and "Not done yet" in html
    assert "Worried about the prep" not in html
    assert "Main St Lab" not in html


def test_the_referral_page_asks_a_fixed_number_of_queries_however_long_the_case(
    client, clinic_staff, referral, django_assert_num_queries
):
    client.force_login(clinic_staff)
    url = reverse("patients:referral_detail", args=[referral.pk])
    client.get(url)  # the session and the seen row exist from here on
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as quiet:
        client.get(url)
    walk_the_loop(referral)
    for _ in range(5):
        attempt_log(
            case=referral.case_id,
            channel="phone",
            outcome="no_answer",
            actor=referral.case.navigator.user,
        )

    with django_assert_num_queries(len(quiet.captured_queries)):
        response = client.get(url)

    assert response.status_code == 200


def test_clinic_staff_never_open_another_clinics_referral(client, clinic_staff, other_referral):
    client.force_login(clinic_staff)

    response = client.get(reverse("patients:referral_detail", args=[other_referral.pk]))

    assert response.status_code == 404
    assert not ReferralSeen.objects.exists()


# --- The API ------------------------------------------------------------------------


def test_the_api_gives_one_referral_with_its_loop(clinic_staff, referral):
    walk_the_loop(referral)

    response = api_as(clinic_staff).get(f"/api/referrals/{referral.pk}/")

    assert response.status_code == 200
    loop = response.json()["loop"]
    assert loop["navigator_name"] == "Rosa Diaz"
    assert loop["navigator_phone"] == "+16175550100"
    assert loop["last_contact"] == "Patient reached"
    assert loop["last_contact_on"] == (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    assert loop["test_name"] == "FIT (fecal immunochemical test)"
    assert loop["test_result"] == "Abnormal (positive stool test, or a polyp or mass seen)"
    assert loop["follow_up"] == {
        "test": "Diagnostic colonoscopy",
        "due_on": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
        "outcome": "Not done yet",
    }
    assert loop["closed_reason"] == ""
    assert "note" not in str(loop)


def test_the_api_refuses_another_clinics_referral_and_a_bad_number(clinic_staff, other_referral):
    client = api_as(clinic_staff)

    assert client.get(f"/api/referrals/{other_referral.pk}/").status_code == 404
    assert client.get(f"/api/referrals/{10**30}/").status_code == 404


def test_the_api_schema_documents_the_loop():
    response = api_as(factories.ManagerFactory()).get("/api/schema/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "ReferralLoop" in text
    assert "last_contact_reached" in text


# --- The list: scoping, changed marks, filters, search ----------------------------------


def rows(response) -> set[int]:
    return {referral.pk for referral in response.context["referrals"]}


def test_the_list_shows_only_the_clinics_own_referrals(
    client, clinic_staff, referral, other_referral
):
    client.force_login(clinic_staff)

    assert rows(client.get(LIST)) == {referral.pk}
    assert rows(client.post(LIST, {"q": "Southerner"})) == set()
    assert rows(client.post(LIST, {"q": str(other_referral.pk)})) == set()


def test_navigators_may_not_open_the_referral_list(client, navigator):
    client.force_login(navigator.user)

    assert client.get(LIST).status_code == 403


def test_a_referral_is_new_until_opened_then_changed_when_the_case_moves_on(
    client, clinic_staff, referral
):
    client.force_login(clinic_staff)
    [row] = client.get(LIST).context["referrals"]
    assert row.changed and row.seen_at is None

    client.get(reverse("patients:referral_detail", args=[referral.pk]))
    [row] = client.get(LIST).context["referrals"]
    assert not row.changed

    walk_the_loop(referral)
    response = client.get(LIST)
    [row] = response.context["referrals"]
    assert row.changed
    assert "since you last looked" in response.content.decode()


def test_a_note_or_a_barrier_does_not_mark_a_referral_changed(client, clinic_staff, referral):
    client.force_login(clinic_staff)
    client.get(reverse("patients:referral_detail", args=[referral.pk]))

    event_record(
        case=referral.case,
        kind=CaseEventKind.NOTE,
        actor=referral.case.navigator.user,
        summary="Note",
        at=timezone.now() + dt.timedelta(seconds=1),
    )

    [row] = client.get(LIST).context["referrals"]
    assert not row.changed


def test_the_changed_filter_keeps_only_what_changed_since_my_last_look(
    client, clinic_staff, navigator_on_duty
):
    seen = refer(clinic_staff, mrn="A-1")
    unseen = refer(clinic_staff, mrn="A-2")
    client.force_login(clinic_staff)
    client.get(reverse("patients:referral_detail", args=[seen.pk]))

    assert rows(client.get(LIST, {"changed": "on"})) == {unseen.pk}


def test_another_users_look_does_not_clear_my_mark(client, clinic_staff, referral):
    colleague = factories.ClinicStaffFactory(clinic=clinic_staff.clinic)
    client.force_login(colleague)
    client.get(reverse("patients:referral_detail", args=[referral.pk]))

    client.force_login(clinic_staff)
    [row] = client.get(LIST).context["referrals"]
    assert row.changed


def test_the_list_filters_by_program_and_step(client, clinic_staff, referral, manager):
    from navigator.cases import case_transition

    other = refer(clinic_staff, mrn="A-2")
    case_transition(case=other.case, to_status=CaseStatus.DECLINED, actor=manager, note="No")
    client.force_login(clinic_staff)

    assert rows(client.get(LIST, {"step": "patient-declined"})) == {other.pk}
    assert rows(client.get(LIST, {"step": "received"})) == {referral.pk}
    assert rows(client.get(LIST, {"program": "breast"})) == set()
    assert rows(client.get(LIST, {"program": "colorectal"})) == {referral.pk, other.pk}


def test_bad_filters_are_refused_with_what_is_wrong(client, clinic_staff, referral):
    client.force_login(clinic_staff)

    response = client.get(LIST, {"step": "teleported", "program": "astrology"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "“teleported” is not a step of navigation." in html
    assert "“astrology” is not a screening program." in html


@pytest.mark.parametrize(
    "typed",
    ["santos", "Maria Santos", "a-1", " a-1 ", "(617) 555-0142", "BIRTH", "#REF", "REF"],
)
def test_the_search_finds_a_referral_by_number_name_mrn_phone_or_birth_date(
    client, clinic_staff, navigator_on_duty, typed
):
    referral = refer(
        clinic_staff,
        mrn="A-1",
        family_name="Santos",
        given_name="Maria",
        phones=[PhoneInput(number="+16175550142", kind="mobile")],
    )
    refer(clinic_staff, mrn="B-2", family_name="Other", birth_date=years_ago(61))
    typed = typed.replace("BIRTH", referral.patient.birth_date.isoformat()).replace(
        "REF", str(referral.pk)
    )
    client.force_login(clinic_staff)

    response = client.post(LIST, {"q": typed})

    assert response.status_code == 200
    assert rows(response) == {referral.pk}


def test_a_search_in_the_address_is_refused_so_it_never_lands_in_a_log(
    client, clinic_staff, referral
):
    client.force_login(clinic_staff)

    response = client.get(LIST, {"q": "Santos"})

    assert response.status_code == 400
    assert "a search in the address would be kept in logs" in response.content.decode()


def test_the_search_form_posts_and_carries_the_filters_in_force(client, clinic_staff, referral):
    client.force_login(clinic_staff)

    html = client.get(LIST, {"program": "colorectal"}).content.decode()

    assert 'method="post"' in html
    assert '<input type="hidden" name="program" value="colorectal">' in html


def test_a_malformed_birth_date_is_refused_not_matched_as_a_name(client, clinic_staff, referral):
    client.force_login(clinic_staff)

    response = client.post(LIST, {"q": "1960-02-31"})

    assert response.status_code == 400
    assert "is not a date" in response.content.decode()


def test_the_list_asks_a_fixed_number_of_queries_however_many_referrals(
    client, clinic_staff, navigator_on_duty, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    refer(clinic_staff, mrn="A-1")
    client.force_login(clinic_staff)
    client.get(LIST)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for number in range(2, 8):
        refer(clinic_staff, mrn=f"A-{number}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(LIST)
