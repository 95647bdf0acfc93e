"""One patient, one record, at its edges: what a merged record must no longer get, what a
merge must carry over, and the MRN however typed in the remaining lookups (each test
first shown failing by an adversarial review)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils import timezone

from navigator.intake.care_gaps import care_gaps_refresh
from navigator.intake.patient_merge import patient_merge
from navigator.models import AppointmentStatus, CaseStatus, NavigationCase
from navigator.services.screenings import case_record_screening
from outreach.messaging.inbound import sms_inbound_receive
from outreach.messaging.patient_reminders import recall_messages_schedule
from outreach.models import CaseTask, PatientMessage, TaskKind
from patients.models import CareGap, CareGapStatus, Patient, PatientPhone
from tests import factories
from tests.support.fhir import ehr_resource

pytestmark = pytest.mark.django_db

BORN = dt.date(1960, 3, 14)
NUMBER = "+16175550123"


def _twins(clinic, **duplicate_extra):
    kept = factories.PatientFactory(
        clinic=clinic, mrn="CHE555001", given_name="Carlos", family_name="Herrera",
        birth_date=BORN, phone=NUMBER, sms_consent=True, time_zone="America/New_York",
    )  # fmt: skip
    duplicate = factories.PatientFactory(
        clinic=clinic, mrn=" che555001", given_name="Carlos", family_name="Herrera",
        birth_date=BORN, phone=NUMBER, sms_consent=True, time_zone="America/New_York",
        **duplicate_extra,
    )  # fmt: skip
    return kept, duplicate


# --- 1. A merged record still gets recall texts -------------------------------------------------


def test_a_merged_record_gets_no_recall_message(clinic, manager):
    kept, duplicate = _twins(clinic)
    today = timezone.localdate()
    # The duplicate's care gap (computed before the merge) says due in 20 days
    CareGap.objects.create(
        patient=duplicate, program=factories.program("colorectal"),
        status=CareGapStatus.UP_TO_DATE, as_of=today, summary="Up to date",
        next_due_on=today + dt.timedelta(days=20), rule_version=1,
    )  # fmt: skip
    # The kept record is being navigated for colorectal screening
    factories.CaseFactory(patient=kept)

    patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)
    recall_messages_schedule(today=today)

    # Nothing goes to the merged record (it is "out of every list")
    assert not PatientMessage.objects.filter(patient=duplicate).exists()


# --- 2. A text from the merged patient's number no longer reaches the case ----------------------


def test_a_text_from_a_merged_patient_goes_on_the_kept_records_case(clinic, manager):
    kept, duplicate = _twins(clinic)
    case = factories.CaseFactory(patient=kept)
    patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)

    inbound = sms_inbound_receive(
        provider_id="SM1", from_number=NUMBER, body="Can you call me after 5?"
    )

    # One person, one record: the text is his, on his open case, a task for the navigator
    assert inbound.patient_id == kept.pk
    assert inbound.case.patient_id == kept.pk
    assert CaseTask.objects.filter(case=inbound.case, kind=TaskKind.PATIENT_REPLIED).exists()
    # And the merged record's copy of the number is kept (nothing is deleted), unheard
    assert PatientPhone.objects.filter(patient=duplicate, number=NUMBER).exists()
    assert case.patient_id == kept.pk


# --- 3. A merge does not carry "deceased" ------------------------------------------------------


def test_a_deceased_flag_on_the_duplicate_survives_the_merge(clinic, manager):
    kept, duplicate = _twins(clinic, deceased=True)
    patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)
    kept.refresh_from_db()
    assert kept.deceased


# --- 4. Merging clinical data skips the case intake (open/close from care gaps) -----------------


def test_a_colonoscopy_on_the_duplicate_closes_the_kept_records_open_case_as_screened(
    clinic, manager
):
    factories.NavigatorFactory()
    kept, duplicate = _twins(clinic)
    case = factories.CaseFactory(patient=kept, program=factories.program("colorectal"))
    care_gaps_refresh(as_of=timezone.localdate(), patient_ids=[kept.pk])
    assert NavigationCase.objects.get(pk=case.pk).is_open
    # The duplicate's EHR data show a colonoscopy last month
    day = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    ehr_resource(
        duplicate,
        {
            "resourceType": "Procedure",
            "status": "completed",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "45378"}]},
            "performedDateTime": day,
        },
    )

    patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)
    # The nightly run, as for any patient whose EHR data changed
    care_gaps_refresh(as_of=timezone.localdate())

    case.refresh_from_db()
    assert CareGap.objects.get(patient=kept, program__code="colorectal").status in {
        "up_to_date",
        "due_soon",
    }
    # Had the colonoscopy arrived on the kept record, its case would close as screened
    assert case.status == CaseStatus.CLOSED


# --- 5. A cross-clinic merge leaks the other clinic's MRN and breaks its links ------------------


def test_records_at_two_clinics_are_not_merged_and_nothing_moves(clinic, manager):
    # Given Rosa at North and at South: each clinic's record is its own (its MRN, its
    # staff), so the same name and birth date are not one record to merge
    south = factories.ClinicFactory(code="south", name="South Clinic")
    kept = factories.PatientFactory(
        clinic=clinic, mrn="N-77", given_name="Rosa", family_name="Lima", birth_date=BORN
    )
    other = factories.PatientFactory(
        clinic=south, mrn="S-12", given_name="Rosa", family_name="Lima", birth_date=BORN
    )
    case = factories.CaseFactory(patient=other)

    with pytest.raises(ValidationError, match="two clinics"):
        patient_merge(survivor_id=kept.pk, duplicate_id=other.pk, actor=manager)

    case.refresh_from_db()
    assert case.patient == other


# --- 6. Recording a screening marks a future appointment kept ----------------------------------


def test_recording_a_screening_does_not_mark_a_future_appointment_kept(clinic):
    case = factories.CaseFactory(patient=factories.PatientFactory(clinic=clinic))
    future = factories.AppointmentFactory(
        case=case, scheduled_at=timezone.now() + dt.timedelta(days=14)
    )

    # A FIT comes back before the colonoscopy booked in two weeks
    case_record_screening(
        case=case, modality=factories.modality("fit"), performed_on=timezone.localdate(),
        result="normal", actor=case.navigator.user,
    )  # fmt: skip

    future.refresh_from_db()
    # "An appointment cannot be marked kept before it starts" (issue 12, item 4)
    assert future.status != AppointmentStatus.KEPT


# --- 7. The patients API still matches MRNs raw -------------------------------------------------


def test_the_patients_api_finds_a_patient_by_mrn_however_typed(api, clinic, manager):
    patient = factories.PatientFactory(clinic=clinic, mrn="CHE555001")
    api.force_authenticate(manager)

    response = api.post("/api/patients/search/", {"mrn": "che555001"}, format="json")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [patient.pk]


def test_an_mrn_in_the_patients_apis_address_is_refused_pointing_to_the_search(
    api, clinic, manager
):
    # An MRN in a URL would be kept in access logs
    factories.PatientFactory(clinic=clinic, mrn="CHE555001")
    api.force_authenticate(manager)

    response = api.get("/api/patients/", {"mrn": "CHE555001"})

    assert response.status_code == 400
    (message,) = response.json()["mrn"]
    assert "POST /api/patients/search/" in message
    assert "CHE555001" not in message


def test_the_patients_api_search_needs_an_mrn(api, manager):
    api.force_authenticate(manager)

    response = api.post("/api/patients/search/", {}, format="json")

    assert response.status_code == 400
    assert "mrn" in response.json()


# --- 8. The merge view 500s on an id out of range -----------------------------------------------


def test_a_merge_post_with_an_id_out_of_range_is_a_400(client, clinic, manager):
    kept = factories.PatientFactory(clinic=clinic)
    client.force_login(manager)

    response = client.post(
        "/patients/duplicates/merge/", {"survivor": kept.pk, "duplicate": "9" * 25}
    )

    assert response.status_code == 400
    assert Patient.objects.count() == 1


# --- 9. Any two records can be merged: nothing checks they are likely one person ----------------


def test_two_different_people_cannot_be_merged(clinic, manager):
    a = factories.PatientFactory(clinic=clinic, given_name="Ana", family_name="Souza")
    b = factories.PatientFactory(
        clinic=clinic, given_name="Bruno", family_name="Costa", birth_date=BORN
    )
    factories.CaseFactory(patient=b)

    with pytest.raises(Exception):  # noqa: B017, PT011
        patient_merge(survivor_id=a.pk, duplicate_id=b.pk, actor=manager)
    assert NavigationCase.objects.get().patient_id == b.pk


# --- 10. The worklist search still compares MRNs raw -------------------------------------------


def test_the_worklist_search_finds_a_legacy_mrn_however_typed(clinic):
    from navigator.worklist.filters import parse_search

    legacy = factories.PatientFactory(clinic=clinic, mrn=" che555001")
    case = factories.CaseFactory(patient=legacy)

    search = parse_search("CHE555001")
    assert list(NavigationCase.objects.filter(search.condition())) == [case]


# --- 11. The admin registers a second patient on one MRN ---------------------------------------


def test_the_admin_refuses_a_second_patient_with_the_same_mrn_typed_differently(clinic):
    factories.PatientFactory(clinic=clinic, mrn="CHE555001")
    superuser = factories.AdminFactory(is_superuser=True, is_staff=True)
    request = RequestFactory().post("/admin/")
    request.user = superuser
    Form = admin.site._registry[Patient].get_form(request)
    form = Form(
        data={
            "clinic": clinic.pk, "mrn": "che555001 ", "given_name": "Other",
            "family_name": "Person", "birth_date": "1970-01-01", "sex": "female",
            "preferred_language": "en", "english_proficiency": "unknown",
            "time_zone": "America/New_York", "insurance_type": "unknown",
            "smoking_status": "unknown",
        }
    )  # fmt: skip
    if form.is_valid():
        form.save()
    assert Patient.objects.filter(clinic=clinic).count() == 1, form.errors


# --- 12. Nothing stops a case being opened on a merged record ----------------------------------


def test_an_import_refresh_queued_before_a_merge_opens_no_case_on_the_merged_record(
    clinic, manager
):
    factories.NavigatorFactory()
    kept, duplicate = _twins(clinic)
    patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)

    # The after-import task, enqueued for the duplicate before the merge, runs now
    care_gaps_refresh(as_of=timezone.localdate(), patient_ids=[duplicate.pk])

    assert not NavigationCase.objects.filter(patient=duplicate).exists()
