"""Reproductions of the issue-14 audit-trail review's findings (branch i14-review).

Each test names its finding (R1, R2...) in a comment; each fails on main as the
review found it, and should pass once the finding is fixed. The report lists
severities and suggested fixes."""

from __future__ import annotations

import contextlib

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from navigator.audit.models import AccessedPatient, AccessEvent
from navigator.models import Role
from outreach.models import PatientMessage
from patients.models import CareGap, Referral
from tests import factories

pytestmark = pytest.mark.django_db

GIVEN, FAMILY = "Zebulonia", "Quixotefeld"
MRN = "QX99887766"


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            namespace = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _walk(p.url_patterns, namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{prefix}{p.name}", p


def _story():
    """A patient with a distinctive name and everything a page can show about them."""
    clinic = factories.ClinicFactory(code="north", name="North Clinic")
    patient = factories.PatientFactory(
        clinic=clinic, given_name=GIVEN, family_name=FAMILY, mrn=MRN, phone="+13395550187"
    )
    # A look-alike for the duplicates page.
    twin = factories.PatientFactory(
        clinic=clinic, given_name=GIVEN, family_name=FAMILY, birth_date=patient.birth_date
    )
    case = factories.CaseFactory(patient=patient, status="assigned")
    attempt = factories.ContactAttemptFactory(case=case)
    barrier = factories.CaseBarrierFactory(case=case)
    appointment = factories.AppointmentFactory(case=case)
    factories.ScreeningEventFactory(case=case, result="abnormal")
    referral = Referral.objects.create(
        clinic=clinic,
        patient=patient,
        program=case.program,
        referring_clinician="Dr Who",
        case=case,
        created_by=factories.ClinicStaffFactory(clinic=clinic),
    )
    CareGap.objects.create(
        patient=patient,
        program=case.program,
        status="overdue",
        as_of=timezone.localdate(),
        summary="Overdue",
        rule_version=1,
    )
    PatientMessage.objects.create(
        patient=patient,
        case=case,
        kind="outreach",
        channel="letter",
        language="en",
        rule_key="r",
        subject_key=f"case:{case.pk}",
        slot=timezone.localdate(),
        due_at=timezone.now(),
        state="failed",
        body=f"Dear {GIVEN} {FAMILY}",
    )
    return {
        "patient": patient,
        "twin": twin,
        "case": case,
        "attempt": attempt,
        "barrier": barrier,
        "appointment": appointment,
        "referral": referral,
        "clinic": clinic,
    }


def _kwargs(name: str, pattern: URLPattern, story) -> dict | None:
    keys = list(pattern.pattern.regex.groupindex)
    values = {}
    for key in keys:
        if key == "pk":
            if name.startswith(("patients:patient", "api:patient")):
                values[key] = story["patient"].pk
            elif "referral" in name:
                values[key] = story["referral"].pk
            elif name.startswith(
                ("navigator:", "outreach:case", "outreach:unreachable", "api:case")
            ):
                values[key] = story["case"].pk
            else:
                return None
        elif key == "barrier_id":
            values[key] = story["barrier"].pk
        elif key == "appointment_id":
            values[key] = story["appointment"].pk
        elif key == "code":
            values[key] = "colorectal"
        elif key == "day":
            values[key] = timezone.localdate().isoformat()
        else:
            return None
    return values


def _shown_without_being_audited(client, user, story) -> list[str]:
    client.force_login(user)
    misses = []
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.startswith(("admin:", "audit:", "api:schema", "api:docs")) or name == "logout":
            continue
        kwargs = _kwargs(name, pattern, story)
        if kwargs is None:
            continue
        url = reverse(name, kwargs=kwargs)
        before = AccessEvent.objects.count()
        response = client.get(url, HTTP_ACCEPT="*/*")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        shown = FAMILY in text or MRN in text or "3395550187" in text
        if not shown:
            continue
        events = AccessEvent.objects.order_by("-id")[: AccessEvent.objects.count() - before]
        audited = AccessedPatient.objects.filter(
            event__in=list(events), patient_id=story["patient"].pk
        ).exists()
        if not audited:
            misses.append(f"{name} {url} ({response.status_code})")
    return misses


# R1 (gap): pages that show a patient's name/MRN/phone but whose audit row lacks the
# patient's id. Enumerates every named GET route, as each role that can see patients.
@pytest.mark.parametrize("role", ["manager", "program_admin", "clinic_staff", "navigator"])
def test_every_page_that_shows_a_patient_records_that_patient(client, role):
    story = _story()
    if role == "clinic_staff":
        user = factories.ClinicStaffFactory(clinic=story["clinic"])
    elif role == "navigator":
        user = story["case"].navigator.user
    elif role == "program_admin":
        user = factories.AdminFactory()
    else:
        user = factories.ManagerFactory()
    assert _shown_without_being_audited(client, user, story) == []


# R2 (check): the compliance officer reaches no page or API answer that shows a
# patient's name, MRN or phone (the role sees the audit search only).
def test_the_compliance_officer_sees_no_patient_on_any_page_or_api_answer(client):
    story = _story()
    officer = factories.UserFactory(role=Role.COMPLIANCE)
    client.force_login(officer)
    shown = []
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.startswith(("admin:", "audit:", "api:schema", "api:docs")) or name == "logout":
            continue
        kwargs = _kwargs(name, pattern, story)
        if kwargs is None:
            continue
        url = reverse(name, kwargs=kwargs)
        response = client.get(url, HTTP_ACCEPT="*/*")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        if FAMILY in text or MRN in text or "3395550187" in text:
            shown.append(f"{name} ({response.status_code})")
    assert shown == []


@pytest.fixture
def officer(db):
    return factories.UserFactory(role=Role.COMPLIANCE, username="compliance")


# R3 (gap, 500): an end date of 9999-12-31 passes the form, then `until + 1 day`
# overflows in AuditSearchForm.filters(): a 500, not a clear error.
def test_the_audit_search_answers_the_last_representable_end_date_without_a_500(client, officer):
    client.force_login(officer)
    client.raise_request_exception = False
    response = client.get(reverse("audit:search"), {"until": "9999-12-31"})
    assert response.status_code in (200, 400)


# R4 (gap, 500): a patient number past the database's integer range passes the form
# (min_value=1, no max_value) and the query overflows (SQLite OverflowError,
# PostgreSQL "out of range for type bigint").
def test_the_audit_search_refuses_a_patient_number_too_big_for_the_database(client, officer):
    client.force_login(officer)
    client.raise_request_exception = False
    response = client.get(reverse("audit:search"), {"patient": str(10**20)})
    # (On PostgreSQL the query compares as numeric and finds nothing: a 200.)
    assert response.status_code in (200, 400)


# R5 (check): a real DRF token request (not force_authenticate) is recorded with the
# token's user and the patients it returned.
def test_a_token_authenticated_api_read_is_recorded_with_its_user_and_patients(api):
    from tests.support.api import token_authorization

    case = factories.CaseFactory(status="assigned")
    api.credentials(HTTP_AUTHORIZATION=token_authorization(case.navigator.user))
    response = api.get("/api/worklist/")
    assert response.status_code == 200
    event = AccessEvent.objects.get(route="api:worklist")
    assert event.user_id == case.navigator.user_id
    assert AccessedPatient.objects.filter(event=event, patient_id=case.patient_id).exists()


# R6 (gap): deleting a patient's phone in the admin's Patient page (PatientPhoneInline
# may delete) sets ContactAttempt.phone to NULL (on_delete=SET_NULL): a clinical record
# is rewritten through the admin, outside any service and without a timeline event.
def test_deleting_a_phone_in_the_admin_does_not_rewrite_the_attempts_made_to_it(client, admin_user):
    from outreach.models import ContactAttempt
    from patients.models import PatientPhone

    patient = factories.PatientFactory(phone="+13395550187")
    phone = PatientPhone.objects.get(patient=patient)
    case = factories.CaseFactory(patient=patient)
    attempt = factories.ContactAttemptFactory(case=case, phone=phone)
    phone_pk = phone.pk
    inline = admin_site_inline_permissions(admin_user, patient)
    if inline["delete"]:
        # What the inline's delete box does when the Patient form is saved.
        phone.delete()
    attempt = ContactAttempt.objects.get(pk=attempt.pk)
    assert not inline["delete"], "the admin's phone inline may delete a phone"
    assert attempt.phone_id == phone_pk


def admin_site_inline_permissions(user, patient) -> dict:
    from django.contrib import admin
    from django.test import RequestFactory

    from patients.admin import PatientPhoneInline
    from patients.models import Patient

    request = RequestFactory().get("/")
    request.user = user
    inline = PatientPhoneInline(Patient, admin.site)
    return {"delete": inline.has_delete_permission(request, patient) and inline.can_delete}


# R9 (leak): the change-history snapshots keep clinical and demographic values of a
# named patient (by id): a screening's result, smoking status and pack-years, death,
# sex, race, insurance. The requirement: "ids and field names, never PHI values".
def test_the_change_history_keeps_no_clinical_or_demographic_value():
    from django.apps import apps
    from pghistory.models import Event

    health_values = {
        "result", "smoking_status", "smoking_pack_years", "deceased", "sex",
        "race_group", "race_ethnicity_source", "insurance_type", "english_proficiency",
        "interpreter_needed", "sms_consent",
    }  # fmt: skip
    kept = sorted(
        f"{model.__name__}.{field.name}"
        for model in apps.get_models()
        if issubclass(model, Event)
        for field in model._meta.concrete_fields
        if field.name in health_values
    )
    assert kept == []


# R10 (gap): EQUINAV_AUDIT_RETENTION_DAYS has no floor. Set to 0 or a negative number
# (a typo in an environment file), the nightly purge removes the whole trail, today's
# rows included; HIPAA keeps this documentation six years.
def test_a_retention_setting_below_six_years_never_purges_todays_rows(settings, client, manager):
    from navigator.audit.retention import audit_purge_expired

    client.force_login(manager)
    client.get(reverse("navigator:team"))
    settings.EQUINAV_AUDIT_RETENTION_DAYS = -1
    # Refusing is a fine answer too.
    with contextlib.suppress(Exception):
        audit_purge_expired()
    assert AccessEvent.objects.filter(route="navigator:team").exists()
