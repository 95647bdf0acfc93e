"""The care gap's recheck-day and last-modality indexes hold only the gaps that have
one (issue 15): their readers ask for a value, and most gaps have neither, so a full
index wrote an entry per gap for nothing."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0033_fhir_source_kind_staff_entry'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='caregap',
            name='patients_ca_recheck_fd8287_idx',
        ),
        # Only the foreign key's index goes: Django's AlterField would also drop and
        # re-add the constraint (re-checking every gap on PostgreSQL) and rebuild the
        # table on SQLite. The name is Django's for that index on both databases.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='caregap',
                    name='last_modality',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='patients.screeningmodality'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "patients_caregap_last_modality_id_e6e7ea6a"',
                    reverse_sql='CREATE INDEX "patients_caregap_last_modality_id_e6e7ea6a" ON "patients_caregap" ("last_modality_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='caregap',
            index=models.Index(condition=models.Q(('recheck_on__isnull', False)), fields=['recheck_on'], name='care_gap_recheck_on'),
        ),
        migrations.AddIndex(
            model_name='caregap',
            index=models.Index(condition=models.Q(('last_modality__isnull', False)), fields=['last_modality'], name='care_gap_last_modality'),
        ),
    ]
