"""Small-cell suppression: CMS's cell-size policy, with complementary suppression.

The policy (CMS Cell Size Suppression Policy, as ResDAC publishes it for CMS data
users, https://resdac.org/articles/cms-cell-size-suppression-policy): no cell counting
1 to 10 beneficiaries, events or services may be shown, nor any figure (a total, a
percentage) from which such a cell could be worked out. A count of 0 is outside 1 to
10 and is shown, as the policy's own range says. The upper end is the setting
`EQUINAV_SMALL_CELL_MAX` (default 10); `suppressed_label()` names the rule ("<11" by
default) in method texts.

Every hidden cell, small or complementary, reads the same (`HIDDEN_TEXT`): marking the
small ones "<11" and the complementary ones otherwise would tell a reader that the
latter are 0 or above 10, and that can pin a small one (hidden cells summing to 12,
one "<11" and one "not small": the second is 11, the first 1). Writing "<11" on every
hidden cell would be untrue of a complementary cell of 200.

A table here is a set of *cells*, each a (numerator, denominator) pair such as
"screened of eligible", and *lines*: a total cell that is shown as the sum of its
parts (a one-way table's "All patients" row; a two-way table's row margins, column
margins and grand total). The algorithm:

1. Primary: every cell (margins included) whose numerator or denominator is 1 to
   the maximum is hidden.
2. Complementary: the hidden cells are then audited. For each hidden cell, the
   smallest and largest numerator and denominator that agree with every shown figure
   are found by linear programming (`scipy.optimize.linprog`), under what a reader
   knows: each line's parts add up to its total, every count is at least 0, a
   numerator is at most its denominator, and a hidden denominator is at least 1
   (zeros are never hidden, so a reader may assume it). A cell whose numerator or
   denominator is pinned to a single value is exposed; then the smallest shown cell
   (by denominator, a non-zero one) in a line through it is hidden too, and the audit
   runs again until nothing is exposed. "If exactly one group of a dimension is
   hidden, the next smallest is hidden with it" is the first round of this; the audit
   also catches two hidden cells whose sum gives both away (1 + 1 = 2), a margin
   that is itself small, and the rectangles of a two-way table.

The guarantee: from the shown numbers and the line sums, no hidden numerator or
denominator can be worked out exactly (its feasible range spans at least two
values; for the row-and-column sums of one- and two-way tables the range's ends are
whole numbers, as these constraint matrices are totally unimodular). It does not
claim more: a range such as "between 3 and 9" may still be deduced, which the
policy allows, as such a cell would be shown as "<11" anyway.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from scipy.optimize import linprog

Counts = tuple[int, int]  # (numerator, denominator)


def small_cell_max() -> int:
    """The largest count that is hidden (CMS: 10), from `EQUINAV_SMALL_CELL_MAX`."""
    return int(settings.EQUINAV_SMALL_CELL_MAX)


def suppressed_label() -> str:
    """The rule in short: "<11" with the default maximum."""
    return f"<{small_cell_max() + 1}"


HIDDEN_TEXT = "Suppressed"


def hidden_text() -> str:
    """What every hidden count and rate shows instead, on the page, CSV and PDF."""
    return HIDDEN_TEXT


def is_small(count: int, maximum: int | None = None) -> bool:
    """1 to the maximum is small; 0 is not (the policy is about 1 to 10)."""
    limit = small_cell_max() if maximum is None else maximum
    return 1 <= count <= limit


@dataclass(frozen=True)
class Line:
    """A shown (or hidden) total and the cells it adds up."""

    total: Hashable
    parts: tuple[Hashable, ...]


def suppress(
    cells: Mapping[Hashable, Counts],
    lines: Sequence[Line],
    *,
    maximum: int | None = None,
    forced: Collection[Hashable] = (),
    known: Collection[Hashable] = (),
) -> set[Hashable]:
    """The keys of the cells to hide (primary and complementary), margins included.

    `forced` cells are hidden whatever their size, and `known` ones are never hidden:
    both are cells published elsewhere (a two-way table's margins are the one-way
    tables of its dimensions, which hide their own cells), so that the tables agree on
    what is hidden and one cannot be used to open the other."""
    limit = small_cell_max() if maximum is None else maximum
    for line in lines:
        for key in (line.total, *line.parts):
            if key not in cells:
                raise KeyError(f"line names a cell that is not in the table: {key!r}")
    known = set(known)
    hidden = {
        key
        for key, (numerator, denominator) in cells.items()
        if (is_small(numerator, limit) or is_small(denominator, limit)) and key not in known
    } | set(forced)
    # Hiding a cell turns a known number into an unknown one, which only widens what the
    # others could be: a cell found safe stays safe, so each round audits only the cells
    # hidden since, and those still exposed (the same result, far fewer LPs).
    safe: set[Hashable] = set()
    while True:
        exposed = _exposed(cells, lines, hidden, check=hidden - safe)
        safe |= hidden - exposed
        if not exposed:
            return hidden
        partner = _complement_for(exposed, cells, lines, hidden | known)
        if partner is not None:
            hidden.add(partner)
            continue
        # Nothing shown and non-empty is left beside an exposed cell: hide every cell of
        # its lines (totals and empty cells included), leaving nothing to subtract from.
        before = len(hidden)
        for line in lines:
            if exposed & {line.total, *line.parts}:
                hidden.update({line.total, *line.parts} - known)
        if len(hidden) == before:
            return set(cells) - known


def _complement_for(
    exposed: set[Hashable],
    cells: Mapping[Hashable, Counts],
    lines: Sequence[Line],
    hidden: set[Hashable],
) -> Hashable | None:
    """The smallest shown non-empty cell (by denominator) in a line through an exposed
    cell; a line's parts are taken before any total, so that margins stay shown."""
    candidates: list[tuple[int, int, str, Hashable]] = []
    for line in lines:
        members = (line.total, *line.parts)
        if not exposed & set(members):
            continue
        for other in line.parts:
            if other not in hidden and cells[other][1] > 0:
                candidates.append((0, cells[other][1], repr(other), other))
        if line.total not in hidden and cells[line.total][1] > 0:
            candidates.append((1, cells[line.total][1], repr(line.total), line.total))
    if not candidates:
        return None
    return min(candidates)[3]


def _exposed(
    cells: Mapping[Hashable, Counts],
    lines: Sequence[Line],
    hidden: set[Hashable],
    *,
    check: set[Hashable] | None = None,
) -> set[Hashable]:
    """The hidden cells (of `check`, default all) whose numerator or denominator the
    shown figures pin down."""
    if not hidden or check is not None and not check:
        return set()
    order = sorted(hidden, key=repr)
    index = {key: position for position, key in enumerate(order)}
    size = len(order)
    # Variables: numerators 0..size-1, then denominators size..2*size-1.
    equalities: list[list[float]] = []
    values: list[float] = []
    for line in lines:
        members = [(line.total, -1.0)] + [(part, 1.0) for part in line.parts]
        if not any(key in index for key, _ in members):
            continue
        for offset, which in ((0, 0), (size, 1)):
            row = [0.0] * (2 * size)
            constant = 0.0
            for key, sign in members:
                if key in index:
                    row[offset + index[key]] += sign
                else:
                    constant -= sign * cells[key][which]
            equalities.append(row)
            values.append(constant)
    # A numerator is at most its denominator.
    inequalities = []
    for position in range(size):
        row = [0.0] * (2 * size)
        row[position] = 1.0
        row[size + position] = -1.0
        inequalities.append(row)
    bounds = [(0, None)] * size + [(min(1, cells[key][1]), None) for key in order]
    truth = [float(cells[key][0]) for key in order] + [float(cells[key][1]) for key in order]
    audited = [key for key in order if check is None or key in check]
    # A variable is safe once some feasible solution puts it a whole unit or more from
    # its true value (the true counts are feasible too, so its range spans a unit): one
    # LP pushing every unsettled variable up, one pushing them all down, and every LP's
    # solution after that, settle most of them. Only the rest get their own minimum and
    # maximum, exactly as before: the same cells are found exposed, with far fewer LPs
    # (a 110-cell two-way table: a dozen instead of ~170).
    # First, without an LP: a hidden cell alone in a line of shown figures is that
    # line's total less (or plus) the rest, pinned exactly.
    exposed = {
        key
        for key in audited
        for line in lines
        if key in (line.total, *line.parts)
        and all(other == key or other not in index for other in (line.total, *line.parts))
    }
    unsettled = {
        v for key in audited if key not in exposed for v in (index[key], size + index[key])
    }
    lp = _LP(equalities, values, inequalities, bounds)

    def settle(solution: list[float] | None) -> None:
        if solution is not None:
            unsettled.difference_update(
                {v for v in unsettled if abs(solution[v] - truth[v]) >= 1 - 1e-9}
            )

    for sign in (-1.0, 1.0):
        if unsettled:
            settle(lp.solve(dict.fromkeys(unsettled, sign)))
    for key in audited:
        if key in exposed:
            continue
        for variable in (index[key], size + index[key]):
            if variable not in unsettled:
                continue
            low_solution = lp.solve({variable: 1.0})
            settle(low_solution)
            if variable not in unsettled:
                continue
            high_solution = lp.solve({variable: -1.0})
            settle(high_solution)
            if low_solution is None or high_solution is None:
                continue  # unbounded: nothing pins it
            if high_solution[variable] - low_solution[variable] < 1 - 1e-9:
                exposed.add(key)
                break
    return exposed


class _LP:
    """The audit's linear programme, whose objective alone changes between solves."""

    def __init__(
        self,
        equalities: list[list[float]],
        values: list[float],
        inequalities: list[list[float]],
        bounds: list[tuple[int, None]],
    ) -> None:
        self.equalities, self.values = equalities, values
        self.inequalities, self.bounds = inequalities, bounds

    def solve(self, weights: Mapping[int, float]) -> list[float] | None:
        """A solution minimising the weighted sum of the variables; None when there is
        none (unbounded)."""
        objective = [0.0] * len(self.bounds)
        for variable, weight in weights.items():
            objective[variable] = weight
        result = linprog(
            objective,
            A_ub=self.inequalities,
            b_ub=[0.0] * len(self.inequalities),
            A_eq=self.equalities or None,
            b_eq=self.values or None,
            bounds=self.bounds,
            method="highs",
        )
        if result.status != 0:
            return None
        return [float(value) for value in result.x]


# --- The two shapes the dashboard shows -------------------------------------------------

TOTAL = "__total__"


def suppress_groups(
    groups: Mapping[Hashable, Counts],
    *,
    total: Counts | None = None,
    maximum: int | None = None,
    forced: Collection[Hashable] = (),
) -> set[Hashable]:
    """A one-way table: its groups (the "Not recorded" group among them) and, unless
    `total` is None, a shown total that is their sum. Returns the hidden group keys,
    and `TOTAL` if the total itself must be hidden. `forced` groups are hidden whatever
    their size (another table of the same patients hides them)."""
    cells: dict[Hashable, Counts] = dict(groups)
    lines: list[Line] = []
    if total is not None:
        cells[TOTAL] = total
        lines.append(Line(TOTAL, tuple(groups)))
    return suppress(cells, lines, maximum=maximum, forced=forced)


def suppress_two_way(
    table: Mapping[tuple[Hashable, Hashable], Counts],
    *,
    margins: bool = True,
    maximum: int | None = None,
    margins_hidden: Collection[Hashable] | None = None,
    forced_cells: Collection[Hashable] = (),
) -> set[tuple[Hashable, Hashable]]:
    """A rows x columns table. With margins, each row's total is keyed (row, TOTAL),
    each column's (TOTAL, column) and the grand total (TOTAL, TOTAL); they are the
    sums of the table and may be hidden too. Returns the hidden keys.

    `margins_hidden` fixes the margins as the one-way tables of the two dimensions
    publish them: those margin keys hidden, every other margin shown, so that only the
    table's inner cells are chosen here (see `suppress`'s `forced` and `known`)."""
    rows = list(dict.fromkeys(row for row, _ in table))
    columns = list(dict.fromkeys(column for _, column in table))
    cells: dict[Hashable, Counts] = {key: table.get(key, (0, 0)) for key in _grid(rows, columns)}
    lines: list[Line] = []
    if margins:
        for row in rows:
            parts = tuple((row, column) for column in columns)
            cells[(row, TOTAL)] = _sum(cells[part] for part in parts)
            lines.append(Line((row, TOTAL), parts))
        for column in columns:
            parts = tuple((row, column) for row in rows)
            cells[(TOTAL, column)] = _sum(cells[part] for part in parts)
            lines.append(Line((TOTAL, column), parts))
        cells[(TOTAL, TOTAL)] = _sum(cells[(row, TOTAL)] for row in rows)
        lines.append(Line((TOTAL, TOTAL), tuple((row, TOTAL) for row in rows)))
        lines.append(Line((TOTAL, TOTAL), tuple((TOTAL, column) for column in columns)))
    forced: set[Hashable] = set()
    known: set[Hashable] = set()
    if margins and margins_hidden is not None:
        margin_keys: set[Hashable] = {
            key for key in cells if isinstance(key, tuple) and TOTAL in key
        }
        forced = margin_keys & set(margins_hidden)
        known = margin_keys - forced
    forced |= set(forced_cells)
    hidden = suppress(cells, lines, maximum=maximum, forced=forced, known=known)
    return {key for key in hidden if isinstance(key, tuple)}


def _grid(rows: list[Hashable], columns: list[Hashable]) -> list[tuple[Hashable, Hashable]]:
    return [(row, column) for row in rows for column in columns]


def _sum(pairs: object) -> Counts:
    numerator = denominator = 0
    for pair_numerator, pair_denominator in pairs:  # type: ignore[attr-defined]
        numerator += pair_numerator
        denominator += pair_denominator
    return numerator, denominator
