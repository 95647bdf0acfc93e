"""Measure reports: the command's JSON, the FHIR MeasureReport API, and their bad input."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from patients.models import ClinicalResource, FhirSource, PatientSourceLink
from tests.factories import (
    ClinicStaffFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
)
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

SUBJECT = {"reference": "Patient/x"}


def office_visit(day: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
        "period": {"start": f"{day}T10:00:00Z", "end": f"{day}T10:30:00Z"},
        "subject": SUBJECT,
    }


def colonoscopy(day: str) -> dict:
    return {
        "resourceType": "Procedure",
        "status": "completed",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "45378"}]},
        "performedDateTime": day,
        "subject": SUBJECT,
    }


@pytest.fixture
def feed(clinic):
    return FhirSource.objects.create(key="ehr", name="EHR", clinic=clinic)


def from_feed(feed, resource_id: str, birth_date: dt.date, *resources: dict):
    patient = PatientFactory(clinic=feed.clinic, birth_date=birth_date, sex="female")
    PatientSourceLink.objects.create(source=feed, resource_id=resource_id, patient=patient)
    for number, resource in enumerate(resources):
        ClinicalResource.objects.create(
            patient=patient,
            source=feed,
            resource_type=resource["resourceType"],
            resource_id=f"{resource_id}-{number}",
            resource=resource,
            content_hash=f"{resource_id}-{number}",
        )
    return patient


@pytest.fixture
def population(feed):
    # In the denominator and screened; in the denominator, not screened; too young.
    from_feed(
        feed, "screened", dt.date(1960, 5, 1), office_visit("2025-03-01"), colonoscopy("2020-01-01")
    )
    from_feed(feed, "unscreened", dt.date(1962, 5, 1), office_visit("2025-04-01"))
    from_feed(feed, "young", dt.date(1990, 5, 1), office_visit("2025-04-01"))


def run_report(**options) -> dict:
    out = StringIO()
    call_command("measure_report", stdout=out, **options)
    return json.loads(out.getvalue())


def test_the_command_prints_each_patient_and_the_summary(population):
    report = run_report(
        measure="CMS130", period_start="2025-01-01", period_end="2025-12-31", format="json"
    )

    assert report["measure"] == "CMS130"
    assert report["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    by_id = {p["id"]: p["populations"] for p in report["patients"]}
    assert by_id["screened"] == {
        "initial-population": 1,
        "denominator": 1,
        "denominator-exclusion": 0,
        "numerator": 1,
    }
    assert by_id["unscreened"]["numerator"] == 0
    assert by_id["young"]["initial-population"] == 0
    assert report["summary"] == {
        "initial-population": 2,
        "denominator": 2,
        "denominator-exclusion": 0,
        "numerator": 1,
        "rate": 0.5,
    }
    # No value set is loaded here: the report says the starter codes stood in.
    assert "starter codes" in report["warnings"][0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"period_start": "2025-13-01", "period_end": "2025-12-31"}, "--period-start"),
        ({"period_start": "2025-01-01", "period_end": "31/12/2025"}, "--period-end"),
        ({"period_start": "2025-12-31", "period_end": "2025-01-01"}, "before --period-start"),
        (
            {"period_start": "2025-01-01", "period_end": "2025-12-31", "source": "nope"},
            "No feed “nope”",
        ),
    ],
)
def test_the_command_refuses_bad_options_clearly(population, options, message):
    with pytest.raises(CommandError, match=message):
        run_report(measure="CMS130", format="json", **options)


def test_the_command_refuses_an_unknown_measure():
    with pytest.raises(CommandError, match="invalid choice"):
        run_report(measure="CMS999", period_start="2025-01-01", period_end="2025-12-31")


def test_the_api_returns_a_summary_measure_report(population):
    response = api_as(ManagerFactory()).get(
        "/api/measures/CMS130/report/", {"period_start": "2025-01-01", "period_end": "2025-12-31"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    report = response.json()
    assert report["resourceType"] == "MeasureReport"
    assert report["type"] == "summary"
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    assert counts == {
        "initial-population": 2,
        "denominator": 2,
        "denominator-exclusion": 0,
        "numerator": 1,
    }
    assert report["group"][0]["measureScore"] == {"value": 0.5}


def test_the_api_returns_an_individual_report_with_its_evidence(population):
    response = api_as(ManagerFactory()).get(
        "/api/measures/cms130/report/",
        {"period_start": "2025-01-01", "period_end": "2025-12-31", "patient": "screened"},
    )

    report = response.json()
    assert report["type"] == "individual"
    assert report["subject"] == {"reference": "Patient/screened"}
    evidence = [e["valueString"] for e in report["extension"]]
    assert any(line.startswith("Colonoscopy") for line in evidence)


@pytest.mark.parametrize(
    ("params", "status", "where"),
    [
        ({"period_end": "2025-12-31"}, 400, "period_start"),
        ({"period_start": "2025-02-30", "period_end": "2025-12-31"}, 400, "period_start"),
        ({"period_start": "2025-12-31", "period_end": "2025-01-01"}, 400, "period_end"),
        ({"period_start": "1990-01-01", "period_end": "1990-12-31"}, 400, "period_start"),
        ({"period_start": "2025-01-01", "period_end": "2025-12-31", "source": "x"}, 400, "source"),
        (
            {"period_start": "2025-01-01", "period_end": "2025-12-31", "patient": "zz"},
            404,
            "patient",
        ),
    ],
)
def test_the_api_answers_bad_parameters_with_an_operation_outcome(
    population, params, status, where
):
    response = api_as(ManagerFactory()).get("/api/measures/CMS130/report/", params)

    assert response.status_code == status
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [where]
    assert outcome["issue"][0]["diagnostics"]


def test_an_unknown_measure_is_404():
    response = api_as(ManagerFactory()).get(
        "/api/measures/CMS1/report/", {"period_start": "2025-01-01", "period_end": "2025-12-31"}
    )

    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize("make_user", [lambda: NavigatorFactory().user, ClinicStaffFactory])
def test_only_managers_get_measure_reports(make_user):
    response = api_as(make_user()).get(
        "/api/measures/CMS130/report/", {"period_start": "2025-01-01", "period_end": "2025-12-31"}
    )

    assert response.status_code == 403
