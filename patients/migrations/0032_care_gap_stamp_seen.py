"""The care-gap stamp records what the facts saw, not when they were read:
`CareGapStamp.data_changed_at_seen`, the patient's `clinical_data_changed_at` as the
recompute read it. A patient is stale while that differs from the patient's value.

Existing stamps get the patient's current value only where they are current under the
old rule (`computed_at` at or after `clinical_data_changed_at`, or no value): they stay
current. Elsewhere `data_changed_at_seen` stays NULL against a patient's non-NULL value,
so the patient stays stale, as before, until the next recompute.
"""

from django.db import migrations, models


def seen_where_current(apps, schema_editor):
    # One UPDATE on either database: no row goes through Python. A NULL value needs no
    # copy (NULL is what the column already holds).
    schema_editor.execute(
        "UPDATE patients_caregapstamp SET data_changed_at_seen = ("
        "SELECT p.clinical_data_changed_at FROM patients_patient p"
        " WHERE p.id = patients_caregapstamp.patient_id) "
        "WHERE EXISTS (SELECT 1 FROM patients_patient p"
        " WHERE p.id = patients_caregapstamp.patient_id"
        " AND p.clinical_data_changed_at IS NOT NULL"
        " AND patients_caregapstamp.computed_at >= p.clinical_data_changed_at)"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0031_seed_diabetes_control'),
    ]

    operations = [
        migrations.AddField(
            model_name='caregapstamp',
            name='data_changed_at_seen',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(seen_where_current, migrations.RunPython.noop),
    ]
