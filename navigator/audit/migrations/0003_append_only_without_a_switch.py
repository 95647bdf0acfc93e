"""The audit trail's tables refuse UPDATE, and DELETE of any row younger than six
years, with no switch to turn that off.

pgtrigger's Protect triggers (0001, 0002) skip themselves for any session that sets
the `pgtrigger.ignore` setting, which needs no privilege: one line of SQL emptied the
trail (issue 14 review, R7). These are plain triggers, hand-written because no library
installs a trigger without such a switch. The retention purge needs none: it deletes
only rows past the retention period, which is never under six years
(navigator.audit.retention.MINIMUM_RETENTION_DAYS).

What a trigger cannot stop: the tables' owner dropping the trigger or truncating the
table. In production the app connects as a role that does not own them (docs/security.md).
"""

import pgtrigger.migrations
from django.db import migrations

TABLES = ("audit_accessevent", "audit_accessedpatient", "audit_rowchange")

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF TG_TABLE_NAME = 'audit_accessedpatient' THEN
            IF EXISTS (
                SELECT 1 FROM audit_accessevent e
                 WHERE e.id = OLD.event_id AND e.at < now() - interval '6 years'
            ) THEN
                RETURN OLD;
            END IF;
        ELSIF OLD.at < now() - interval '6 years' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'The audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Rows are never updated, and deleted only after six years.';
END;
$$;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: the % in RAISE is PL/pgSQL's, not a placeholder.
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_rewrite()"
        )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS audit_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_rewrite()")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_row_change"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name="accessedpatient", name="append_only"),
        pgtrigger.migrations.RemoveTrigger(model_name="accessevent", name="append_only"),
        pgtrigger.migrations.RemoveTrigger(model_name="rowchange", name="append_only"),
        migrations.RunPython(install, uninstall),
    ]
