"""Tables of one or two dimensions, counted in one grouped query, agree with
hand-written SQL (the same seeded population as the dimension tests)."""

# The SQL below is built from table names and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F, Q

from navigator.equity.dimensions import DIMENSIONS, grouped_counts
from navigator.equity.grouping import count_grouped
from tests.navigator.equity.test_dimensions_sql import (
    CASE,
    GROUP_SQL,
    ON,
    PATIENT,
    population,  # noqa: F401  (the seeded population every test here counts)
    queryset_and_numerator,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("population")]


def _two_way_sql(first: str, second: str, *, on_cases: bool, series: str | None = None):
    numerator = (
        "CASE WHEN k.needs_interpreter THEN 1 ELSE 0 END"
        if on_cases
        else "CASE WHEN p.sms_consent THEN 1 ELSE 0 END"
    )
    source = f"{CASE} k JOIN {PATIENT} p ON p.id = k.patient_id" if on_cases else f"{PATIENT} p"
    series_sql = series or "''"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s, a, b, SUM(n), COUNT(*) FROM (SELECT {series_sql} AS s, "
            f"{GROUP_SQL[first]} AS a, {GROUP_SQL[second]} AS b, {numerator} AS n "
            f"FROM {source}) t GROUP BY s, a, b"
        )
        return {(str(s), str(a), str(b)): (int(n), int(d)) for s, a, b, n, d in cursor.fetchall()}


@pytest.mark.parametrize("on_cases", [False, True], ids=["patients", "cases"])
@pytest.mark.parametrize("key", ["race", "language", "lep", "interpreter", "sex", "clinic"])
def test_one_dimension_gives_the_same_table_as_grouped_counts(
    on_cases, key, django_assert_num_queries
):
    # Given the seeded population
    queryset, numerator = queryset_and_numerator(on_cases)
    prefix = "patient__" if on_cases else ""
    # When one dimension is counted (1 query: the grouped count)
    with django_assert_num_queries(1):
        table = count_grouped(
            queryset, [DIMENSIONS[key]], prefix=prefix, on=ON, numerator_q=numerator
        )
    # Then it is the table the one-way counter gives, group for group, in order
    assert table.one_way() == grouped_counts(
        queryset, DIMENSIONS[key], numerator_q=numerator, on=ON
    )


@pytest.mark.parametrize("on_cases", [False, True], ids=["patients", "cases"])
@pytest.mark.parametrize(
    ("first", "second"), [("race", "lep"), ("race", "insurance"), ("clinic", "sex")]
)
def test_two_dimensions_count_every_cell_as_hand_written_sql_does(
    on_cases, first, second, django_assert_num_queries
):
    queryset, numerator = queryset_and_numerator(on_cases)
    prefix = "patient__" if on_cases else ""
    # When two dimensions are counted together (1 query: the grouped count)
    with django_assert_num_queries(1):
        table = count_grouped(
            queryset,
            [DIMENSIONS[first], DIMENSIONS[second]],
            prefix=prefix,
            on=ON,
            numerator_q=numerator,
        )
    # Then every cell the data fill matches the SQL, every other cell is zero
    expected = {
        (a, b): counts
        for (_, a, b), counts in _two_way_sql(first, second, on_cases=on_cases).items()
    }
    cells = table.two_way()
    assert {cell: counts for cell, counts in cells.items() if counts[1]} == expected
    # And every group of both dimensions is listed, "Not recorded" included
    assert len(cells) == len(table.groups[0]) * len(table.groups[1])
    assert ("not_recorded", "Not recorded") in table.groups[1] or second == "clinic"
    # And the margins are the one-way tables
    assert table.one_way(0) == grouped_counts(
        queryset, DIMENSIONS[first], numerator_q=numerator, on=ON
    )


def test_a_series_splits_the_table_and_extras_are_counted_in_the_same_query(
    django_assert_num_queries,
):
    queryset, numerator = queryset_and_numerator(False)
    # When race is counted per insurance type (the series), with the interpreter need
    # counted alongside (1 query: the grouped count)
    with django_assert_num_queries(1):
        table = count_grouped(
            queryset,
            [DIMENSIONS["race"]],
            prefix="",
            on=ON,
            numerator_q=numerator,
            series=F("insurance_type"),
            extras={"interpreter": Q(interpreter_needed=True)},
        )
    # Then each series value's table is what SQL counts for that value
    expected = _two_way_sql("race", "sex", on_cases=False, series="p.insurance_type")
    for at in table.series:
        by_race: dict[str, list[int]] = {}
        for (s, race, _), (n, d) in expected.items():
            if s == at:
                by_race.setdefault(race, [0, 0])
                by_race[race][0] += n
                by_race[race][1] += d
        shown = {key: [n, d] for key, _, n, d in table.one_way(at=at) if d}
        assert shown == by_race
    # And the extra count is each series value's number of patients needing an interpreter
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT insurance_type, SUM(CASE WHEN interpreter_needed THEN 1 ELSE 0 END) "
            f"FROM {PATIENT} GROUP BY insurance_type"
        )
        assert {str(s): int(n) for s, n in cursor.fetchall()} == {
            at: table.extra_count("interpreter", at=at) for at in table.series
        }


def test_three_dimensions_are_refused():
    queryset, numerator = queryset_and_numerator(False)
    with pytest.raises(ValueError, match="one or two"):
        count_grouped(
            queryset,
            [DIMENSIONS["race"], DIMENSIONS["sex"], DIMENSIONS["lep"]],
            prefix="",
            on=ON,
            numerator_q=numerator,
        )
