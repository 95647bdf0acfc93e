"""What a care-gap recompute writes: every gap as of today, unchanged ones with the same
content (on SQLite only their day is written; on PostgreSQL one upsert stores them all)."""

from __future__ import annotations

import datetime as dt

import pgtrigger
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients import selectors
from patients.models import CareGap, CareGapStamp, Patient
from patients.services import care_gaps
from tests.factories import PatientFactory
from tests.support.fhir import ehr_resource, fit

pytestmark = pytest.mark.django_db

FIRST = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)
NEXT_NIGHT = dt.datetime(2026, 6, 2, 7, 0, tzinfo=dt.UTC)


def recompute(patients: list[Patient], *, on: dt.datetime) -> list[care_gaps.CareGapChange]:
    with time_machine.travel(on, tick=False):
        return care_gaps.care_gaps_recompute(patient_ids=[p.pk for p in patients], as_of=on.date())


def stored(patients: list[Patient]) -> dict[tuple[int, int], tuple]:
    return {
        (gap.patient_id, gap.program_id): (gap.pk, gap.status, gap.summary, gap.reasons)
        for gap in CareGap.objects.filter(patient__in=patients)
    }


@pytest.mark.parametrize("count", [1, 10])
def test_recomputing_unchanged_gaps_writes_only_their_day_in_a_fixed_number_of_queries(
    count, django_assert_num_queries
):
    # Given patients whose gaps were computed last night (overdue: no screening on record)
    patients = [PatientFactory(birth_date=dt.date(1960, 1, 1)) for _ in range(count)]
    recompute(patients, on=FIRST)
    before = stored(patients)
    programs = selectors.program_rules_list()

    # When they are recomputed the next night with nothing new, the queries are the
    # same for 1 patient as for 10:
    # 1-3. the facts: patients, recorded screenings, FHIR resources
    # 4-5. the concepts' codes and their loaded value sets
    # PostgreSQL:
    # 6. one upsert of every gap, reading their previous statuses and stamping the
    #    patients whose gaps were stale (none here) in the same statement
    # SQLite:
    # 6. the stored gaps
    # 7. UPDATE the unchanged gaps: as_of and computed_at only (no upsert: none changed)
    # 8. upsert the stamps of the patients whose gaps were stale (none here: a no-op)
    with (
        time_machine.travel(NEXT_NIGHT, tick=False),
        django_assert_num_queries(6 if connection.vendor == "postgresql" else 8),
    ):
        changes = care_gaps.care_gaps_recompute(
            patient_ids=[p.pk for p in patients], as_of=NEXT_NIGHT.date(), programs=programs
        )

    # Then every gap is the same row with the same content, now as of today
    assert stored(patients) == before
    assert set(
        CareGap.objects.filter(patient__in=patients).values_list("as_of", "computed_at")
    ) == {(NEXT_NIGHT.date(), NEXT_NIGHT)}
    assert {c.old_status for c in changes} == {c.gap.status for c in changes}
    assert all(c.gap.pk == before[(c.patient_id, c.program_id)][0] for c in changes)


def test_a_gap_whose_result_changed_is_rewritten_in_full_and_the_others_keep_their_content():
    # Given a patient overdue for colorectal screening last night
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    recompute([patient], on=FIRST)
    before = stored([patient])

    # When a FIT arrives from the EHR and the gaps are recomputed
    ehr_resource(patient, fit("2026-05-20"))
    with CaptureQueriesContext(connection) as captured:
        changes = recompute([patient], on=NEXT_NIGHT)

    # Then the colorectal gap is rewritten (up to date), in one upsert, the others
    # keep their content; every gap is as of today
    after = stored([patient])
    changed = {key for key in after if after[key] != before[key]}
    (colorectal,) = [c for c in changes if c.gap.status == "up_to_date"]
    assert changed == {(patient.pk, colorectal.program_id)}
    assert colorectal.old_status == "overdue"
    assert (
        after[(patient.pk, colorectal.program_id)][0]
        == before[(patient.pk, colorectal.program_id)][0]
    )
    # On PostgreSQL the upsert is one `WITH ... INSERT` statement.
    inserts = [
        q for q in captured.captured_queries if 'INSERT INTO "PATIENTS_CAREGAP"' in q["sql"].upper()
    ]
    assert len(inserts) == 1
    assert set(CareGap.objects.filter(patient=patient).values_list("as_of", flat=True)) == {
        NEXT_NIGHT.date()
    }


def stamp_of(patient: Patient) -> dt.datetime | None:
    stamp = CareGapStamp.objects.filter(patient=patient).first()
    return stamp.computed_at if stamp else None


def test_the_patients_stamp_moves_only_when_their_gaps_were_stale():
    # Given a patient whose gaps were never computed: no stamp, due
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    assert stamp_of(patient) is None
    assert patient.pk in selectors.care_gap_patients_due(as_of=FIRST.date())

    # When their gaps are computed, they are stamped
    recompute([patient], on=FIRST)
    assert stamp_of(patient) == FIRST

    # When they are recomputed with no new data, the stamp stays (the gaps were current)
    recompute([patient], on=NEXT_NIGHT)
    assert stamp_of(patient) == FIRST
    assert patient.pk not in selectors.care_gap_patients_due(as_of=NEXT_NIGHT.date())

    # When data arrives after it, the patient is due, and the recompute moves the stamp on
    Patient.objects.filter(pk=patient.pk).update(
        clinical_data_changed_at=NEXT_NIGHT + dt.timedelta(hours=1)
    )
    assert patient.pk in selectors.care_gap_patients_due(as_of=NEXT_NIGHT.date())
    later = NEXT_NIGHT + dt.timedelta(hours=2)
    recompute([patient], on=later)
    assert stamp_of(patient) == later
    assert CareGapStamp.objects.filter(patient=patient).count() == 1
    assert patient.pk not in selectors.care_gap_patients_due(as_of=later.date())


def test_stale_in_python_agrees_with_the_stale_selection():
    # Given patients never computed, computed and current, computed then given new data
    never, current, changed = (PatientFactory(birth_date=dt.date(1960, 1, 1)) for _ in range(3))
    recompute([current, changed], on=FIRST)
    Patient.objects.filter(pk=changed.pk).update(
        clinical_data_changed_at=FIRST + dt.timedelta(minutes=1)
    )
    ids = [never.pk, current.pk, changed.pk]

    # Then the page's test (care_gaps_stale, on the patient with its stamp) and the
    # query's (STALE_GAPS) name the same ones: the never computed and the changed
    with_stamps = Patient.objects.select_related("care_gap_stamp").filter(pk__in=ids)
    by_page = sorted(p.pk for p in with_stamps if selectors.care_gaps_stale(p))
    by_query = sorted(
        Patient.objects.filter(pk__in=ids).filter(selectors.STALE_GAPS).values_list("pk", flat=True)
    )
    assert by_page == by_query == sorted([never.pk, changed.pk])


def test_deleting_a_patient_deletes_its_stamp():
    # Given a computed patient (deletion is refused on PostgreSQL by the history trigger;
    # the cascade is what SQLite, the admin's purge and tests rely on)
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    recompute([patient], on=FIRST)
    if connection.vendor == "postgresql":
        with pgtrigger.ignore("patients.Patient:never_deleted"):
            patient.delete()
    else:
        patient.delete()
    assert not CareGapStamp.objects.filter(patient_id=patient.pk).exists()


def test_a_recompute_while_a_trigger_is_ignored_stores_the_gaps():
    # Given a patient, and a block that ignores a history trigger (seed_demo backdates
    # timeline events so): django-pgtrigger then puts `SELECT set_config(...)` with a
    # positional placeholder in front of every statement, whatever its parameters
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    # When the gaps are recomputed inside it
    with pgtrigger.ignore("navigator.CaseEvent:never_rewritten"):
        recompute([patient], on=FIRST)
    # Then they are stored (psycopg refuses positional and named placeholders mixed)
    assert CareGap.objects.filter(patient=patient).count() == len(selectors.program_rules_list())
