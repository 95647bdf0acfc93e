"""The care-gap recompute's two ways of storing gaps agree: PostgreSQL's one upsert
statement and the general path (read the stored gaps, compare, upsert the changed
ones, move the day of the others, stamp stale patients; SQLite's) leave the same rows,
the same patients' stamps, and answer the same changes in the same order, from an
empty table and from stored gaps some of which change. Both run here on PostgreSQL,
on a varied population (ages 20-90, both sexes, smokers, the deceased, FIT results,
colonoscopies, colectomies, screenings a navigator recorded)."""

from __future__ import annotations

import datetime as dt
import types

import pytest
import time_machine
from django.db import transaction

from patients.models import (
    CareGap,
    CareGapStamp,
    ClinicalResource,
    FhirSource,
    Patient,
    ScreeningEvent,
    ScreeningModality,
)
from patients.services import care_gaps
from tests.benchmarks.care_gaps import _resources
from tests.factories import ClinicFactory, PatientFactory
from tests.support.fhir import ehr_resource, fit

pytestmark = pytest.mark.django_db

FIRST = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
N = 60


def _population() -> list[Patient]:
    clinic = ClinicFactory()
    source = FhirSource.objects.create(key="paths", name="Paths EHR", clinic=clinic)
    modalities = list(ScreeningModality.objects.order_by("pk"))
    patients = []
    for i in range(N):
        patient = PatientFactory(
            clinic=clinic,
            birth_date=dt.date(1936, 1, 1) + dt.timedelta(days=(i * 7919) % (365 * 70)),
            sex="female" if i % 2 else "male",
            smoking_status=("current", "former", "never")[i % 3],
            smoking_pack_years=(i % 40) if i % 3 != 2 else None,
            deceased=i % 17 == 5,
        )
        for resource_type, resource_id, resource in _resources(i, patient.pk):
            ClinicalResource.objects.create(
                patient=patient,
                source=source,
                resource_type=resource_type,
                resource_id=resource_id,
                resource=resource,
                content_hash=resource_id,
            )
        if i % 4 == 1:
            ScreeningEvent.objects.create(
                patient=patient,
                modality=modalities[i % len(modalities)],
                performed_on=dt.date(2019 + i % 7, 3, 1),
                result="normal",
            )
        patients.append(patient)
    return patients


def _run(patients: list[Patient], *, on: dt.datetime, general: bool, monkeypatch) -> tuple:
    """One recompute by one path, rolled back: what it answered and left behind."""
    ids = [p.pk for p in patients]
    with transaction.atomic():
        with monkeypatch.context() as patch, time_machine.travel(on, tick=False):
            if general:
                # The path taken wherever the database is not PostgreSQL.
                patch.setattr(care_gaps, "connection", types.SimpleNamespace(vendor="sqlite"))
            changes = care_gaps.care_gaps_recompute(patient_ids=ids, as_of=on.date())
        rows = {
            (gap["patient_id"], gap["program_id"]): gap
            for gap in CareGap.objects.filter(patient_id__in=ids).values()
        }
        # When and what each stamp saw (the value the staleness test compares).
        stamps = {
            patient_id: (computed_at, seen)
            for patient_id, computed_at, seen in CareGapStamp.objects.filter(
                patient_id__in=ids
            ).values_list("patient_id", "computed_at", "data_changed_at_seen")
        }
        transaction.set_rollback(True)
    answered = [
        (c.patient_id, c.program_id, c.old_status, c.gap.status, c.gap.summary, c.result)
        for c in changes
    ]
    # Each change names the row it stored (ids are the sequence's: compared apart).
    assert all(c.gap.pk == rows[(c.patient_id, c.program_id)]["id"] for c in changes)
    assert len(changes) == len(rows) > 0
    return answered, rows, stamps


def _without_ids(rows: dict) -> dict:
    return {key: {k: v for k, v in row.items() if k != "id"} for key, row in rows.items()}


def test_both_paths_agree_from_an_empty_table_and_from_stored_gaps(require_postgres, monkeypatch):
    patients = _population()

    # From no stored gap: the same rows (but for their new ids), stamps and changes
    fast = _run(patients, on=FIRST, general=False, monkeypatch=monkeypatch)
    general = _run(patients, on=FIRST, general=True, monkeypatch=monkeypatch)
    assert fast[0] == general[0]
    assert _without_ids(fast[1]) == _without_ids(general[1])
    assert fast[2] == general[2]
    assert {c[3] for c in fast[0]} >= {"not_eligible", "overdue", "up_to_date", "excluded"}

    # Given those gaps stored, then new data for some patients (a FIT, a death)
    with time_machine.travel(FIRST, tick=False):
        care_gaps.care_gaps_recompute(patient_ids=[p.pk for p in patients], as_of=FIRST.date())
    with time_machine.travel(FIRST + dt.timedelta(hours=2), tick=False):
        for patient in patients[::5]:
            ehr_resource(patient, fit("2026-11-20"))
        Patient.objects.filter(pk=patients[3].pk).update(
            deceased=True, clinical_data_changed_at=FIRST + dt.timedelta(hours=2)
        )

    # When both paths recompute a week later from that same state: the same rows,
    # ids included, the same stamps, the same changes with the same previous statuses
    fast = _run(patients, on=LATER, general=False, monkeypatch=monkeypatch)
    general = _run(patients, on=LATER, general=True, monkeypatch=monkeypatch)
    assert fast == general
    moved = [c for c in fast[0] if c[2] != c[3]]
    assert moved and all(c[2] is not None for c in fast[0])
    assert any(stamp[0] == LATER for stamp in fast[2].values())
    assert any(stamp[0] == FIRST for stamp in fast[2].values())
