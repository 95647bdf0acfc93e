"""Facts the ranking reads once per case on PostgreSQL, from a row joined LATERAL,
where the rules' own subqueries would read the same rows once per fact.

Each lateral is an aggregate over the case's rows, so it always gives one row (a
case with none gets NULLs and zeros) and joins as a bare FROM item
(`navigator.worklist.paged` splices it in). SQLite has no LATERAL: there the rules'
subqueries stay (`navigator.worklist.rules`, `.control_rules`), and the tests run
both ways and compare every fact the page says.

- `wl_attempts`: the case's contact attempts. Three facts read them: "called back",
  "never contacted" and "tried today", each a subquery of its own, so the attempts
  were looked up three times per case, two thirds of the ranking's work.
- `wl_gap`: a control case's care gap (patients.models.CareGap, at most one per
  patient and programme). Three facts read it: poor control, above target and the
  lab overdue. For a screening case the gap is not read at all: the programme's
  kind is a condition on the case alone, which PostgreSQL checks before the lookup
  (a one-time filter per case).
"""

# SQL text here is names from the code; values are bound.
# ruff: noqa: S608, S611

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import DateField, DateTimeField
from django.db.models.expressions import RawSQL

from navigator.models import NavigationCase
from navigator.worklist.control_rules import (
    ABOVE_TARGET,
    CONTROL_STATUSES,
    LAB_OVERDUE,
    POOR_CONTROL,
    year_start,
)
from navigator.worklist.rule_base import Moment
from navigator.worklist.rules import CALLED_BACK, NEVER_CONTACTED
from outreach.models import UNSUCCESSFUL_OUTCOMES, ContactAttempt, Direction, Outcome
from patients.models import CareGap, CareGapStatus, ProgramKind, ScreeningProgram


def q(name: str) -> str:
    """`name` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


_CASE = q(NavigationCase._meta.db_table)


@dataclass(frozen=True)
class Lateral:
    """A FROM item: `LATERAL (sql)` under `name`, with its parameters, and the facts
    it gives (expressions over its columns, to annotate the listed cases with)."""

    name: str
    sql: str
    params: tuple[Any, ...]
    facts: dict[str, Any]

    def column(self, name: str) -> str:
        return f"{q(self.name)}.{q(name)}"


def _bound(params: tuple[Any, ...]) -> tuple[Any, ...]:
    # Choices are str subclasses; a prepared statement binds plain values.
    return tuple(str(p) if isinstance(p, str) else p for p in params)


# --- Contact attempts ------------------------------------------------------------------
# - called back: the latest inbound contact, when no outbound attempt came at or after
#   it (if the latest is answered, so is every earlier one);
# - never contacted: no attempt at all;
# - tried today: the latest unsuccessful outbound attempt today T, when no attempt today
#   reached the patient and no inbound contact today came at or after T (one that did
#   reopens every earlier attempt too), while the follow-up is not overdue.
ATTEMPTS = "wl_attempts"


def attempts(moment: Moment) -> Lateral:
    today = "attempted_at >= %s AND attempted_at < %s"
    day = (moment.day_starts, moment.day_ends)
    unsuccessful = sorted(UNSUCCESSFUL_OUTCOMES)
    sql = (
        "LATERAL (SELECT COUNT(*) AS attempts, "
        "MAX(attempted_at) FILTER (WHERE direction = %s) AS last_inbound, "
        "MAX(attempted_at) FILTER (WHERE direction = %s) AS last_outbound, "
        f"COUNT(*) FILTER (WHERE {today} AND outcome = %s) AS reached_today, "
        f"MAX(attempted_at) FILTER (WHERE {today} AND direction = %s "
        f"AND outcome IN ({', '.join(['%s'] * len(unsuccessful))})) AS tried_today, "
        f"MAX(attempted_at) FILTER (WHERE {today} AND direction = %s) AS inbound_today "
        f"FROM {q(ContactAttempt._meta.db_table)} "
        f"WHERE case_id = {_CASE}.{q('id')})"
    )
    params = (
        Direction.INBOUND,
        Direction.OUTBOUND,
        *day,
        Outcome.REACHED,
        *day,
        Direction.OUTBOUND,
        *unsuccessful,
        *day,
        Direction.INBOUND,
    )
    lateral = Lateral(ATTEMPTS, sql, _bound(params), {})
    column = lateral.column
    when: DateTimeField[Any, Any] = DateTimeField()
    lateral.facts.update(
        {
            CALLED_BACK.fact_name: RawSQL(
                f"CASE WHEN {column('last_outbound')} >= {column('last_inbound')} THEN NULL "
                f"ELSE {column('last_inbound')} END",
                (),
                output_field=when,
            ),
            NEVER_CONTACTED.fact_name: RawSQL(
                f"CASE WHEN {column('attempts')} = 0 THEN {_CASE}.{q('opened_at')} END",
                (),
                output_field=when,
            ),
            "tried_today_at": RawSQL(
                f"CASE WHEN ({_CASE}.{q('next_follow_up')} IS NULL "
                f"OR {_CASE}.{q('next_follow_up')} >= %s) "
                f"AND {column('reached_today')} = 0 "
                f"AND ({column('inbound_today')} IS NULL "
                f"OR {column('inbound_today')} < {column('tried_today')}) "
                f"THEN {column('tried_today')} END",
                (moment.today,),
                output_field=when,
            ),
        }
    )
    return lateral


# --- A control case's care gap -----------------------------------------------------------
# As control_rules says them (the ORM's subqueries, which SQLite runs):
# - poor control / above target: this year's last reading, where the gap's status is
#   that one;
# - the lab overdue: since the interval ran out last year, if it ran out before this
#   year began; since the year began when there is no reading this year; since the
#   day this year's reading's interval ran out, once it has.
GAP = "wl_gap"


def gap(moment: Moment) -> Lateral:
    statuses = ", ".join(["%s"] * len(CONTROL_STATUSES))
    sql = (
        "LATERAL (SELECT MAX(status) AS status, MAX(last_screening_on) AS last_on, "
        "MAX(next_due_on) AS next_due "
        f"FROM {q(CareGap._meta.db_table)} "
        f"WHERE patient_id = {_CASE}.{q('patient_id')} "
        f"AND program_id = {_CASE}.{q('program_id')} AND status IN ({statuses}) "
        f"AND {_CASE}.{q('program_id')} IN "
        f"(SELECT id FROM {q(ScreeningProgram._meta.db_table)} WHERE kind = %s))"
    )
    lateral = Lateral(GAP, sql, _bound((*CONTROL_STATUSES, ProgramKind.CONTROL)), {})
    status, last, due = (
        lateral.column("status"),
        lateral.column("last_on"),
        lateral.column("next_due"),
    )
    began = year_start(moment)
    day: DateField[Any, Any] = DateField()

    def reading(rule_status: str) -> RawSQL:
        return RawSQL(
            f"CASE WHEN {status} = %s AND {last} >= %s THEN {last} END",
            (str(rule_status), began),
            output_field=day,
        )

    lateral.facts.update(
        {
            POOR_CONTROL.fact_name: reading(CareGapStatus.POOR_CONTROL),
            ABOVE_TARGET.fact_name: reading(CareGapStatus.ABOVE_TARGET),
            LAB_OVERDUE.fact_name: RawSQL(
                f"CASE WHEN {status} IS NULL THEN NULL "
                f"WHEN {last} < %s AND {due} < %s THEN {due} "
                f"WHEN {last} IS NULL OR {last} < %s THEN %s "
                f"WHEN {due} <= %s THEN {due} END",
                (began, began, began, began, moment.today),
                output_field=day,
            ),
        }
    )
    return lateral


def laterals(moment: Moment) -> tuple[Lateral, ...]:
    """Every lateral, in the order they join."""
    return (attempts(moment), gap(moment))
