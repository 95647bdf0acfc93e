"""Which group the others are compared with (issue 13, item 3).

The manager may choose any shown group. Without a choice, the presets follow how
Massachusetts General Hospital's Disparities Solutions Center and most equity reports
compare: each race and ethnicity group against White patients, limited English
proficiency against English-proficient patients, each kind of public coverage and the
uninsured against commercial insurance. Every other dimension compares against its
largest group, the most stable rate on the page. "Not recorded", "Declined",
"Unknown" and "Other" are never a default reference: a comparison with missing data
says nothing about a population.
"""

from __future__ import annotations

from collections.abc import Sequence

from navigator.equity.dimensions import NOT_RECORDED, OTHER, GroupCounts

PRESETS: dict[str, str] = {
    "race": "white",
    "lep": "english_proficient",
    "insurance": "commercial",
    "interpreter": "not_needed",
    "navigated": "not_navigated",
}

NEVER_DEFAULT = frozenset({NOT_RECORDED, OTHER, "declined", "unknown"})


class UnknownReferenceGroup(ValueError):
    """The requested reference group is not one of the table's groups."""


def reference_group(
    dimension: str, groups: Sequence[GroupCounts], requested: str | None = None
) -> str | None:
    """The key of the reference group among `groups` ((key, label, numerator,
    denominator)): the requested one, else the dimension's preset when it has any
    patients, else the largest recorded group. None when no group has anyone."""
    keys = {key for key, _, _, _ in groups}
    if requested:
        if requested not in keys:
            raise UnknownReferenceGroup(
                f"“{requested}” is not a group of this table; choose one of: "
                + ", ".join(sorted(keys))
            )
        return requested
    sizes = {key: denominator for key, _, _, denominator in groups}
    preset = PRESETS.get(dimension)
    if preset is not None and sizes.get(preset, 0) > 0:
        return preset
    candidates = [
        (denominator, key)
        for key, _, _, denominator in groups
        if key not in NEVER_DEFAULT and denominator > 0
    ]
    if not candidates:
        return None
    # Largest first; ties go to the group listed first, so the choice is stable.
    order = {key: index for index, (key, _, _, _) in enumerate(groups)}
    return max(candidates, key=lambda item: (item[0], -order[item[1]]))[1]
