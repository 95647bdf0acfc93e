"""No PHI in any log line (issue 14, item 5): canary patients go through the main flows
(a referral by form, API and CSV, a FHIR import, worklist searches, the patient's pages,
errors, failing texts), and tests/support/log_canary.py, which reads every log line of
the whole suite, fails any test whose lines carry a canary's (or any patient's) details.
These tests pass when nothing leaks: the plugin does the asserting."""

from __future__ import annotations

import csv
import io
import json
import logging

import django
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from outreach import tasks as outreach_tasks
from outreach.messaging.schedule import message_schedule
from outreach.messaging.send import MessageOutcome, message_send
from outreach.messaging.sweep import messages_claim_due
from patients import tasks as patient_tasks
from patients.models import Patient
from patients.uploads.template import COLUMNS
from tests import factories
from tests.support.api import api_as
from tests.support.fhir import bundle, patient_resource
from tests.support.log_canary import CANARIES, Watch

pytestmark = pytest.mark.django_db

# Each test below logs at INFO and above, as production does.


def _referral_form(canary, program) -> dict:
    return {
        "program": program.pk, "referring_clinician": "Dr. Amara Okafor",
        "reason": "Overdue for colorectal screening", "mrn": canary.mrn,
        "given_name": canary.given_name, "family_name": canary.family_name,
        "birth_date": canary.birth_date.isoformat(), "sex": "female",
        "preferred_language": "es", "preferred_language_other": "",
        "english_proficiency": "not_well", "interpreter_needed": "on",
        "race_ethnicity": ["hispanic"], "phone_1_number": canary.phone_national_format,
        "phone_1_kind": "mobile", "phone_2_number": "", "phone_2_kind": "home",
        "sms_consent": "on", "email": "", "address_line1": "1 Main St", "address_line2": "",
        "city": "Boston", "state": "MA", "postal_code": "02118",
        "time_zone": "America/New_York", "insurance_type": "medicaid",
        "smoking_status": "never", "smoking_pack_years": "",
    }  # fmt: skip


def _api_referral(canary) -> dict:
    return {
        "program": "colorectal",
        "referring_clinician": "Dr. Patel",
        "patient": {
            "mrn": canary.mrn, "given_name": canary.given_name,
            "family_name": canary.family_name, "birth_date": canary.birth_date.isoformat(),
            "sex": "female", "preferred_language": "es",
            "phones": [{"number": canary.phone}],
        },
    }  # fmt: skip


@pytest.fixture
def staff(clinic):
    factories.NavigatorFactory(languages=["es", "en"])
    return factories.ClinicStaffFactory(clinic=clinic)


def test_the_plugin_finds_a_canary_however_it_is_written():
    # (a Watch of its own: the suite's would fail this test)
    watch = Watch(test="self-check")
    canary = CANARIES[0]
    digits = canary.national_phone
    spellings = [
        canary.given_name.upper(), canary.family_name.lower(), canary.mrn,
        canary.mrn.replace("-", "").lower(), canary.phone,
        f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
        f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}", canary.birth_date.isoformat(),
        canary.birth_date.strftime("%m/%d/%Y"), f"q={canary.given_name}%20x",
    ]  # fmt: skip
    for spelling in spellings:
        watch.check(f"something about {spelling} here", logger="x", level="INFO")
    watch.check("case 42 assigned to navigator 7", logger="x", level="INFO")

    assert len({leak.position for leak in watch.leaks}) >= 1
    assert sum(1 for _ in watch.leaks) >= len(spellings)
    assert all(
        "Zzcanaryname" not in leak.describe() and "7731" not in leak.describe()
        for leak in watch.leaks
    )


def test_the_plugin_watches_the_root_logger_and_djangos():
    # even after Django configures logging again (get_wsgi_application() does)
    django.setup(set_prefix=False)
    names = [type(handler).__name__ for handler in logging.getLogger().handlers]

    assert "CanaryHandler" in names
    for name in ("django.request", "django.server", "celery", "outreach", "patients"):
        logger = logging.getLogger(name)
        assert logger.propagate or any(
            type(h).__name__ == "CanaryHandler" for h in logger.handlers
        ), name


def test_a_referral_through_the_form(client, staff, canaries, django_capture_on_commit_callbacks):
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("patients:referral_create"), _referral_form(canaries[0], factories.program())
        )
        # and a second time: the same patient, an open case already
        client.post(
            reverse("patients:referral_create"), _referral_form(canaries[0], factories.program())
        )
        # and a bad one: a birth date in the future, with the canary's name
        bad = _referral_form(canaries[1], factories.program())
        bad["birth_date"] = "2999-01-01"
        refused = client.post(reverse("patients:referral_create"), bad)

    assert response.status_code == 302
    assert refused.status_code == 400
    assert Patient.objects.filter(mrn=canaries[0].mrn).exists()


def test_a_referral_through_the_api(staff, canaries, django_capture_on_commit_callbacks):
    api = api_as(staff)

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/referrals/", _api_referral(canaries[1]), format="json")
        bad = _api_referral(canaries[2])
        bad["patient"]["phones"] = [{"number": canaries[2].phone + "99999"}]
        refused = api.post("/api/referrals/", bad, format="json")
        assert created.status_code == 201, created.json()
        detail = api.get(f"/api/referrals/{created.json()['id']}/")

    assert created.status_code == 201
    assert refused.status_code == 400
    assert detail.status_code == 200


def test_a_csv_of_referrals(staff, canaries, django_capture_on_commit_callbacks):
    def row(canary, **overrides):
        values = {
            "mrn": canary.mrn, "given_name": canary.given_name,
            "family_name": canary.family_name, "birth_date": canary.birth_date.isoformat(),
            "sex": "female", "program": "colorectal", "referring_clinician": "Dr. Patel",
            "reason": "Overdue", "preferred_language": "es", "interpreter_needed": "yes",
            "phone": canary.phone_national_format, "phone_type": "mobile",
            "sms_consent": "no", "email": "", "race_ethnicity": "hispanic",
        }  # fmt: skip
        return {**values, **overrides}

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(
        [row(canaries[0]), row(canaries[1], birth_date=canaries[1].mrn), row(canaries[2])]
    )
    content = out.getvalue().encode()

    with django_capture_on_commit_callbacks(execute=True):
        for mode in ("all_or_nothing", "good_rows"):
            response = api_as(staff).post(
                "/api/referrals/upload/",
                {"file": SimpleUploadedFile("r.csv", content, "text/csv"), "mode": mode},
                format="multipart",
            )
            assert response.status_code < 500


def test_a_fhir_import(clinic, canaries, django_capture_on_commit_callbacks):
    factories.FhirSourceFactory(key="ehr", clinic=clinic)
    canary = canaries[2]
    resource = patient_resource(
        identifier=[{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                     "v2-0203", "code": "MR"}]}, "system": "urn:mrn", "value": canary.mrn}],
        name=[{"use": "official", "family": canary.family_name, "given": [canary.given_name]}],
        birthDate=canary.birth_date.isoformat(),
        telecom=[{"system": "phone", "value": canary.phone_national_format, "use": "mobile"}],
    )  # fmt: skip
    broken = patient_resource(id="p2", birthDate=f"{canary.birth_date:%m/%d/%Y}")
    api = api_as(factories.ManagerFactory())

    with django_capture_on_commit_callbacks(execute=True):
        imported = api.generic(
            "POST", "/api/fhir/?source=ehr", bundle(resource), content_type="application/fhir+json"
        )
        refused = api.generic(
            "POST", "/api/fhir/?source=ehr", bundle(broken), content_type="application/fhir+json"
        )
        not_json = api.generic(
            "POST", "/api/fhir/?source=ehr", json.dumps({"name": canary.given_name}).encode()[:-1],
            content_type="application/fhir+json",
        )  # fmt: skip

    assert imported.status_code == 200
    assert refused.status_code >= 400 and not_json.status_code >= 400
    assert refused.status_code < 500 and not_json.status_code < 500


@pytest.fixture
def canary_cases(navigator, canary_patient):
    return [
        factories.CaseFactory(navigator=navigator, patient=canary_patient(index))
        for index in range(3)
    ]


def test_worklist_and_list_searches(client, navigator, manager, canary_cases, canaries):
    canary = canaries[0]
    searches = [
        canary.given_name, canary.family_name.upper(), canary.mrn, canary.phone,
        canary.phone_national_format, canary.birth_date.isoformat(),
        f"{canary.birth_date:%m/%d/%Y}", f"{canary.family_name}, {canary.given_name}",
    ]  # fmt: skip
    client.force_login(navigator.user)
    api = api_as(navigator.user)
    for text in searches:
        assert client.post("/worklist/", {"q": text}, HTTP_HX_REQUEST="true").status_code == 200
        assert api.post("/api/worklist/search/", {"q": text}).status_code == 200
        # the refused ways: a search in the address
        assert client.get("/worklist/", {"q": text}).status_code == 400
        assert api.get("/api/worklist/", {"q": text}).status_code == 400
    client.force_login(manager)
    manager_api = api_as(manager)
    for text in searches:
        assert client.post(reverse("navigator:case_list"), {"q": text}).status_code == 200
        assert client.get(reverse("navigator:case_list"), {"q": text}).status_code == 400
        assert client.post(reverse("patients:referral_list"), {"q": text}).status_code == 200
    assert manager_api.post("/api/patients/search/", {"mrn": canary.mrn}).status_code == 200
    assert manager_api.get("/api/patients/", {"mrn": canary.mrn}).status_code == 400
    # a date that is no date, typed with the name
    assert api.post("/api/worklist/search/", {"q": "1953-02-31"}).status_code == 400


def test_the_patients_pages_and_api(
    client, navigator, manager, canary_cases, django_capture_on_commit_callbacks
):
    case = canary_cases[0]
    client.force_login(navigator.user)
    api = api_as(navigator.user)

    assert client.get(reverse("navigator:case_detail", args=[case.pk])).status_code == 200
    assert api.get(f"/api/cases/{case.pk}/").status_code == 200
    assert api.get("/api/worklist/").status_code == 200
    assert api.post(
        f"/api/cases/{case.pk}/attempts/",
        {"channel": "phone", "outcome": "reached", "note": f"Spoke to {CANARIES[0].given_name}"},
    ).status_code in {200, 201}
    assert api.post(
        f"/api/cases/{case.pk}/notes/", {"text": f"{CANARIES[0].mrn} {CANARIES[0].phone}"}
    ).status_code in {200, 201}
    client.force_login(manager)
    assert client.get(reverse("patients:patient_detail", args=[case.patient.pk])).status_code in {
        200,
        403,
    }
    assert api_as(manager).get(f"/api/patients/{case.patient.pk}/").status_code == 200
    outreach_tasks.create_follow_up_reminders()
    # The nightly run's batch tasks log too: run them (on commit, as a worker would)
    with django_capture_on_commit_callbacks(execute=True):
        patient_tasks.refresh_care_gaps()


def test_errors_carry_no_patient_details(client, navigator, canary_cases, canaries, monkeypatch):
    canary = canaries[1]
    client.force_login(navigator.user)
    client.raise_request_exception = False
    api = api_as(navigator.user)
    query = {"q": canary.given_name, "mrn": canary.mrn, "dob": canary.birth_date.isoformat()}

    # 404s with details in the query string (a path typed with an MRN in it would be
    # logged as typed: the app's own addresses carry ids only)
    assert client.get("/no/such/page/", query).status_code == 404
    assert api.get("/api/cases/999999/", query).status_code == 404
    # 400s: bad values that echo what was typed back to the user (never to the log)
    case = canary_cases[1]
    assert (
        api.post(f"/api/cases/{case.pk}/transition/", {"status": canary.given_name}).status_code
        == 400
    )
    assert api.get("/api/worklist/", {"program": canary.family_name}).status_code == 400
    # 405 and 403
    assert api.delete(f"/api/cases/{case.pk}/", query).status_code in {403, 405}

    # a 500 whose exception quotes the patient
    from navigator.views import lists

    def fail(*args, **kwargs):
        raise ValueError(f"no match for {canary.given_name} {canary.mrn} {canary.phone}")

    monkeypatch.setattr(lists, "worklist_cases", fail)
    assert client.get("/worklist/", {"program": "colorectal"}).status_code == 500


@pytest.fixture
def failing_provider(twilio_provider):
    return twilio_provider


# 10:00 in New York, outside the patients' quiet hours: at night the texts would be held
# (skipped), never reach the provider, and the test would see no failure to log.
@pytest.mark.frozen_clock("2026-12-03T15:00:00Z")
def test_texts_that_fail(failing_provider, canary_patient, canaries):
    # Given texts to the canaries that the provider refuses, fails or ignores
    now = timezone.now()
    failing_provider.script = [
        (400, {"code": 21211, "message": f"Invalid 'To' number {canaries[0].phone}"}, 0.0),
        (500, {"message": f"busy sending to {canaries[1].phone}"}, 0.0),
        (201, {"error_code": 30003, "to": canaries[2].phone}, 0.0),
    ]
    outcomes = []
    for index in range(3):
        patient = canary_patient(index, time_zone="America/New_York", preferred_language="en")
        message, _ = message_schedule(
            patient=patient, kind="appointment_reminder", channel="sms", rule_key="appt-1d",
            subject_key=f"appointment:{index}", due_at=now,
            context={"first_name": patient.given_name, "appointment_date": "3 Dec",
                     "appointment_time": "9:30", "site": "Chelsea",
                     "program_phone": "(617) 555-0111", "organization": "EquiNav",
                     "navigator_name": "Ana"},
        )  # fmt: skip
        messages_claim_due(now=now)
        outcomes.append(message_send(message_id=message.pk, now=now))

    assert MessageOutcome.FAILED in outcomes or MessageOutcome.RETRY in outcomes


def test_a_task_that_fails_quoting_the_patient(canaries, caplog):
    # Given a task whose exception quotes a patient: a worker logs its failure as
    # celery.app.trace does (an inline task, as in the suite, logs nothing)
    from celery.app.trace import LOG_FAILURE
    from celery.utils.saferepr import saferepr

    error = ValueError(f"cannot reach {canaries[0].given_name} at {canaries[0].phone}")
    context = {"hostname": "w1", "id": "abc", "name": "outreach.tasks.send_patient_message",
               "exc": saferepr(error), "traceback": "", "args": "(1,)", "kwargs": "{}",
               "description": "raised unexpected", "internal": False}  # fmt: skip

    # When it is logged
    caplog.set_level(logging.INFO)
    logging.getLogger("celery.app.trace").error(LOG_FAILURE.strip(), context)

    # Then the line names the error's type only (and the plugin finds nothing in it)
    (record,) = [r for r in caplog.records if r.name == "celery.app.trace"]
    assert record.getMessage().startswith(
        "Task outreach.tasks.send_patient_message[abc] raised unexpected: ValueError (message"
    )
