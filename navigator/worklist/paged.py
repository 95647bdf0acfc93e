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
            -- on PostgreSQL, the facts read the case's contact attempts and a
            -- control case's care gap once each (laterals.py):
            -- ..., LATERAL (<one aggregate over them>) wl_attempts, LATERAL (...) wl_gap
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
    FilteredRelation,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

from navigator.models import FollowUpState, NavigationCase
from navigator.worklist.laterals import laterals
from navigator.worklist.query import ordering, row_facts
from navigator.worklist.rules import (
    ABNORMAL_RESULT,
    NO_REASON_PRIORITY,
    RULES,
    Moment,
    Rule,
    tried_today,
)
from patients.models import ScreeningEvent

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
        with the ranking in place of the bare `wl_page` in its FROM clause."""
        ranked = f"({self.ranked_sql})"
        return _splice(compiler, sql, params, [(PAGE, ranked, self.ranked_params)])


def _splice(
    compiler: SQLCompiler,
    sql: str,
    params: tuple[Any, ...],
    items: list[tuple[str, str, tuple[Any, ...]]],
) -> tuple[str, tuple[Any, ...]]:
    """`sql` (as `compiler` compiled it, with `params`) with each item's SQL in place of
    its bare FROM item (`name, item_sql, item_params`: an `extra(tables=[...])`, last in
    FROM, in that order): their parameters after those of the SELECT list and of the
    joins, before the WHERE clause's."""
    _, from_params = compiler.get_from_clause()
    before = sum(len(p) for _, (_, p), _ in compiler.select) + len(from_params)
    spliced: tuple[Any, ...] = ()
    for name, item_sql, item_params in items:
        found = list(re.finditer(rf", {re.escape(_q(name))}(?!\.)", sql))
        if len(found) != 1:  # pragma: no cover - the queryset names it once
            raise ValueError(f"The worklist's query should name {name} once in its FROM.")
        where = found[0]
        sql = f"{sql[: where.start()]}, {item_sql} {_q(name)}{sql[where.end() :]}"
        spliced += item_params
    return sql, (*params[:before], *spliced, *params[before:])


# Where the abnormal result rule holds, the case's follow-up left unbooked is its one
# open follow-up (the constraint one_open_follow_up_per_case: at most one per case),
# so its details are that follow-up's, joined once (a LEFT JOIN of at most one row),
# rather than four lookups each checking again that nothing was booked.
_OPEN_FOLLOW_UP = "wl_open_follow_up"


def _held_relations() -> dict[str, FilteredRelation]:
    # New each time: a query resolving a FilteredRelation changes it.
    return {
        _OPEN_FOLLOW_UP: FilteredRelation(
            "follow_ups", condition=Q(follow_ups__state=FollowUpState.OPEN)
        )
    }


def _held_details(rule: Rule) -> dict[str, Any]:
    """A rule's details read more simply where it is known to hold."""
    if rule is not ABNORMAL_RESULT:
        return {}
    # The screening's names by its key, not joined: more joins in the page's FROM than
    # PostgreSQL's join_collapse_limit (8) and it would join them in the order
    # written, before the page, over every case.
    screening = ScreeningEvent.objects.filter(
        pk=OuterRef(f"{_OPEN_FOLLOW_UP}__screening")
    ).order_by()
    return {
        rule.detail("test"): Subquery(screening.values("modality__name")[:1]),
        rule.detail("follow_up"): F(f"{_OPEN_FOLLOW_UP}__next_step"),
        rule.detail("due"): F(f"{_OPEN_FOLLOW_UP}__due_on"),
        rule.detail("meaning"): Subquery(screening.values("category__meaning")[:1]),
    }


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

    # On PostgreSQL some facts are read from rows joined LATERAL (laterals.py): each a
    # bare FROM item here, spliced in below.
    joined = laterals(moment) if connection.vendor == "postgresql" else ()
    for lateral in joined:
        facts.update(lateral.facts)
    cases = listed.extra(tables=[lateral.name for lateral in joined]) if joined else listed
    inner = cases.annotate(**facts, **keys).order_by().values_list("pk", *facts, *keys)
    compiler = inner.query.get_compiler(using=db)
    inner_sql, inner_params = compiler.as_sql()
    if joined:
        inner_sql, inner_params = _splice(
            compiler,
            inner_sql,
            tuple(inner_params),
            [(lateral.name, lateral.sql, lateral.params) for lateral in joined],
        )
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
    # A rule's details only where the rule holds (for the page's cases with it).
    details = {
        name: Case(
            When(RawSQL(f"{_column(rule.fact_name)} IS NOT NULL", (), BooleanField()), then=value),
            default=None,
        )
        for rule in RULES
        for name, value in {**rule.details(moment), **_held_details(rule)}.items()
    }
    # Not `listed` again: wl_page holds only cases it lists (scoped and filtered), and
    # repeating its conditions would only cost planning time.
    rows = (
        NavigationCase.objects.using(db)
        .select_related("patient", "program", "navigator__user")
        .annotate(**_held_relations())
        .annotate(**from_page, **details, **extra_rows)
        # The ORM joins no derived table: a bare FROM item (`Page.sql` puts the ranking
        # in its place) and its join condition.
        .extra(
            tables=[PAGE],
            where=[f"{_column('pk')} = {_q(NavigationCase._meta.db_table)}.{_q('id')}"],
        )
        .order_by(RawSQL(_column("wl_rank"), ()).asc())
    )
    return Page(rows=rows, ranked_sql=ranked, ranked_params=tuple(inner_params))
