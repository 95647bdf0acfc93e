"""Writes for care gaps: compute and store every program's gap for a batch of patients.

Opening and closing cases from the result is intake orchestration
(`navigator.intake.care_gaps`), above both this and the case kernel.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections, router
from django.utils import timezone

from config.collector import collector_paused
from patients import selectors
from patients.caregaps.engine import GapResult, evaluate_prepared, prepare_rules
from patients.models import CareGap, CareGapStamp
from patients.selectors import ProgramRules


@dataclass(slots=True)
class StoredGap:
    """A gap as this recompute stored it: its row id and what it says. Plain values,
    not a CareGap: building 4,000 model instances was a sixth of a batch's Python."""

    pk: int | None
    status: str
    summary: str


@dataclass(slots=True)
class CareGapChange:
    patient_id: int
    program_id: int
    old_status: str | None
    gap: StoredGap
    result: GapResult


def care_gaps_recompute(
    *, patient_ids: list[int], as_of: dt.date, programs: list[ProgramRules] | None = None
) -> list[CareGapChange]:
    """Compute every program's gap for a batch of patients and store it.

    A fixed number of queries per batch: facts (3), concept codes (2), then on
    PostgreSQL one statement that upserts every gap, answers each one's id and
    previous status, and stamps the patients whose stamp changes (1): 6.
    Elsewhere (SQLite) the stored gaps are read and compared first: the read (1),
    the upsert of the changed gaps (1, none if none changed), the `as_of` and
    `computed_at` of the unchanged ones (1, none if none), the stamps (1): at most 8.
    """
    # A batch's parsed resources, facts and rows set off collection after collection
    # of Python's cyclic collector, which walked the whole heap: a third of the
    # batch's Python time (config/collector.py).
    with collector_paused():
        return _recompute(patient_ids=patient_ids, as_of=as_of, programs=programs)


def _recompute(
    *, patient_ids: list[int], as_of: dt.date, programs: list[ProgramRules] | None
) -> list[CareGapChange]:
    programs = programs if programs is not None else selectors.program_rules_list()
    concept_codes = selectors.concept_codes()
    now = timezone.now()
    facts_list = selectors.patient_facts(patient_ids)
    # Each program's rules prepared once for the batch, not once per patient.
    prepared = [
        (
            entry,
            prepare_rules(
                program_name=entry.program.name, rules=entry.rules, concept_codes=concept_codes
            ),
        )
        for entry in programs
    ]
    computed: list[tuple[int, ProgramRules, GapResult, tuple[Any, ...]]] = []
    for facts in facts_list:
        for entry, rules in prepared:
            result = evaluate_prepared(facts=facts, rules=rules, as_of=as_of)
            values = (
                result.status,
                result.summary[:300],
                result.reasons,
                result.evidence,
                result.last_screening_on,
                entry.modality_ids.get(result.last_modality_code or ""),
                result.next_due_on,
                result.overdue_since,
                result.recheck_on,
                entry.program.rule_version,
            )
            computed.append((facts.pk, entry, result, values))
    # The stamp (`CareGapStamp`) records each patient's `clinical_data_changed_at` as
    # read with the facts, and moves only where that differs from what it holds:
    # every reader compares it with the patient's value, and rewriting stamps that
    # were already current was most of a recompute's database time when the stamp was
    # a patient column. What was read, not a clock: data committed after the facts
    # were read changed the patient's value, and so did the data of a faster recompute
    # whose gaps this one overwrites with older facts (its stamp is then this one's):
    # either way the next run picks the patient up again.
    seen = {f.pk: f.data_changed_at for f in facts_list}
    if connection.vendor == "postgresql":
        written = _gaps_upsert_postgres(computed, seen=seen, as_of=as_of, now=now)
    else:
        written = _gaps_write_compared(computed, patient_ids, as_of=as_of, now=now)
        _stamps_write_changed(seen, now=now)
    changes = []
    for patient_id, entry, result, values in computed:
        pk, old = written[(patient_id, entry.program.pk)]
        changes.append(
            CareGapChange(patient_id, entry.program.pk, old, StoredGap(pk, *values[:2]), result)
        )
    return changes


# One statement: the batch's gaps arrive as one jsonb array (one parameter, however
# many rows: no parameter limit, nothing to split on this side), each gap a positional
# array rather than an object (a third less to encode here and to parse there);
# `previous` reads the stored statuses from the statement's snapshot, i.e. before the
# upsert. An unchanged gap is rewritten with the same values: PostgreSQL writes a
# whole new row version for any UPDATE, so the narrow UPDATE saved nothing there,
# while reading the stored gaps back (their JSON parsed) to compare was a third of a
# batch. `stamped` upserts the patients' stamps in the same statement (PostgreSQL
# runs a data-modifying WITH exactly once, read or not): one round trip fewer, and
# the ids and the `clinical_data_changed_at` each patient's facts saw go as two
# arrays instead of 1,000s of parameters Django and the driver each handle one by
# one. A stamp found holding that value already in the statement's snapshot is not
# written; one a concurrent run wrote meanwhile (the conflict) is rewritten only if
# it holds another, as the UPDATE it replaces re-checked its WHERE on the newest row.
# The batch's ids restrict the stamps too, so that the planner reads only the
# batch's stamps by their key, never every stamp. (Answering
# in the order the gaps were sent would need a join with `computed`, whose size the
# planner cannot see: it chose a nested loop, 6 s a batch.)
#
# The answer is the written gaps' ids followed by the previous statuses, matched here
# by (patient, program), not joined in SQL: the join's plan hung on the gap table's
# statistics, and in a first computation, where the table grows by 5,000 rows a batch
# with no ANALYZE in between, the planner chose a nested loop that re-sorted the batch's
# 1,000 ids for each of the 5,000 rows (200 ms a batch at 100,000 patients), or a
# sequential scan of the whole table. `previous` reads each patient's gaps by the
# unique index's leading column, one patient at a time (OFFSET 0 keeps the subquery
# a lateral scan the planner cannot turn into a hash join over the table): about
# 3 ms a batch whatever the statistics say. It comes first in the answer, so that it
# runs before `written` inserts (its snapshot is the same either way): in the first
# batch the planner sees an empty table and scans it whole for each patient, which
# costs nothing before the insert and 70-160 ms after it (the new rows' pages read
# 1,000 times over).
_UPSERT_SQL = """
WITH stamped AS (
    INSERT INTO "patients_caregapstamp" AS stamp (
        patient_id, computed_at, data_changed_at_seen
    )
    SELECT v.patient_id, %s, v.seen
    FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(patient_id, seen)
        LEFT JOIN "patients_caregapstamp" s
            ON s.patient_id = v.patient_id AND s.patient_id = ANY(%s::bigint[])
    WHERE s.patient_id IS NULL OR s.data_changed_at_seen IS DISTINCT FROM v.seen
    ORDER BY v.patient_id
    ON CONFLICT (patient_id) DO UPDATE SET
        computed_at = EXCLUDED.computed_at, data_changed_at_seen = EXCLUDED.data_changed_at_seen
    WHERE stamp.data_changed_at_seen IS DISTINCT FROM EXCLUDED.data_changed_at_seen
),
computed AS (
    SELECT (g->>0)::bigint AS patient_id, (g->>1)::bigint AS program_id,
        g->>2 AS status, g->>3 AS summary,
        g->4 AS reasons, g->5 AS evidence, (g->>6)::date AS last_screening_on,
        (g->>7)::bigint AS last_modality_id, (g->>8)::date AS next_due_on,
        (g->>9)::date AS overdue_since, (g->>10)::date AS recheck_on,
        (g->>11)::integer AS rule_version
    FROM jsonb_array_elements(%s::jsonb) AS g
),
previous AS (
    SELECT batch.patient_id, gap.program_id, gap.status
    FROM unnest(%s::bigint[]) AS batch(patient_id)
        CROSS JOIN LATERAL (
            SELECT stored.program_id, stored.status FROM patients_caregap stored
            WHERE stored.patient_id = batch.patient_id
            OFFSET 0
        ) gap
),
written AS (
    INSERT INTO "patients_caregap" (
        patient_id, program_id, status, as_of, summary, reasons, evidence,
        last_screening_on, last_modality_id, next_due_on, overdue_since, recheck_on,
        rule_version, computed_at
    )
    SELECT patient_id, program_id, status, %s, summary, reasons, evidence,
        last_screening_on, last_modality_id, next_due_on, overdue_since, recheck_on,
        rule_version, %s
    FROM computed
    ON CONFLICT (patient_id, program_id) DO UPDATE SET
        status = EXCLUDED.status, as_of = EXCLUDED.as_of, summary = EXCLUDED.summary,
        reasons = EXCLUDED.reasons, evidence = EXCLUDED.evidence,
        last_screening_on = EXCLUDED.last_screening_on,
        last_modality_id = EXCLUDED.last_modality_id, next_due_on = EXCLUDED.next_due_on,
        overdue_since = EXCLUDED.overdue_since, recheck_on = EXCLUDED.recheck_on,
        rule_version = EXCLUDED.rule_version, computed_at = EXCLUDED.computed_at
    RETURNING id, patient_id, program_id
)
SELECT false, NULL, previous.patient_id, previous.program_id, previous.status
FROM previous
UNION ALL
SELECT true, written.id, written.patient_id, written.program_id, NULL
FROM written
"""


def _iso(value: object) -> str:
    """The JSON of a date (json.dumps asks only for what it cannot write itself)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _gaps_upsert_postgres(
    computed: list[tuple[int, ProgramRules, GapResult, tuple[Any, ...]]],
    *,
    seen: dict[int, dt.datetime | None],
    as_of: dt.date,
    now: dt.datetime,
) -> dict[tuple[int, int], tuple[int | None, str | None]]:
    """Store every gap and stamp each patient of `seen` with the value its facts saw
    where the stamp holds another, in one statement (run even with no gap to store:
    the stamp still moves); each gap's (id, previous status)."""
    if not seen:
        return {}
    # Positional, in the order the statement reads them (`g->>0` ...): the patient, the
    # program, then CARE_GAP_VALUE_FIELDS as `values` holds them.
    rows = [(patient_id, entry.program.pk, *values) for patient_id, entry, _r, values in computed]
    patients = sorted(seen)
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_SQL,
            # Positional, in the statement's order: inside `pgtrigger.ignore` (seed_demo)
            # django-pgtrigger puts its set_config in front of every statement with a
            # positional placeholder, and psycopg refuses a mix.
            [
                now,
                patients,
                [seen[patient] for patient in patients],
                patients,
                json.dumps(rows, separators=(",", ":"), default=_iso),
                patients,
                as_of,
                now,
            ],
        )
        ids: dict[tuple[int, int], int] = {}
        previous: dict[tuple[int, int], str] = {}
        for is_written, pk, patient, program, old in cursor.fetchall():
            if is_written:
                ids[(patient, program)] = pk
            else:
                previous[(patient, program)] = old
    return {key: (pk, previous.get(key)) for key, pk in ids.items()}


# `stamped` above as a statement of its own, in SQL both databases take (SQLite has
# no data-modifying WITH): one statement, where the ORM would need two (read the
# stamps, then upsert). Every patient's row is offered, and the conflict's WHERE keeps
# a stamp that already holds the value (its values typed by the target columns, which
# a VALUES list joined as in `stamped` would not be on PostgreSQL). Three placeholders
# a patient, as `bulk_create` sends them.
_STAMP_CHANGED_SQL = """
INSERT INTO "patients_caregapstamp" (patient_id, computed_at, data_changed_at_seen)
VALUES {rows}
ON CONFLICT (patient_id) DO UPDATE SET
    computed_at = excluded.computed_at, data_changed_at_seen = excluded.data_changed_at_seen
WHERE "patients_caregapstamp".data_changed_at_seen IS DISTINCT FROM excluded.data_changed_at_seen
"""


def _stamps_write_changed(seen: dict[int, dt.datetime | None], *, now: dt.datetime) -> None:
    """Stamp each patient of `seen` with the value its facts saw, where the stamp is
    missing or holds another."""
    if not seen:
        return
    # The stamps' own connection, not this module's `connection` (which only chooses
    # the path); instants as Django stores them (text on SQLite, compared as text).
    db = connections[router.db_for_write(CareGapStamp)]
    at = db.ops.adapt_datetimefield_value(now)
    params: list[Any] = []
    for patient_id in sorted(seen):
        params += [patient_id, at, db.ops.adapt_datetimefield_value(seen[patient_id])]
    with db.cursor() as cursor:
        cursor.execute(
            _STAMP_CHANGED_SQL.format(rows=", ".join(["(%s, %s, %s)"] * len(seen))), params
        )


def _gaps_write_compared(
    computed: list[tuple[int, ProgramRules, GapResult, tuple[Any, ...]]],
    patient_ids: list[int],
    *,
    as_of: dt.date,
    now: dt.datetime,
) -> dict[tuple[int, int], tuple[int | None, str | None]]:
    """Store every gap, reading the stored ones first: the changed (or new) ones in
    full in one upsert, the unchanged ones only their `as_of` and `computed_at`.
    Each gap's (id, previous status)."""
    stored = selectors.care_gaps_stored(patient_ids)
    written: dict[tuple[int, int], tuple[int | None, str | None]] = {}
    changed: list[CareGap] = []
    unchanged: list[int] = []
    for patient_id, entry, _result, values in computed:
        key = (patient_id, entry.program.pk)
        previous = stored.get(key)
        if previous is not None and previous[1] == values:
            unchanged.append(previous[0])
            written[key] = (previous[0], previous[1][0])
            continue
        changed.append(
            CareGap(
                patient_id=patient_id,
                program_id=entry.program.pk,
                as_of=as_of,
                computed_at=now,
                **dict(zip(selectors.CARE_GAP_VALUE_FIELDS, values, strict=True)),
            )
        )
        written[key] = (previous[0], previous[1][0]) if previous is not None else (None, None)
    if changed:
        CareGap.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["patient", "program"],
            update_fields=[
                "status",
                "as_of",
                "summary",
                "reasons",
                "evidence",
                "last_screening_on",
                "last_modality",
                "next_due_on",
                "overdue_since",
                "recheck_on",
                "rule_version",
                "computed_at",
            ],  # fmt: skip
            # Django lowers it to what the database allows (SQLite's variable limit).
            batch_size=4000,
        )
        for gap in changed:
            key = (gap.patient_id, gap.program_id)
            written[key] = (written[key][0] or gap.pk, written[key][1])
    if unchanged:
        CareGap.objects.filter(pk__in=unchanged).update(as_of=as_of, computed_at=now)
    return written
