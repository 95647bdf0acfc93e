"""The INSERT trigger's trail (`ChangeRecorded`, which no longer turns each new row into
jsonb) is the trail of the per-row comparison it replaced: for every tracked table, every
new row's `fields` are the sorted keys of `to_jsonb(row)`, its `ids_after` the id columns'
values from it, `ids_before` empty - computed here by the old SQL from the stored rows,
over rows written every way (a bulk referral import by COPY, single services, factories,
raw SQL)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.apps import apps
from django.db import connection

from navigator.audit.history import ChangeRecorded
from navigator.audit.models import RowChange
from navigator.intake.referral_uploads import referrals_upload
from navigator.models import NavigationCase
from patients.models import Patient
from tests import factories
from tests.patients.test_referral_upload import csv_bytes, good_row

pytestmark = pytest.mark.django_db

# The old trigger's expressions, on the stored row (`t`).
OLD_FIELDS = "SELECT to_jsonb(array_agg(k ORDER BY k)) FROM jsonb_object_keys(to_jsonb(t)) AS k"
OLD_IDS = (
    "COALESCE((SELECT jsonb_object_agg(k, to_jsonb(t) -> k) FROM jsonb_object_keys(to_jsonb(t))"
    " AS k WHERE k = ANY(%s)), '{}'::jsonb)"
)


def tracked_models():
    for model in apps.get_models():
        for trigger in getattr(model._meta, "triggers", []):
            if isinstance(trigger, ChangeRecorded) and trigger.name == "change_recorded_insert":
                yield model


def test_every_new_rows_trail_is_the_per_row_comparisons(require_postgres):
    # Given rows written every way
    staff = factories.ClinicStaffFactory()
    factories.NavigatorFactory(languages=["en", "pt"])
    rows = [good_row(n, phone="" if n % 2 else "(617) 555-0142") for n in range(1, 8)]
    referrals_upload(
        clinic=staff.clinic,
        actor=staff,
        file_bytes=csv_bytes(rows),
        filename="r.csv",
        mode="good_rows",
    )
    factories.ContactAttemptFactory()
    factories.AppointmentFactory()
    factories.ScreeningEventFactory()
    factories.CaseBarrierFactory()
    patient = factories.PatientFactory()
    with connection.cursor() as cursor:  # behind every service's back
        cursor.execute(
            "INSERT INTO patients_patient (clinic_id, mrn, given_name, family_name, birth_date,"
            " sex, preferred_language, written_language, english_proficiency, language_status,"
            " language_source, interpreter_needed, sms_consent, preferred_channel,"
            " best_contact_times, email, address_line1, address_line2, city, state,"
            " postal_code, time_zone, insurance_type, smoking_status, deceased, race_group,"
            " race_ethnicity_source, created_at, updated_at)"
            " SELECT clinic_id, 'RAW' || id, given_name, family_name, birth_date, sex,"
            " preferred_language, written_language, english_proficiency, language_status,"
            " language_source, interpreter_needed, sms_consent, preferred_channel,"
            " best_contact_times, email, address_line1, address_line2, city, state,"
            " postal_code, time_zone, insurance_type, smoking_status, deceased, race_group,"
            " race_ethnicity_source, now(), now() FROM patients_patient WHERE id = %s",
            [patient.pk],
        )

    # Then every table's new rows have the old trail, whatever wrote them
    compared: dict[str, int] = {}
    for model in tracked_models():
        table = model._meta.db_table
        ids = sorted(
            f.column for f in model._meta.concrete_fields if f.primary_key or f.is_relation
        )
        updated = set(
            RowChange.objects.filter(table_name=table, operation="UPDATE").values_list(
                "row_id", flat=True
            )
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t.id, ({OLD_FIELDS})::text, ({OLD_IDS})::text FROM {table} t",  # noqa: S608
                [ids],
            )
            expected = {
                pk: (json.loads(fields), json.loads(ids_after))
                for pk, fields, ids_after in cursor.fetchall()
            }
        for change in RowChange.objects.filter(table_name=table, operation="INSERT"):
            if change.row_id in updated:  # an id may have changed since: not comparable
                continue
            assert (change.fields, change.ids_after) == expected[change.row_id], table
            assert change.ids_before == {}
            compared[table] = compared.get(table, 0) + 1
    assert compared[Patient._meta.db_table] >= 8
    assert compared["patients_referral"] >= 7
    assert compared[NavigationCase._meta.db_table] >= 7
    assert len(compared) >= 6, compared


def test_a_new_rows_trail_names_its_patient_and_request(require_postgres):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_metadata', %s, true)",
            ['{"user": 7, "url": "/x/", "request_id": "r1"}'],
        )
    attempt = factories.ContactAttemptFactory()

    change = RowChange.objects.get(table_name="outreach_contactattempt", row_id=attempt.pk)

    assert change.operation == "INSERT"
    assert change.patient_id == attempt.case.patient_id
    assert (change.user_id, change.path, change.request_id) == (7, "/x/", "r1")
    assert change.at.date() >= dt.date(2020, 1, 1)
