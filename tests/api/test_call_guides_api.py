"""GET /api/call-guides/: the active call guides, by program, step and language, for
navigators and managers (not clinic staff)."""

from __future__ import annotations

import pytest

from outreach.models import CallGuide
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def test_a_navigator_lists_a_programs_guides_for_a_step_and_language(navigator):
    response = api_as(navigator.user).get(
        "/api/call-guides/", {"program": "colorectal", "step": "prep_call", "language": "es"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (guide,) = body["results"]
    assert guide["program"] == "colorectal" and guide["step"] == "prep_call"
    assert guide["language"] == "es" and guide["version"] == 1
    assert "Dosis dividida" in guide["prep_instructions"] and guide["source"]


def test_a_manager_lists_every_active_guide_and_guides_switched_off_are_left_out(manager):
    CallGuide.objects.filter(program__code="lung", language="es").update(active=False)

    body = api_as(manager).get("/api/call-guides/", {"page_size": 200}).json()

    # 4 screening programmes × 4 steps × 2 languages, less lung's 4 in Spanish; and the
    # diabetes programme's 3 steps × 3 languages (outreach migrations 0020 and 0021).
    assert body["count"] == CallGuide.objects.filter(active=True).count() == 28 + 9
    assert not any(g["program"] == "lung" and g["language"] == "es" for g in body["results"])


def test_the_language_filter_takes_a_code_however_typed(navigator):
    body = api_as(navigator.user).get("/api/call-guides/", {"language": "ES"}).json()

    # 4 screening programmes × 4 steps, and the diabetes programme's 3, in Spanish
    assert body["count"] == 16 + 3 and {g["language"] for g in body["results"]} == {"es"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"program": "nope"}, "program"),
        ({"step": "second_call"}, "step"),
        ({"language": "klingon"}, "language"),
    ],
)
def test_a_bad_filter_is_a_400_that_names_it(navigator, params, field):
    response = api_as(navigator.user).get("/api/call-guides/", params)

    assert response.status_code == 400
    assert field in response.json()


def test_clinic_staff_and_anonymous_users_get_no_guides(api, clinic_staff):
    assert api.get("/api/call-guides/").status_code in (401, 403)
    assert api_as(clinic_staff).get("/api/call-guides/").status_code == 403


def test_the_api_is_read_only(manager):
    guide = CallGuide.objects.first()

    client = api_as(manager)
    assert client.post("/api/call-guides/", {"title": "x"}).status_code == 405
    assert client.patch(f"/api/call-guides/{guide.pk}/", {"title": "x"}).status_code == 405


def test_the_openapi_schema_documents_the_call_guides(client):
    client.force_login(factories.ManagerFactory())  # the schema needs sign-in outside DEBUG
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/call-guides/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"program", "step", "language"} <= names
    assert "navigators and managers" in operation["description"]
