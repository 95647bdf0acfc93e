"""Change history of the clinical records, kept by PostgreSQL triggers.

`history_track(Model)` installs `ChangeRecorded`: after every insert and every update
of a row, the database writes one `RowChange` - the table, the row's id, its patient,
the names of the columns that changed, the before and after of those that are ids
(the case's navigator, the patient, the actor), and the request behind it. Triggers
see what the ORM's `save()` never does: a bulk `update()`, raw SQL, a psql session.
No value other than an id is kept: not a name, a note, a date, a status or a result
(45 CFR 164.312(b); the trail is read by people who may not read the records).

Why hand-written: django-pghistory snapshots column values, which would copy PHI into
the trail, and cannot say which columns changed. Its request context is reused: its
middleware puts the user, path and request id into the `pghistory.context_metadata`
setting of each write (`ChangeContextMiddleware`), which the trigger reads. pgtrigger
installs the trigger and keeps it in the migrations.

`never_deleted(Model)` refuses DELETE at the database; `never_rewritten(Model)`
refuses UPDATE and DELETE (the timeline). On SQLite, the embedded default, there are
no triggers: the services and the read-only admin are the only writers there.
"""

from __future__ import annotations

from typing import Literal

import pgtrigger
from django.apps import apps
from django.db import models

PatientVia = Literal["id", "patient_id", "case_id"]


class ChangeRecorded(pgtrigger.Trigger):
    """After INSERT or UPDATE of a row: one `RowChange` naming what changed."""

    when = pgtrigger.After
    operation = pgtrigger.Insert | pgtrigger.Update
    level = pgtrigger.Row
    declare = [
        ("new_row", "jsonb"),
        ("old_row", "jsonb"),
        ("changed", "text[]"),
        ("context", "jsonb"),
        ("patient", "bigint"),
    ]

    def __init__(self, *, name: str, patient_via: PatientVia):
        self.patient_via = patient_via
        super().__init__(name=name)

    def get_func(self, model: type[models.Model]) -> str:  # type: ignore[override]
        id_columns = sorted(
            f.column for f in model._meta.concrete_fields if f.primary_key or f.is_relation
        )
        ids = "ARRAY[" + ", ".join(f"'{column}'" for column in id_columns) + "]::text[]"
        change_table = apps.get_model("audit", "RowChange")._meta.db_table
        case_table = apps.get_model("navigator", "NavigationCase")._meta.db_table
        patient = {
            "id": "(new_row ->> 'id')::bigint",
            "patient_id": "(new_row ->> 'patient_id')::bigint",
            "case_id": (
                # Table names from the models' own metadata, never from input.
                f"(SELECT c.patient_id FROM {case_table} c "  # noqa: S608
                "WHERE c.id = (new_row ->> 'case_id')::bigint)"
            ),
        }[self.patient_via]
        # Table and column names come from the models' metadata, never from input.
        return f"""
            new_row := to_jsonb(NEW);
            old_row := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
            SELECT array_agg(k ORDER BY k) INTO changed
              FROM jsonb_object_keys(new_row) AS k
             WHERE old_row IS NULL OR (new_row -> k) IS DISTINCT FROM (old_row -> k);
            IF changed IS NULL THEN
                RETURN NULL;
            END IF;
            context := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
            patient := {patient};
            INSERT INTO {change_table} (
                at, table_name, operation, row_id, patient_id, fields,
                ids_before, ids_after, user_id, path, request_id
            ) VALUES (
                now(), TG_TABLE_NAME, TG_OP, (new_row ->> 'id')::bigint, patient,
                to_jsonb(changed),
                COALESCE((SELECT jsonb_object_agg(k, old_row -> k) FROM unnest(changed) AS k
                          WHERE old_row IS NOT NULL AND k = ANY({ids})), '{{}}'::jsonb),
                COALESCE((SELECT jsonb_object_agg(k, new_row -> k) FROM unnest(changed) AS k
                          WHERE k = ANY({ids})), '{{}}'::jsonb),
                (context ->> 'user')::bigint,
                LEFT(COALESCE(context ->> 'url', ''), 300),
                LEFT(COALESCE(context ->> 'request_id', ''), 64)
            );
            RETURN NULL;
        """  # noqa: S608


def history_track(model: type[models.Model], *, patient_via: PatientVia) -> type[models.Model]:
    pgtrigger.register(ChangeRecorded(name="change_recorded", patient_via=patient_via))(model)
    return model


def never_deleted(model: type[models.Model]) -> type[models.Model]:
    pgtrigger.register(pgtrigger.Protect(name="never_deleted", operation=pgtrigger.Delete))(model)
    return model


def never_rewritten(model: type[models.Model]) -> type[models.Model]:
    pgtrigger.register(
        pgtrigger.Protect(name="never_rewritten", operation=pgtrigger.Update | pgtrigger.Delete)
    )(model)
    return model
