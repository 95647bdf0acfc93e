"""The patients' change trigger returns early when an UPDATE changed only bookkeeping
columns (the care-gap stamp), by typed column comparisons instead of the full jsonb
diff. It must record exactly what the full path records: nothing for stamp-only
updates, and every changed row, naming every column, as soon as any row changed
anything else. These run on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Case, F, Value, When
from django.utils import timezone

from navigator.audit.models import RowChange
from patients.models import Patient
from tests import factories

pytestmark = pytest.mark.django_db

N = 25


def _changes(ids) -> list[RowChange]:
    return list(
        RowChange.objects.filter(table_name="patients_patient", row_id__in=list(ids)).order_by("id")
    )


def _early_return_sql() -> str:
    trigger = next(t for t in Patient._meta.triggers if t.name == "change_recorded_update")
    func = trigger.get_func(Patient)
    return func[: func.index("RETURN NULL;")]


def test_the_early_return_compares_every_column_of_the_table_but_the_id_and_the_stamp(
    require_postgres,
):
    # A column the early return did not compare would go unrecorded whenever it changed
    # together with the stamp only: every column PostgreSQL has for the table is in it
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            ["patients_patient"],
        )
        columns = {name for (name,) in cursor.fetchall()}
    compared = _early_return_sql()
    missing = [
        c
        for c in sorted(columns - {"id", "care_gaps_computed_at"})
        if f"n.{c} IS DISTINCT FROM o.{c}" not in compared
        and f"to_jsonb(n.{c}) IS DISTINCT FROM to_jsonb(o.{c})" not in compared
    ]
    assert missing == []
    assert "n.care_gaps_computed_at" not in compared


def test_a_stamp_of_many_patients_with_one_clinical_change_records_that_one_only(
    require_postgres,
):
    # Given N patients, never smokers
    patients = factories.PatientFactory.create_batch(N, smoking_status="never")
    ids = [patient.pk for patient in patients]
    changed = patients[N // 2].pk
    count = len(_changes(ids))

    # When one UPDATE stamps all of them and changes one's smoking status
    Patient.objects.filter(pk__in=ids).update(
        care_gaps_computed_at=timezone.now(),
        smoking_status=Case(When(pk=changed, then=Value("current")), default=F("smoking_status")),
    )

    # Then that one is recorded, naming both columns, and no other
    new = _changes(ids)[count:]
    assert [(c.row_id, c.fields) for c in new] == [
        (changed, ["care_gaps_computed_at", "smoking_status"])
    ]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("family_name", "Renamed"),  # varchar
        ("birth_date", dt.date(1950, 1, 2)),  # date
        ("deceased", True),  # boolean
        ("smoking_pack_years", 31),  # smallint
        ("clinical_data_changed_at", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
    ],
)
def test_a_stamp_with_a_change_of_any_type_is_recorded(require_postgres, column, value):
    # Given a patient
    patient = factories.PatientFactory(deceased=False, smoking_pack_years=4)

    # When one UPDATE stamps the care gaps and changes one column of that type
    Patient.objects.filter(pk=patient.pk).update(
        care_gaps_computed_at=timezone.now(), **{column: value}
    )

    # Then it is recorded, naming both
    change = _changes([patient.pk])[-1]
    assert change.fields == sorted(["care_gaps_computed_at", column])


def test_a_clinic_move_with_the_stamp_keeps_the_ids_before_and_after(require_postgres):
    # Given a patient of one clinic, and another clinic
    patient, other = factories.PatientFactory(), factories.ClinicFactory()
    before = patient.clinic_id

    # When one UPDATE stamps the gaps and moves the patient
    Patient.objects.filter(pk=patient.pk).update(
        care_gaps_computed_at=timezone.now(), clinic_id=other.pk
    )

    # Then the change has the clinic before and after
    change = _changes([patient.pk])[-1]
    assert change.fields == ["care_gaps_computed_at", "clinic_id"]
    assert change.ids_before == {"clinic_id": before}
    assert change.ids_after == {"clinic_id": other.pk}


def test_a_stamp_that_sets_the_same_values_again_records_nothing(require_postgres):
    # Given N stamped patients
    ids = [p.pk for p in factories.PatientFactory.create_batch(N)]
    Patient.objects.filter(pk__in=ids).update(care_gaps_computed_at=timezone.now())
    count = len(_changes(ids))

    # When an UPDATE rewrites their names with the same names, and the stamp moves
    Patient.objects.filter(pk__in=ids).update(
        family_name=F("family_name"), care_gaps_computed_at=timezone.now()
    )

    # Then nothing is recorded, as before (no value but the stamp changed)
    assert len(_changes(ids)) == count
