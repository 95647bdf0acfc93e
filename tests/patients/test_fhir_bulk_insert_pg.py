"""The bulk import's PostgreSQL inserts (`patients.fhir.bulk_insert`) write exactly the rows
`bulk_create` writes: every column, defaults and auto_now values included."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import DataError, connection, transaction
from django.utils import timezone

from patients.fhir import bulk_insert
from patients.fhir.bulk_insert import instances_insert, rows_insert
from patients.models import Clinic, FhirSource, Patient, PatientPhone, PatientSourceLink

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def columns(model, pk, *left_out):
    row = model.objects.filter(pk=pk).values()[0]
    return {name: value for name, value in row.items() if name not in {"id", *left_out}}


NOW = timezone.now()


def new_patient(clinic, mrn):
    return Patient(
        clinic=clinic, mrn=mrn, given_name="Ana María", family_name="O'Neil \"Ruiz\"",
        birth_date=dt.date(1960, 1, 2), sex="female", email="ana@example.org",
        interpreter_needed=True, clinical_data_changed_at=NOW,
    )  # fmt: skip


def test_instances_insert_writes_the_row_bulk_create_writes(require_postgres):
    clinic = Clinic.objects.create(code="c1", name="Clinic")
    by_django, by_us = new_patient(clinic, "A1"), new_patient(clinic, "A2")
    Patient.objects.bulk_create([by_django])

    instances_insert([by_us])

    # The primary key is set and the instance is saved, as bulk_create leaves it
    assert by_us.pk is not None and not by_us._state.adding
    # Every column the same but the MRN and the times the insert itself stamps
    assert columns(Patient, by_us.pk, "mrn", "created_at", "updated_at") == columns(
        Patient, by_django.pk, "mrn", "created_at", "updated_at"
    )
    assert Patient.objects.get(pk=by_us.pk).created_at is not None


def test_rows_insert_writes_the_rows_bulk_create_writes(require_postgres):
    clinic = Clinic.objects.create(code="c1", name="Clinic")
    source = FhirSource.objects.create(key="feed", name="Feed", clinic=clinic)
    patient = new_patient(clinic, "A1")
    patient.save()
    now = timezone.now()
    PatientPhone.objects.bulk_create(
        [PatientPhone(patient=patient, number="+16175550100", kind="mobile", rank=0)]
    )
    PatientSourceLink.objects.bulk_create(
        [PatientSourceLink(source=source, resource_id="p1", patient=patient,
                           content_hash="h" * 64, linked_at=now)]
    )  # fmt: skip

    rows_insert(
        PatientPhone,
        ["patient", "number", "kind", "rank", "is_bad", "undeliverable"],
        [(patient.pk, "+16175550101", "mobile", 1, False, "")],
    )
    rows_insert(
        PatientSourceLink,
        ["source", "resource_id", "patient", "content_hash", "linked_at"],
        [(source.pk, "p2", patient.pk, "h" * 64, now)],
    )

    phones = [
        columns(PatientPhone, pk, "number", "rank")
        for pk in PatientPhone.objects.values_list("pk", flat=True)
    ]
    assert len(phones) == 2 and phones[0] == phones[1]
    links = [columns(PatientSourceLink, pk, "resource_id")
             for pk in PatientSourceLink.objects.values_list("pk", flat=True)]  # fmt: skip
    assert links[0] == links[1]


def test_rows_insert_refuses_a_value_too_long_for_its_column_as_bulk_create_does(
    require_postgres,
):
    clinic = Clinic.objects.create(code="c1", name="Clinic")
    source = FhirSource.objects.create(key="feed", name="Feed", clinic=clinic)
    patient = new_patient(clinic, "A1")
    patient.save()

    # A resource id over the column's 64 characters is refused, never cut to fit
    with pytest.raises(DataError), transaction.atomic():
        rows_insert(
            PatientSourceLink,
            ["source", "resource_id", "patient", "content_hash", "linked_at"],
            [(source.pk, "x" * 65, patient.pk, "h" * 64, timezone.now())],
        )
    assert not PatientSourceLink.objects.exists()


PREPARED_VALUES = [
    None, "", "x", "é" * 300, 0, 1, -5, 2**40, True, False, 1.5, dt.date(2026, 3, 2),
    dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    "2026-03-02", "+16175550100", "12",
]  # fmt: skip


def prepared(prepare, value):
    """The JSON text of what `prepare` gives for `value` (what the insert sends: psycopg's
    Int2(0) is 0), or the error it raises (type and text)."""
    try:
        return ("value", json.dumps(prepare(value)))
    except Exception as error:  # noqa: BLE001 - the two paths must fail alike too
        return ("error", type(error), str(error))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a naive datetime, both paths
def test_the_short_preparation_gives_what_the_field_gives(require_postgres):
    # Every value of every field the bulk insert writes, the short path for plain
    # fields and the fields' own get_db_prep_save give the same JSON value (or error).
    naive = dt.datetime(2026, 3, 2, 14, 0)  # noqa: DTZ001 - the case under test
    values = [*PREPARED_VALUES, naive]
    compared = 0
    for model in (Patient, PatientPhone, PatientSourceLink):
        for field in model._meta.concrete_fields:
            short = bulk_insert._preparer(field)
            for value in values:
                general = prepared(
                    lambda v, f=field: bulk_insert._json_value(f.get_db_prep_save(v, connection)),
                    value,
                )
                assert prepared(short, value) == general, (model.__name__, field.name, value)
                compared += 1
    assert compared > 500
