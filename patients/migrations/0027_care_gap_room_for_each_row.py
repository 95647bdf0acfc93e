"""Room in each care-gap page for a new version of every row on it (PostgreSQL).

Every recompute (the nightly run among them) rewrites every gap of the patients it
recomputes: PostgreSQL writes a new row version for each, in place (a HOT update, no
index touched) only while the row's page has room for it. At fillfactor 70 (0021) a
page kept room for about 8 of its ~19 gaps: at the bench's full scale (400,000 gaps)
41% of the updates were HOT, and each other one wrote an entry in all five indexes
(about 30 buffer touches a gap). At 50 each gap's next version fits beside it, and
pruning frees the version before, night after night. Only pages written from now on
(and those VACUUM frees) keep the room. Other databases have no such setting.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE patients_caregap SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE patients_caregap SET (fillfactor = 70)")


class Migration(migrations.Migration):
    dependencies = [("patients", "0026_change_history_skips_bookkeeping_fast")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=True)]
