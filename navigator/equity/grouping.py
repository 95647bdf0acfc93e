"""Counting a table of groups, one or two dimensions at a time, in one grouped query
(issue 13: "one grouped query per view, never by loading rows into Python").

`count_grouped` annotates each row with its group key under every dimension (and,
for a quarterly series, the period it belongs to), groups by those keys and counts
numerator and denominator with `Count(filter=Q(...))`, plus any extra counts the
caller needs in the same pass (the demographic-completeness warning). Python then
only names and orders the groups: the groups every dimension always lists (with
zeros when empty, "Not recorded" included), and the groups the data name (languages,
clinics, navigators), largest first, the rest folded into "Other" past the
dimension's `top`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, CharField, Count, Q, QuerySet, Value, When
from django.db.models.lookups import In

from navigator.equity.dimensions import OTHER, Dimension, GroupCounts

Key = tuple[Hashable, ...]  # (series value?, group key per dimension...)


@dataclass
class GroupedCounts:
    """The counted table. `groups[i]` lists dimension i's groups in display order;
    `cells[(series?, key_1[, key_2])] = (numerator, denominator)`; `extras` sums each
    extra count over the whole table (per series value when there is a series)."""

    dimensions: tuple[Dimension, ...]
    groups: tuple[tuple[tuple[str, str], ...], ...]
    cells: dict[Key, tuple[int, int]]
    series: tuple[Hashable, ...] = ()
    extras: dict[Hashable, dict[str, int]] = field(default_factory=dict)
    # The extra counts and the denominator per group of the first dimension:
    # {(series value, group key): {name: count, "denominator": count}}.
    group_extras: dict[tuple[Hashable, str], dict[str, int]] = field(default_factory=dict)

    def one_way(self, index: int = 0, *, at: Hashable = None) -> list[GroupCounts]:
        """Dimension `index`'s groups as (key, label, numerator, denominator), summed
        over the other dimension (its margin), for series value `at`."""
        sums: dict[str, list[int]] = {key: [0, 0] for key, _ in self.groups[index]}
        for key, (numerator, denominator) in self.cells.items():
            if self.series and key[0] != at:
                continue
            group = str(key[1 + index] if self.series else key[index])
            sums[group][0] += numerator
            sums[group][1] += denominator
        return [(key, label, *sums[key]) for key, label in self.groups[index]]  # type: ignore[misc]

    def two_way(self, *, at: Hashable = None) -> dict[tuple[Hashable, Hashable], tuple[int, int]]:
        """Every (row group, column group) cell, zeros included."""
        rows, columns = self.groups
        table: dict[tuple[Hashable, Hashable], tuple[int, int]] = {
            (r, c): (0, 0) for r, _ in rows for c, _ in columns
        }
        for key, counts in self.cells.items():
            if self.series:
                if key[0] != at:
                    continue
                key = key[1:]
            table[(key[0], key[1])] = counts
        return table

    def extra_count(self, name: str, *, at: Hashable = None) -> int:
        return self.extras.get(at, {}).get(name, 0)

    def at(self, value: Hashable) -> GroupedCounts:
        """The plain table of series value `value` (a series of one dimension whose
        groups are all fixed: the same groups, in the same order, as counting that
        period alone would list)."""
        if not self.series:
            raise ValueError("not a series")
        if any(d.top is not None or d.label_expression or d.name for d in self.dimensions):
            raise ValueError("groups named by the data are ordered over the whole series")
        return GroupedCounts(
            dimensions=self.dimensions,
            groups=self.groups,
            cells={key[1:]: counts for key, counts in self.cells.items() if key[0] == value},
            extras={None: self.extras[value]} if value in self.extras else {},
            group_extras={
                (None, key): row for (at, key), row in self.group_extras.items() if at == value
            },
        )

    def denominator(self, *, at: Hashable = None) -> int:
        """Everyone the table counts (for series value `at`)."""
        return sum(d for key, (_, d) in self.cells.items() if not self.series or key[0] == at)


def pinned(dimension: Dimension, groups: Sequence[tuple[str, str]]) -> Dimension:
    """`dimension` with the groups of an already counted table: the same named groups
    (the table's top languages), everything else in "Other". A quarterly series counted
    with it folds exactly as the table did; ranking its own top groups over other months
    would fold differently, and the two tables' "Other" rows would then give a hidden
    group away by subtraction."""
    if dimension.top is None:
        return dimension
    listed = [key for key, _ in groups]

    def expression(prefix: str, on: dt.date) -> Any:
        base = dimension.expression(prefix, on)
        return Case(
            When(In(base, listed), then=base),
            default=Value(OTHER),
            output_field=CharField(),
        )

    return Dimension(dimension.key, dimension.label, tuple(groups), expression)


def count_grouped(
    queryset: QuerySet,
    dimensions: Sequence[Dimension],
    *,
    prefix: str,
    on: dt.date,
    numerator_q: Q,
    denominator_q: Q | None = None,
    distinct: bool = False,
    series: Any = None,
    extras: Mapping[str, Q] | None = None,
) -> GroupedCounts:
    """Count `queryset` by `dimensions` (one or two) in one query.

    The denominator counts the rows matching `denominator_q` (all rows when None), the
    numerator those also matching `numerator_q`. `distinct` counts each row once when
    a dimension joins a to-many relation (race "alone or in combination"). `series`
    is an expression grouping the rows further (e.g. the period's end, for a quarterly
    series). `extras` are more counts made in the same pass, by name.
    """
    if not 1 <= len(dimensions) <= 2:
        raise ValueError("count one or two dimensions at a time")
    denominator_q = denominator_q if denominator_q is not None else Q()
    values: dict[str, Any] = {}
    if series is not None:
        values["series"] = series
    for index, dimension in enumerate(dimensions):
        values[f"group_{index}"] = dimension.expression(prefix, on)
        if dimension.label_expression is not None:
            values[f"label_{index}"] = dimension.label_expression(prefix)
    counts = {
        "numerator": Count("pk", filter=denominator_q & numerator_q, distinct=distinct),
        "denominator": Count("pk", filter=denominator_q, distinct=distinct),
    }
    for name, condition in (extras or {}).items():
        counts[f"extra_{name}"] = Count("pk", filter=denominator_q & condition, distinct=distinct)
    rows = list(queryset.order_by().annotate(**values).values(*values).annotate(**counts))
    return _assemble(tuple(dimensions), rows, has_series=series is not None, extras=extras or {})


def _assemble(
    dimensions: tuple[Dimension, ...],
    rows: list[dict[str, Any]],
    *,
    has_series: bool,
    extras: Mapping[str, Q],
) -> GroupedCounts:
    groups = []
    folds = []
    for index, dimension in enumerate(dimensions):
        ordered, fold = _groups_of(dimension, rows, index)
        groups.append(ordered)
        folds.append(fold)
    cells: dict[Key, list[int]] = {}
    sums: dict[Hashable, dict[str, int]] = {}
    per_group: dict[tuple[Hashable, str], dict[str, int]] = {}
    series_values: set[Hashable] = set()
    for row in rows:
        keys = tuple(folds[i](str(row[f"group_{i}"])) for i in range(len(dimensions)))
        at = row["series"] if has_series else None
        if has_series:
            series_values.add(at)
            keys = (at, *keys)
        cell = cells.setdefault(keys, [0, 0])
        cell[0] += row["numerator"]
        cell[1] += row["denominator"]
        totals = sums.setdefault(at, {})
        group_totals = per_group.setdefault((at, keys[1] if has_series else keys[0]), {})
        group_totals["denominator"] = group_totals.get("denominator", 0) + row["denominator"]
        for name in extras:
            totals[name] = totals.get(name, 0) + row[f"extra_{name}"]
            group_totals[name] = group_totals.get(name, 0) + row[f"extra_{name}"]
    return GroupedCounts(
        dimensions=dimensions,
        groups=tuple(groups),
        cells={key: (n, d) for key, (n, d) in cells.items()},
        series=tuple(sorted(series_values, key=str)) if has_series else (),
        extras=sums,
        group_extras=per_group,
    )


def _groups_of(dimension: Dimension, rows: list[dict[str, Any]], index: int):
    """(ordered groups, fold) for dimension `index`: the fixed groups after the groups
    the data name, largest first; `fold` maps a key past `top` to "Other"."""
    fixed = dict(dimension.groups)
    found: dict[str, list[Any]] = {}  # key -> [label, denominator]
    for row in rows:
        key = str(row[f"group_{index}"])
        if key in fixed:
            continue
        label = (row.get(f"label_{index}") or "").strip()
        if not label:
            label = dimension.name(key) if dimension.name else key
        entry = found.setdefault(key, [label, 0])
        entry[1] += row["denominator"]
    ordered = sorted(found.items(), key=lambda item: (-item[1][1], item[1][0], item[0]))
    folded: set[str] = set()
    if dimension.top is not None:
        folded = {key for key, _ in ordered[dimension.top :]}
        ordered = ordered[: dimension.top]
    named = tuple((key, label) for key, (label, _) in ordered) + tuple(dimension.groups)

    def fold(key: str) -> str:
        return OTHER if key in folded else key

    return named, fold
