"""Change history of the clinical records, kept by PostgreSQL triggers.

`history_track(Model)` installs `ChangeRecorded`, twice (INSERT and UPDATE): after
every statement, the database writes one `RowChange` per row inserted or updated -
the table, the row's id, its patient, the names of the columns that changed, the
before and after of those that are ids (the case's navigator, the patient, the
actor), and the request behind it - in one INSERT ... SELECT from the statement's
transition tables (issue 15: per-row triggers were most of a bulk write's time). Triggers
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

# What is tracked: the clinical records (patients, their screenings, referrals, cases
# and their timeline, messages). Not tracked: what the application computes from them
# and its own bookkeeping, which record nothing anybody did - the care gaps, and
# `CareGapStamp`, when each patient's gaps were last computed (a column of the patient
# until issue 15, whose stamp-only updates the patients' trigger then skipped; 45 CFR
# 164.312(b) asks for audit controls over access to ePHI and changes of it, and when
# the gaps were recomputed is neither). Keeping bookkeeping off tracked tables keeps
# the trigger simple: every UPDATE of a tracked row that changes a value is recorded.


def _sql_text_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]::text[]"


class ChangeRecorded(pgtrigger.Trigger):
    """After an INSERT or an UPDATE statement: one `RowChange` per row it wrote,
    naming what changed, all written by one INSERT ... SELECT.

    Statement-level with transition tables (the rows the statement inserted, or the
    rows before and after it updated them), so a 1,000-row bulk write costs one
    trigger call and one multi-row insert instead of 1,000 of each. PostgreSQL allows
    transition tables only on a trigger with a single event, so each tracked table
    has two: `change_recorded_insert` and `change_recorded_update` (an
    INSERT ... ON CONFLICT DO UPDATE fires both, each with its own rows).

    Same trail as the row-level trigger it replaced: the changed columns are the
    keys of `to_jsonb(new)` whose value differs from `to_jsonb(old)` (all of them for
    an insert), sorted by name; an UPDATE that changes nothing writes nothing; ids'
    before and after only. Old and new rows are paired on the primary key `id`,
    which the application never changes; should raw SQL change one, that row is
    still recorded, as if every column changed and with no ids before.
    """

    when = pgtrigger.After
    level = pgtrigger.Statement
    declare = [("context", "jsonb")]

    def __init__(self, *, name: str, operation: pgtrigger.Operation, patient_via: PatientVia):
        self.patient_via = patient_via
        if operation == pgtrigger.Insert:
            referencing = pgtrigger.Referencing(new="new_rows")
        elif operation == pgtrigger.Update:
            referencing = pgtrigger.Referencing(old="old_rows", new="new_rows")
        else:
            raise ValueError("ChangeRecorded is one trigger per INSERT or UPDATE")
        super().__init__(name=name, operation=operation, referencing=referencing)

    def get_func(self, model: type[models.Model]) -> str:  # type: ignore[override]
        id_columns = sorted(
            f.column for f in model._meta.concrete_fields if f.primary_key or f.is_relation
        )
        ids = _sql_text_array(id_columns)
        change_table = apps.get_model("audit", "RowChange")._meta.db_table
        case_table = apps.get_model("navigator", "NavigationCase")._meta.db_table
        patient, case_join = {
            "id": ("n.id", ""),
            "patient_id": ("n.patient_id", ""),
            # Table names from the models' own metadata, never from input.
            "case_id": ("c.patient_id", f"LEFT JOIN {case_table} c ON c.id = n.case_id"),
        }[self.patient_via]
        patient_column = {"id": "", "patient_id": ", t.patient_id", "case_id": ", t.case_id"}[
            self.patient_via
        ]
        if self.operation == pgtrigger.Insert:
            return self._insert_func(change_table, patient, case_join, id_columns)
        old_rows = "o AS MATERIALIZED (SELECT t.id, to_jsonb(t) AS j FROM old_rows t),"
        old_join = "LEFT JOIN o ON o.id = n.id"
        old_row = "o.j"
        # The space the line after `IS NOT NULL` ended with while a bookkeeping filter
        # could follow it: the function's text, hence every installed trigger, stays
        # the same (no migration re-creating the other tables' triggers).
        same_text = " "
        # MATERIALIZED: each row becomes jsonb once. Inlined, the planner would call
        # to_jsonb() again for every key compared (68 calls a row for patients: 10x
        # slower than the row-level trigger it replaces).
        # Table and column names come from the models' metadata, never from input.
        return f"""
            context := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
            INSERT INTO {change_table} (
                at, table_name, operation, row_id, patient_id, fields,
                ids_before, ids_after, user_id, path, request_id
            )
            WITH {old_rows}
                 n AS MATERIALIZED (SELECT t.id{patient_column}, to_jsonb(t) AS j FROM new_rows t)
            SELECT
                now(), TG_TABLE_NAME, TG_OP, n.id, {patient},
                to_jsonb(d.changed),
                COALESCE((SELECT jsonb_object_agg(k, {old_row} -> k) FROM unnest(d.changed) AS k
                          WHERE {old_row} IS NOT NULL AND k = ANY({ids})), '{{}}'::jsonb),
                COALESCE((SELECT jsonb_object_agg(k, n.j -> k) FROM unnest(d.changed) AS k
                          WHERE k = ANY({ids})), '{{}}'::jsonb),
                (context ->> 'user')::bigint,
                LEFT(COALESCE(context ->> 'url', ''), 300),
                LEFT(COALESCE(context ->> 'request_id', ''), 64)
              FROM n
              {old_join}
              {case_join}
              CROSS JOIN LATERAL (
                  SELECT array_agg(k ORDER BY k) AS changed
                    FROM jsonb_object_keys(n.j) AS k
                   WHERE {old_row} IS NULL OR (n.j -> k) IS DISTINCT FROM ({old_row} -> k)
              ) d
             WHERE d.changed IS NOT NULL{same_text}
             ORDER BY n.id;
            RETURN NULL;
        """  # noqa: S608

    def _insert_func(
        self, change_table: str, patient: str, case_join: str, id_columns: list[str]
    ) -> str:
        """An INSERT changes every column: the trail row's `fields` are the table's
        columns, sorted as the UPDATE trigger sorts the ones it finds changed, read from
        one new row's jsonb (every row has the same keys) once per statement; its
        `ids_after`, the row's id columns. The same trail as comparing each row's
        `to_jsonb` with nothing, key by key, without turning each row into jsonb: that
        was most of a bulk insert's time in the database (issue 15: 110 ms of the 150 ms
        of inserting 2,000 patients)."""
        ids_after = ", ".join(f"'{column}', n.\"{column}\"" for column in id_columns)
        # Table and column names come from the models' metadata, never from input.
        return f"""
            context := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
            INSERT INTO {change_table} (
                at, table_name, operation, row_id, patient_id, fields,
                ids_before, ids_after, user_id, path, request_id
            )
            WITH f AS MATERIALIZED (
                SELECT to_jsonb(array_agg(k ORDER BY k)) AS fields
                  FROM jsonb_object_keys((SELECT to_jsonb(t) FROM new_rows t LIMIT 1)) AS k
            )
            SELECT
                now(), TG_TABLE_NAME, TG_OP, n.id, {patient},
                f.fields,
                '{{}}'::jsonb,
                jsonb_build_object({ids_after}),
                (context ->> 'user')::bigint,
                LEFT(COALESCE(context ->> 'url', ''), 300),
                LEFT(COALESCE(context ->> 'request_id', ''), 64)
              FROM new_rows n
              CROSS JOIN f
              {case_join}
             ORDER BY n.id;
            RETURN NULL;
        """  # noqa: S608


def history_track(model: type[models.Model], *, patient_via: PatientVia) -> type[models.Model]:
    pgtrigger.register(
        ChangeRecorded(
            name="change_recorded_insert", operation=pgtrigger.Insert, patient_via=patient_via
        ),
        ChangeRecorded(
            name="change_recorded_update", operation=pgtrigger.Update, patient_via=patient_via
        ),
    )(model)
    return model


def never_deleted(model: type[models.Model]) -> type[models.Model]:
    pgtrigger.register(pgtrigger.Protect(name="never_deleted", operation=pgtrigger.Delete))(model)
    return model


def never_rewritten(model: type[models.Model]) -> type[models.Model]:
    pgtrigger.register(
        pgtrigger.Protect(name="never_rewritten", operation=pgtrigger.Update | pgtrigger.Delete)
    )(model)
    return model
