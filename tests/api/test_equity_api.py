"""GET /api/equity/ and POST /api/equity/periods/: the dashboard's figures, scoped,
suppressed as null, refused by name; another period computed on request."""

from __future__ import annotations

import pytest
from django.test import override_settings

from patients.models import MeasurePeriod
from tests import factories
from tests.support.api import api_as
from tests.support.equity_story import QUARTERS

pytestmark = pytest.mark.django_db

GROUP_FIELDS = {
    "key", "label", "numerator", "denominator", "rate", "ci_low", "ci_high", "difference",
    "difference_ci_low", "difference_ci_high", "ratio", "ratio_ci_low", "ratio_ci_high",
    "p_value", "p_adjusted", "test", "significant", "meaningful", "suppressed", "is_reference",
}  # fmt: skip


def _groups(payload):
    return {group["key"]: group for group in payload["groups"]}


def test_a_manager_gets_every_group_with_its_statistics(story_population):
    response = api_as(factories.ManagerFactory()).get("/api/equity/", {"stratify": "race"})
    assert response.status_code == 200
    payload = response.json()
    assert payload["measure"] == "CMS130"
    assert payload["reference"] == "white"
    assert payload["period"]["label"] == "2026 Q2"
    groups = _groups(payload)
    assert set(groups["hispanic"]) == GROUP_FIELDS
    assert groups["hispanic"]["numerator"] == 116
    assert groups["hispanic"]["test"] == "score"
    assert groups["white"]["is_reference"] is True
    assert any("Wilson" in sentence for sentence in payload["method"])


def test_a_suppressed_group_is_null_never_the_real_number(story_population):
    payload = api_as(factories.ManagerFactory()).get("/api/equity/").json()
    hidden = _groups(payload)["nhpi"]
    assert hidden["suppressed"] is True
    assert {key for key, value in hidden.items() if value is not None} == {
        "key", "label", "suppressed", "is_reference"
    }  # fmt: skip
    # And no hidden count appears anywhere in the response for that group
    assert '"numerator": 3' not in str(hidden)


def test_the_quarterly_series_and_the_story_come_on_request(story_population):
    payload = api_as(factories.ManagerFactory()).get("/api/equity/", {"quarters": "1"}).json()
    assert [q["period"]["label"] for q in payload["quarters"]] == [p.label for p in QUARTERS]
    assert "narrowed" in payload["story"][0]
    assert api_as(factories.ManagerFactory()).get("/api/equity/").json()["quarters"] == []


def test_a_two_way_table_lists_every_cell(story_population):
    payload = (
        api_as(factories.ManagerFactory()).get("/api/equity/", {"stratify": "race,clinic"}).json()
    )
    assert payload["cells"]
    assert {"row", "column"} <= set(payload["cells"][0])


def test_bad_parameters_are_a_400_naming_each(story_population):
    response = api_as(factories.ManagerFactory()).get(
        "/api/equity/", {"measure": "CMS999", "stratify": "race,sex,lep", "period_end": "x"}
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"measure", "stratify", "period_end"}


def test_clinic_staff_may_not_stratify_by_navigator_and_see_only_their_clinic(story_population):
    staff = factories.ClinicStaffFactory(clinic=story_population[0])
    client = api_as(staff)
    refused = client.get(
        "/api/equity/",
        {"measure": "completion_180", "program": "colorectal", "stratify": "navigator"},
    )
    assert refused.status_code == 400
    assert "navigator" in refused.json()["stratify"][0]
    mine = _groups(client.get("/api/equity/").json())
    everyone = _groups(api_as(factories.ManagerFactory()).get("/api/equity/").json())
    assert mine["hispanic"]["denominator"] < everyone["hispanic"]["denominator"]


def test_signed_out_callers_get_nothing(story_population, api):
    assert api.get("/api/equity/").status_code in (401, 403)


def test_completion_of_navigation_cases_needs_a_programme(story_population):
    client = api_as(factories.ManagerFactory())
    assert client.get("/api/equity/", {"measure": "completion"}).status_code == 400
    response = client.get("/api/equity/", {"measure": "completion", "program": "colorectal"})
    assert response.status_code == 200
    assert response.json()["measure"] == "completion_180"


def test_the_schema_documents_both_endpoints(client):
    client.force_login(factories.ManagerFactory())  # the schema needs sign-in outside DEBUG
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/equity/" in schema["paths"]
    assert "/api/equity/periods/" in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/equity/"]["get"]["parameters"]}
    assert {"measure", "period_start", "period_end", "stratify", "reference"} <= parameters


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_a_manager_asks_for_another_period_and_it_is_computed_and_listed(
    django_capture_on_commit_callbacks,
):
    client = api_as(factories.ManagerFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/equity/periods/", {"measure": "CMS130", "period": "2024"})
    assert response.status_code == 202
    assert response.json()["label"] == "2024"
    assert MeasurePeriod.objects.filter(measure="CMS130", period_end="2024-12-31").exists()


def test_a_bad_period_request_changes_nothing(db):
    client = api_as(factories.ManagerFactory())
    for body in (
        {"measure": "CMS999", "period": "2024"},
        {"measure": "CMS130", "period": "last year"},
        {"measure": "CMS130", "period_start": "2025-01-01", "period_end": "2024-01-01"},
        {"measure": "CMS130"},
    ):
        response = client.post("/api/equity/periods/", body)
        assert response.status_code == 400, body
    assert not MeasurePeriod.objects.exists()


def test_only_managers_ask_for_periods(db):
    navigator = factories.NavigatorFactory()
    response = api_as(navigator.user).post(
        "/api/equity/periods/", {"measure": "CMS130", "period": "2024"}
    )
    assert response.status_code == 403
