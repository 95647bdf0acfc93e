"""A clinic's staff-entry source (where labs copied from outside reports are kept,
patients.services.labs) is not an EHR feed: made on first use and marked so
(`FhirSource.kind`), it is never listed among the feeds, never an import target
(command, bulk command, API, the import services themselves), and its key prefix is
reserved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from patients import selectors
from patients.fhir.bulk import fhir_bulk_import_create
from patients.fhir.bulk_read import BulkSourceError
from patients.fhir.importer import fhir_import
from patients.fhir.outcome import FhirImportError
from patients.models import (
    ClinicalResource,
    FhirBulkImport,
    FhirImport,
    FhirSource,
    FhirSourceKind,
    Patient,
)
from patients.services.labs import lab_result_record
from tests import factories
from tests.support.api import api_as
from tests.support.fhir import bundle, patient_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(clinic):
    return factories.FhirSourceFactory(key="ehr", name="Clinic EHR", clinic=clinic)


@pytest.fixture
def staff_source(clinic) -> FhirSource:
    """The clinic's staff-entry source, made as the lab service makes it: on first use."""
    patient = factories.PatientFactory(clinic=clinic, birth_date=dt.date(1970, 1, 1))
    resource, _ = lab_result_record(
        patient=patient,
        test="hba1c",
        value=Decimal("8.4"),
        collected_on=dt.date(2026, 1, 10),
        source="Quest, faxed",
        actor=factories.NavigatorFactory().user,
    )
    return resource.source


def test_the_lab_service_marks_its_source_as_staff_entry_and_reuses_it(staff_source, clinic):
    # Given the clinic's first staff-entered lab made its source
    assert staff_source.kind == FhirSourceKind.STAFF_ENTRY
    assert staff_source.key == f"staff-entry-{clinic.pk}"

    # When a second lab is entered for another patient of the clinic
    other = factories.PatientFactory(clinic=clinic, birth_date=dt.date(1960, 1, 1))
    resource, created = lab_result_record(
        patient=other, test="gmi", value=Decimal("7.2"), collected_on=dt.date(2026, 2, 1),
        source="Libre report", actor=factories.NavigatorFactory().user,
    )  # fmt: skip

    # Then it is filed under the same source, the clinic's only one
    assert created and resource.source == staff_source
    assert FhirSource.objects.filter(clinic=clinic).count() == 1


def test_it_is_not_listed_among_the_ehr_feeds(feed, staff_source):
    assert list(FhirSource.objects.ehr_feeds()) == [feed]
    assert selectors.fhir_feed_keys() == ["ehr"]
    assert selectors.fhir_source_by_key(staff_source.key) is None
    assert selectors.fhir_source_by_key("ehr") == feed


def test_the_import_command_lists_only_the_ehr_feeds(feed, staff_source, tmp_path):
    with pytest.raises(CommandError, match=r"known: ehr\)") as refused:
        call_command("import_fhir", str(tmp_path), source="other")
    assert staff_source.key not in str(refused.value)


@pytest.mark.parametrize("with_clinic", [False, True])
def test_the_import_command_refuses_the_staff_entry_source(staff_source, tmp_path, with_clinic):
    # Given a bundle, and the staff-entry source named as its feed (with or without a clinic)
    (tmp_path / "a.json").write_bytes(bundle(patient_resource()))
    patients = Patient.objects.count()
    options = {"clinic": staff_source.clinic.code} if with_clinic else {}

    # When it is imported, then it is refused, saying why, and nothing is written
    with pytest.raises(CommandError, match="holds the labs staff enter") as refused:
        call_command("import_fhir", str(tmp_path), source=staff_source.key, **options)
    assert "nothing is imported into it" in str(refused.value)
    assert Patient.objects.count() == patients
    assert not FhirImport.objects.exists()


def test_an_ehr_feed_cannot_take_the_reserved_key(clinic, tmp_path):
    (tmp_path / "a.json").write_bytes(bundle(patient_resource()))

    with pytest.raises(CommandError, match="kept for the labs staff enter"):
        call_command("import_fhir", str(tmp_path), source="staff-entry-999", clinic=clinic.code)
    with pytest.raises(IntegrityError), transaction.atomic():
        FhirSource.objects.create(key="staff-entry-7", name="Sneaky", clinic=clinic)
    assert not FhirSource.objects.exists()


def test_a_clinic_has_one_staff_entry_source(staff_source):
    with pytest.raises(IntegrityError), transaction.atomic():
        FhirSource.objects.create(
            key="labs-by-hand", name="Another", clinic=staff_source.clinic,
            kind=FhirSourceKind.STAFF_ENTRY,
        )  # fmt: skip


def test_the_import_services_refuse_it(staff_source, tmp_path: Path):
    resources = ClinicalResource.objects.count()

    with pytest.raises(FhirImportError) as refused:
        fhir_import(
            source=staff_source, payload=bundle(patient_resource()), origin="test", actor=None
        )
    with pytest.raises(BulkSourceError, match="nothing is imported into it"):
        fhir_bulk_import_create(source=staff_source, location=tmp_path, actor=None, start=False)

    assert "holds the labs staff enter" in refused.value.issues[0]["diagnostics"]
    assert ClinicalResource.objects.count() == resources
    assert not FhirBulkImport.objects.exists()


def test_the_bulk_command_refuses_it(staff_source, tmp_path):
    with pytest.raises(CommandError, match="holds the labs staff enter"):
        call_command("fhir_bulk_import", staff_source.key, str(tmp_path), inline=True)
    assert not FhirBulkImport.objects.exists()


def test_the_api_refuses_it_as_an_import_target(staff_source):
    response = api_as(factories.ManagerFactory()).generic(
        "POST",
        f"/api/fhir/?source={staff_source.key}",
        bundle(patient_resource()),
        content_type="application/fhir+json",
    )

    assert response.status_code == 400
    assert "holds the labs staff enter" in response.content.decode()
    assert not FhirImport.objects.exists()


def test_measure_reports_take_no_staff_entry_source_for_a_feed(staff_source, feed):
    with pytest.raises(CommandError, match="holds the labs staff enter") as refused:
        call_command(
            "measure_report", measure="CMS122", period_start="2026-01-01", period_end="2026-12-31",
            source=staff_source.key, stdout=StringIO(),
        )  # fmt: skip
    assert "Known feeds: ehr." in str(refused.value)
    response = api_as(factories.ManagerFactory()).get(
        "/api/measures/CMS122/report/",
        {"period_start": "2026-01-01", "period_end": "2026-12-31", "source": staff_source.key},
    )
    assert response.status_code == 400
    assert "No EHR feed has this key" in response.content.decode()
