"""What the fuzzer (tests/api/test_fuzz_api.py) found, pinned one by one: malformed ids,
responses that must match the published schema, bodies that must be refused, and
credentials that must be answered 401 (issue 14, "Why" and item 6)."""

from __future__ import annotations

import datetime
import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from outreach.models import CaseTask, TaskKind
from patients.models import CareGap, CareGapStatus
from tests import factories
from tests.support.api import (
    TOKEN_SCHEME,
    api_as,
    expired_token_authorization,
    revoked_token_authorization,
    token_authorization,
)

pytestmark = pytest.mark.django_db


def schema_property(component: str, name: str) -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return schema["components"]["schemas"][component]["properties"][name]


def open_task(case) -> CaseTask:
    return CaseTask.objects.create(
        case=case,
        kind=TaskKind.NO_SHOW,
        subject_key=f"contract-{case.pk}",
        due_on=datetime.date(2026, 12, 4),
        summary="No-show: call to re-book",
    )


def test_a_rebalance_of_a_non_numeric_navigator_id_is_not_found(manager):
    # When a manager asks to rebalance navigator "abc"
    response = api_as(manager).post("/api/navigators/abc/rebalance/", {}, format="json")

    # Then it is a 404, not a server error
    assert response.status_code == 404


def test_an_open_tasks_done_by_is_null_and_the_schema_says_it_may_be(manager):
    # Given an open task (nobody has done it)
    navigator = factories.NavigatorFactory()
    open_task(factories.CaseFactory(navigator=navigator))

    # When the manager lists tasks
    rows = api_as(manager).get("/api/tasks/").json()["results"]

    # Then done_by is null, and the schema documents a nullable string
    assert rows[0]["done_by"] is None
    assert schema_property("CaseTask", "done_by") == {
        "type": "string",
        "readOnly": True,
        "nullable": True,
    }


def test_a_care_gap_without_a_screening_has_a_null_modality_and_the_schema_allows_it(manager):
    # Given a patient whose gap has no screening (so no modality)
    patient = factories.PatientFactory()
    CareGap.objects.create(
        patient=patient,
        program=factories.program("colorectal"),
        status=CareGapStatus.OVERDUE,
        as_of=datetime.date(2026, 12, 4),
        summary="Overdue",
        rule_version=1,
    )

    # When the manager reads the patient's care gaps
    gaps = api_as(manager).get(f"/api/patients/{patient.pk}/care-gaps/").json()

    # Then last_modality is null, and the schema documents a nullable string
    assert gaps[0]["last_modality"] is None
    assert schema_property("CareGap", "last_modality")["nullable"] is True


def test_an_upload_refused_for_a_missing_file_carries_the_documented_detail(manager, clinic):
    # When a manager uploads without a file
    response = api_as(manager).post(
        "/api/referrals/upload/",
        {"mode": "all_or_nothing", "clinic": clinic.code},
        format="multipart",
    )

    # Then the 400 has the schema's shape (detail, rows, errors) and still names the field
    body = response.json()
    assert response.status_code == 400
    assert body["detail"] and body["rows"] == 0
    assert body["errors"][0]["column"] == "file"
    assert "file" in body


@pytest.mark.parametrize("body", [{"garbage": 1}, {"note": "ok", "extra": True}, [1, 2], "x"])
def test_marking_a_task_done_with_an_unknown_body_is_refused(manager, body):
    # Given an open task
    task = open_task(factories.CaseFactory())

    # When the body is not empty or {"note": ...}
    response = api_as(manager).post(f"/api/tasks/{task.pk}/done/", body, format="json")

    # Then it is refused and the task stays open
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.done_at is None


@pytest.mark.parametrize("body", [None, {}, {"note": "Rebooked for Tuesday"}])
def test_marking_a_task_done_with_an_empty_body_or_a_note_works(manager, body):
    task = open_task(factories.CaseFactory())

    response = api_as(manager).post(f"/api/tasks/{task.pk}/done/", body, format="json")

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.done_at is not None


@pytest.mark.parametrize("header", [None, "Token not-a-real-token", "Token ", "Bearer abc"])
def test_missing_or_invalid_credentials_are_answered_401_with_a_challenge(api, header):
    # When a caller sends no token, a wrong one, an empty one or another scheme
    if header is not None:
        api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/cases/")

    # Then it is told to authenticate (401), and how
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_signed_in_user_without_the_role_is_still_forbidden_403(clinic_staff):
    # Authenticated but not allowed: 403, not 401
    assert api_as(clinic_staff).get("/api/call-guides/").status_code == 403


def test_a_call_guide_nobody_edited_has_a_null_updated_by_and_the_schema_allows_it():
    assert schema_property("CallGuide", "updated_by")["nullable"] is True


@pytest.mark.parametrize("page_size", ["abc", "0", "-3", "1.5"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_refused(manager, page_size):
    response = api_as(manager).get(f"/api/cases/?page_size={page_size}")

    assert response.status_code == 400
    assert "page_size" in response.json()


def test_a_valid_page_size_still_pages(manager):
    factories.CaseFactory.create_batch(3)

    body = api_as(manager).get("/api/cases/?page_size=2").json()

    assert len(body["results"]) == 2


@pytest.mark.parametrize("name", ["age_adjust", "quarters"])
def test_an_equity_flag_that_is_neither_true_nor_false_is_refused(manager, name):
    response = api_as(manager).get(f"/api/equity/?{name}=maybe")

    assert response.status_code == 400
    assert name in response.json()


def test_the_schema_documents_fhir_answers_in_the_media_types_they_come_in():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    report = schema["paths"]["/api/measures/{measure}/report/"]["get"]["responses"]
    fhir_import = schema["paths"]["/api/fhir/"]["post"]["responses"]

    assert set(report["200"]["content"]) == {"application/fhir+json"}
    assert set(fhir_import["400"]["content"]) == {"application/fhir+json", "application/json"}


def test_an_api_url_that_matches_no_route_is_a_json_404_as_the_schema_documents(manager):
    # When a path id is not a number (no route matches /api/cases/abc/)
    response = api_as(manager).get("/api/cases/abc/")

    # Then the 404 is JSON in the API's error shape, not Django's HTML page
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_page_that_matches_no_route_is_still_the_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_request_django_refuses_before_any_view_is_a_json_400_under_the_api(manager):
    # When a request has more parameters than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS)
    query = "&".join(f"f{i}=1" for i in range(1100))
    response = api_as(manager).get(f"/api/cases/?{query}")

    # Then the 400 is JSON in the API's error shape, not Django's HTML page
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Bad request."}


def test_the_csv_template_is_served_to_a_client_that_asks_for_csv(manager):
    response = api_as(manager).get("/api/referrals/upload/template/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_a_measure_report_is_served_to_a_fhir_client_that_asks_for_fhir_json(manager):
    # When a FHIR client asks for the media type the report is documented in
    response = api_as(manager).get(
        "/api/measures/CMS130/report/?period_start=2025-01-01&period_end=2025-12-31",
        HTTP_ACCEPT="application/fhir+json",
    )

    # Then it gets the report (it was refused 406)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert response.json()["resourceType"] == "MeasureReport"


def test_an_sms_webhook_does_not_refuse_the_providers_accept_header(api):
    # When an unsigned callback accepts only XML
    response = api.post("/api/sms/inbound/", {"Body": "hi"}, HTTP_ACCEPT="application/xml")

    # Then it is refused for its signature (documented 403), not for its Accept header (406)
    assert response.status_code == 403


# The operations that take no token: the SMS provider's webhooks, trusted by signature.
SIGNED_NOT_SIGNED_IN = {"/api/sms/inbound/", "/api/sms/status/"}
# Where a token is got from a username and password: it takes none, of course.
SIGN_IN = {"/api/auth/token/"}


def schema_operations() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def _inactive_users_token(user) -> str:
    authorization = token_authorization(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return authorization


BAD_CREDENTIALS = {
    "an unknown token": lambda user: f"{TOKEN_SCHEME} not-a-real-token",
    "a revoked token": revoked_token_authorization,
    "an expired token": expired_token_authorization,
    "a deactivated user's token": _inactive_users_token,
}


@pytest.mark.parametrize("credential", BAD_CREDENTIALS)
def test_every_operation_answers_bad_credentials_401_with_a_challenge(client, credential):
    # Given a token that does not (or no longer) identify an active user
    authorization = BAD_CREDENTIALS[credential](factories.ManagerFactory())
    refused, open_operations = [], set()

    # When every operation of the schema is called with it (path ids need not exist:
    # credentials are checked before anything is looked up)
    for method, path, operation in schema_operations():
        if not any(operation.get("security", [])):
            open_operations.add(path)
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.generic(method, url, HTTP_AUTHORIZATION=authorization)
        # Then each is a 401 naming the scheme to authenticate with, as documented
        if (
            response.status_code != 401
            or response.get("WWW-Authenticate") != TOKEN_SCHEME
            or "401" not in operation["responses"]
        ):
            refused.append(f"{method} {path}: {response.status_code}")

    assert refused == []
    # and only the signed webhooks and the token endpoint itself take no token
    assert open_operations == SIGNED_NOT_SIGNED_IN | SIGN_IN
