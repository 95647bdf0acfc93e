"""Care gaps: drop the single-column indexes on patient and program.

The unique (patient, program) index and the (program, status) index lead with those
columns and serve every lookup they did; each redundant index was one more entry
written per gap inserted (4,000 per batch of 1,000 patients on the first computation).

Only the indexes are dropped (DROP INDEX, the same names on PostgreSQL and SQLite):
Django's own AlterField would drop and re-add the foreign keys too, re-checking every
row of a large table under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "patients_caregap_patient_id_e3989a6a": "patient_id",
    "patients_caregap_program_id_a87582d9": "program_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0023_change_history_per_statement"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "patients_caregap" ("{column}")',
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="caregap",
                    name="patient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="care_gaps",
                        to="patients.patient",
                    ),
                ),
                migrations.AlterField(
                    model_name="caregap",
                    name="program",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="patients.screeningprogram",
                    ),
                ),
            ],
        )
    ]
