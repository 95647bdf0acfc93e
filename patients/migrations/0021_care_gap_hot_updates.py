"""Room in each page for a care gap's and a patient's next version (PostgreSQL).

The nightly recompute moves every gap's `as_of`/`computed_at` on and stamps each
patient's `care_gaps_computed_at`; none of those columns is indexed, so with free
room on the row's page PostgreSQL updates it in place (a HOT update) instead of
writing a new entry in every index (7 on care gaps, 10 on patients). Pages filled
to 100% left no room: almost no update was HOT. Only pages written from now on
(and those VACUUM frees) keep the room. Other databases have no such setting.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE patients_caregap SET (fillfactor = 70)")
    schema_editor.execute("ALTER TABLE patients_patient SET (fillfactor = 85)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE patients_caregap RESET (fillfactor)")
    schema_editor.execute("ALTER TABLE patients_patient RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("patients", "0020_fhir_bulk_import")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=True)]
