"""The referral bench's second floor (`tests.benchmarks.write_floor`): it copies back
exactly the rows a job inserted, with the audit triggers on, and leaves the database
as it found it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.db import connection

from navigator.audit.models import RowChange
from navigator.intake.referrals import referral_create
from patients.models import ScreeningProgram
from patients.services.patients import PatientInput
from tests.benchmarks.write_floor import ids_before, rows_written_floor
from tests.factories import ClinicStaffFactory, NavigatorFactory

pytestmark = pytest.mark.django_db


def table_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.managed and not model._meta.proxy:
                cursor.execute(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')  # noqa: S608
                counts[model._meta.label] = cursor.fetchone()[0]
    return counts


def test_the_write_floor_copies_back_the_rows_a_job_inserted_and_changes_nothing(
    require_postgres, clinic
):
    # Given two referrals written after the snapshot (a navigator to take the cases)
    staff = ClinicStaffFactory(clinic=clinic)
    NavigatorFactory()
    before = ids_before()
    for n in range(2):
        referral_create(
            clinic=clinic,
            program=ScreeningProgram.objects.get(code="colorectal"),
            patient_data=PatientInput(
                mrn=f"FLOOR{n}",
                given_name="Ana",
                family_name=f"Floor{n}",
                birth_date=dt.date(1960, 1, 1 + n),
                sex="female",
            ),
            referring_clinician="Dr. Floor",
            actor=staff,
        )
    counts = table_counts()
    audit_rows = RowChange.objects.count()

    # When the floor copies the written rows back
    floor = rows_written_floor(before)

    # Then it copied exactly the rows the referrals inserted, the audit trigger wrote
    # their trail again, and the database is as it was
    assert floor.rows["patients.Patient"] == 2
    assert floor.rows["patients.Referral"] == 2
    assert floor.rows["navigator.NavigationCase"] == 2
    assert floor.rows["navigator.CaseEvent"] >= 2
    assert "navigator_audit.RowChange" not in floor.rows
    # (the inserts' trail only: the floor leaves out the job's updates)
    inserts_recorded = RowChange.objects.filter(
        id__gt=before["audit_rowchange"], operation="INSERT"
    )
    assert floor.regenerated == inserts_recorded.count()
    assert floor.regenerated > 0
    assert floor.seconds > 0 and "foreign keys checked" in floor.steps
    assert table_counts() == counts
    assert RowChange.objects.count() == audit_rows
