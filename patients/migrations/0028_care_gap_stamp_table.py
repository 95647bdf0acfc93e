"""Issue 15: the care-gap stamp moves from `patients_patient.care_gaps_computed_at` to a
narrow table of its own, `patients_caregapstamp` (patient, computed_at).

Stamping a batch's patients was an UPDATE of the wide patient row: an entry in each of
its ~10 indexes for most rows (few updates were HOT: a batch rewrites every row of a
page), 45-64 ms of a ~236 ms batch of 1,000 at the first computation. A stamp is now
an insert, or an update of an unindexed column in place (HOT), on a table whose only
index is its primary key. At fillfactor 50 each page keeps room for a new version of
every row on it (a batch restamps whole pages), as 0027 does for the care gaps.

In order, in one transaction: the table; its fillfactor (PostgreSQL only); the
existing stamps copied (patients never computed have none, as before a NULL); the
patients' change trigger without the bookkeeping exemption the column needed (the
stamp's table is not tracked, like the care gaps); the column dropped.
"""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE patients_caregapstamp SET (fillfactor = 50)")


def stamps_copy(apps, schema_editor):
    # One INSERT ... SELECT on either database: no row goes through Python.
    schema_editor.execute(
        "INSERT INTO patients_caregapstamp (patient_id, computed_at) "
        "SELECT id, care_gaps_computed_at FROM patients_patient "
        "WHERE care_gaps_computed_at IS NOT NULL"
    )


def stamps_copy_back(apps, schema_editor):
    # Backwards the column is back (with the trigger that ignores it) before this runs.
    schema_editor.execute(
        "UPDATE patients_patient SET care_gaps_computed_at = ("
        "SELECT s.computed_at FROM patients_caregapstamp s WHERE s.patient_id = patients_patient.id)"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0027_care_gap_room_for_each_row'),
    ]

    operations = [
        migrations.CreateModel(
            name='CareGapStamp',
            fields=[
                ('patient', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='care_gap_stamp', serialize=False, to='patients.patient')),
                ('computed_at', models.DateTimeField()),
            ],
        ),
        migrations.RunPython(set_fillfactor, migrations.RunPython.noop),
        migrations.RunPython(stamps_copy, stamps_copy_back),
        pgtrigger.migrations.RemoveTrigger(
            model_name='patient',
            name='change_recorded_update',
        ),
        migrations.RemoveField(
            model_name='patient',
            name='care_gaps_computed_at',
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='patient',
            trigger=pgtrigger.compiler.Trigger(name='change_recorded_update', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE context jsonb;', func="\n            context := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;\n            INSERT INTO audit_rowchange (\n                at, table_name, operation, row_id, patient_id, fields,\n                ids_before, ids_after, user_id, path, request_id\n            )\n            WITH o AS MATERIALIZED (SELECT t.id, to_jsonb(t) AS j FROM old_rows t),\n                 n AS MATERIALIZED (SELECT t.id, to_jsonb(t) AS j FROM new_rows t)\n            SELECT\n                now(), TG_TABLE_NAME, TG_OP, n.id, n.id,\n                to_jsonb(d.changed),\n                COALESCE((SELECT jsonb_object_agg(k, o.j -> k) FROM unnest(d.changed) AS k\n                          WHERE o.j IS NOT NULL AND k = ANY(ARRAY['clinic_id', 'id']::text[])), '{}'::jsonb),\n                COALESCE((SELECT jsonb_object_agg(k, n.j -> k) FROM unnest(d.changed) AS k\n                          WHERE k = ANY(ARRAY['clinic_id', 'id']::text[])), '{}'::jsonb),\n                (context ->> 'user')::bigint,\n                LEFT(COALESCE(context ->> 'url', ''), 300),\n                LEFT(COALESCE(context ->> 'request_id', ''), 64)\n              FROM n\n              LEFT JOIN o ON o.id = n.id\n              \n              CROSS JOIN LATERAL (\n                  SELECT array_agg(k ORDER BY k) AS changed\n                    FROM jsonb_object_keys(n.j) AS k\n                   WHERE o.j IS NULL OR (n.j -> k) IS DISTINCT FROM (o.j -> k)\n              ) d\n             WHERE d.changed IS NOT NULL \n             ORDER BY n.id;\n            RETURN NULL;\n        ", hash='297684099886ae04f5d3d4856f2e01a99d256f0e', level='STATEMENT', operation='UPDATE', pgid='pgtrigger_change_recorded_update_0b6d7', referencing='REFERENCING OLD TABLE AS old_rows  NEW TABLE AS new_rows ', table='patients_patient', when='AFTER')),
        ),
    ]
