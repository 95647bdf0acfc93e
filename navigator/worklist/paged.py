"""The worklist's page as one statement in two steps: rank every case on facts
worked out once each, then fetch what the page's rows show for its cases only
(`page_query`).

Why not the ORM's one ranked queryset (`navigator.worklist.query.annotate`)? In it
each rule's fact is a correlated subquery, and the flags, the priority and the sort
repeat those subqueries: PostgreSQL does not reuse a repeated subquery, so it ran
each one three or four times for every case on the list, and ran what only a row
shows (the number to call, the barriers, the abnormal result's details...) for every
case too, not just the page's. The ORM cannot select from a subquery (a derived
table), so the statement is composed here, from SQL the ORM compiles
(whose cases: the scoped, filtered queryset; each fact; each row fact), around it:

    SELECT <the page's cases, with what a row shows> FROM navigator_navigationcase ...,
        (SELECT ranked.* FROM (
            SELECT facts.*, <flags, priority, tried-today, over plain columns>,
                   ROW_NUMBER() OVER (ORDER BY <the sort, over plain columns>) AS wl_rank
            FROM (<the listed cases with their facts and sort keys> OFFSET 0) facts
        ) ranked ORDER BY wl_rank LIMIT <page>) wl_page
    WHERE wl_page.pk = navigator_navigationcase.id ORDER BY wl_page.wl_rank

A derived table, not a CTE: a statement must start with SELECT for pghistory to
leave it alone (it puts its context in front of anything else, which a prepared
statement refuses).

`OFFSET 0` keeps PostgreSQL from folding the facts' subquery into the one above it
(which would copy each fact's subquery into every expression that reads it again).
The rows come from an ORM queryset, so they are read as the ORM reads them
(`from_db`: the audit notes every patient shown; navigator.worklist.compiled).
The ranking is the same as `annotate` + `ordering` (tests prove it, every sort).
"""

# SQL text here is names from the code and SQL the ORM compiled; values are bound.
# ruff: noqa: S608, S610, S611

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    F,
    IntegerField,
    OrderBy,
    QuerySet,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

from navigator.models import NavigationCase
from navigator.worklist.query import ordering, row_facts
from navigator.worklist.rules import NO_REASON_PRIORITY, RULES, Moment, tried_today

PAGE = "wl_page"
# Computed above the facts (from them), not in the facts' own query.
_DERIVED = ("wl_priority", "wl_tried_today")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column(name: str) -> str:
    return f"{_q(PAGE)}.{_q(name)}"


def _order_sql(column: str, order: OrderBy) -> str:
    # As Django writes an OrderBy where the backend has NULLS FIRST/LAST (PostgreSQL;
    # SQLite since 3.30), so that the ranking is the ORM's exactly.
    sql = f"{column} {'DESC' if order.descending else 'ASC'}"
    if order.nulls_last:
        sql += " NULLS LAST"
    elif order.nulls_first:
        sql += " NULLS FIRST"
    return sql


@dataclass(frozen=True)
class Page:
    """A page as two pieces of SQL to put together (`sql`): the queryset of the page's
    rows, whose FROM names `wl_page`, and the ranking that `wl_page` stands for."""

    rows: QuerySet[NavigationCase]
    ranked_sql: str
    ranked_params: tuple[Any, ...]

    def sql(
        self, compiler: SQLCompiler, sql: str, params: tuple[Any, ...]
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement: `rows`' SQL (`sql`, `params`, as `compiler` compiled them)
        with the ranking in place of the bare `wl_page` in its FROM clause.

        The ranking's parameters go where its SQL goes: after those of the SELECT
        list (compiled before the FROM clause, whose joins have none), before the
        WHERE clause's."""
        found = list(re.finditer(rf", {re.escape(_q(PAGE))}(?!\.)", sql))
        if len(found) != 1:  # pragma: no cover - the rows' queryset names it once
            raise ValueError("The worklist's rows query should name wl_page once in FROM.")
        before = sum(len(select_params) for _, (_, select_params), _ in compiler.select)
        where = found[0]
        return (
            f"{sql[: where.start()]}, ({self.ranked_sql}) {_q(PAGE)}{sql[where.end() :]}",
            (*params[:before], *self.ranked_params, *params[before:]),
        )


def page_query(
    listed: QuerySet[NavigationCase],
    *,
    sort: str,
    moment: Moment,
    start: int,
    stop: int | None,
) -> Page:
    """The page of `listed` (the scoped, filtered cases) ranked by `sort`, cases
    `start` to `stop`: see `Page`."""
    db = listed.db
    connection = connections[db]
    facts: dict[str, Any] = {rule.fact_name: rule.fact(moment) for rule in RULES}
    facts["tried_today_at"] = tried_today(moment)
    extra_rows = row_facts(moment)

    # Each sort key as a plain column of the facts' query.
    keys: dict[str, Any] = {}
    order_by: list[str] = []
    for position, order in enumerate(ordering(sort)):
        expression = order.expression
        name = expression.name if isinstance(expression, F) else ""
        if name in _DERIVED or name in facts:
            column = _q(name)
        else:
            # A column, a row fact (by its expression: not an annotation here) or a
            # function of columns (a name, lowered).
            key = f"wl_key_{position}"
            keys[key] = extra_rows.get(name, expression)
            column = _q(key)
        order_by.append(_order_sql(column, order))

    inner = listed.annotate(**facts, **keys).order_by().values_list("pk", *facts, *keys)
    inner_sql, inner_params = inner.query.get_compiler(using=db).as_sql()
    # The optimisation fence (see the module's docstring); SQLite has no such folding
    # to fear, and no OFFSET without LIMIT.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    flags = [f"({_q(rule.fact_name)} IS NOT NULL) AS {_q(rule.flag_name)}" for rule in RULES]
    priority = (
        "CASE "
        + " ".join(f"WHEN {_q(rule.fact_name)} IS NOT NULL THEN {rule.priority}" for rule in RULES)
        + f" ELSE {NO_REASON_PRIORITY} END"
    )
    derived = (
        f"SELECT facts.*, {', '.join(flags)}, {priority} AS {_q('wl_priority')}, "
        f"CASE WHEN {_q('tried_today_at')} IS NOT NULL THEN 1 ELSE 0 END "
        f"AS {_q('wl_tried_today')} FROM ({inner_sql}{fence}) facts"
    )
    limit = connection.ops.limit_offset_sql(start, stop)
    ranked = (
        "SELECT ranked.* FROM ("
        f"SELECT derived.*, ROW_NUMBER() OVER (ORDER BY {', '.join(order_by)}) AS wl_rank "
        f"FROM ({derived}) derived) ranked ORDER BY wl_rank {limit}"
    )

    # The page's rows: what a row shows, for the page's cases only; the facts, flags
    # and priority read from wl_page.
    resolved = inner.query.annotations
    from_page: dict[str, Any] = {
        name: RawSQL(_column(name), (), output_field=resolved[name].output_field) for name in facts
    }
    from_page.update(
        {
            rule.flag_name: RawSQL(_column(rule.flag_name), (), output_field=BooleanField())
            for rule in RULES
        }
    )
    for name in _DERIVED:
        from_page[name] = RawSQL(_column(name), (), output_field=IntegerField())
    # A rule's details only where the rule holds: the abnormal result's four lookups
    # run for the page's cases with one, not for every case.
    details = {
        name: Case(
            When(RawSQL(f"{_column(rule.fact_name)} IS NOT NULL", (), BooleanField()), then=value),
            default=None,
        )
        for rule in RULES
        for name, value in rule.details(moment).items()
    }
    # Not `listed` again: wl_page holds only cases it lists (scoped and filtered), and
    # repeating its conditions would only cost planning time.
    rows = (
        NavigationCase.objects.using(db)
        .select_related("patient", "program", "navigator__user")
        .annotate(**from_page, **details, **extra_rows)
        # The ORM has no join to a CTE: a second FROM item and its join condition.
        .extra(
            tables=[PAGE],
            where=[f"{_column('pk')} = {_q(NavigationCase._meta.db_table)}.{_q('id')}"],
        )
        .order_by(RawSQL(_column("wl_rank"), ()).asc())
    )
    return Page(rows=rows, ranked_sql=ranked, ranked_params=tuple(inner_params))
