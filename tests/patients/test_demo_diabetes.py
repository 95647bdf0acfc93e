"""The demo population's diabetes (no database): who has it, labs a clinician would
believe at the programme's intervals, and the CMS122 story the module states (the
engine's own figures on the seeded demo: test_seed_demo_equity.py)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from patients.caregaps.dates import add_months
from patients.demo_diabetes import (
    CONTROLLED,
    IMPROVED,
    OTHER,
    SPANISH,
    DiabetesPlan,
    Lab,
    diabetes_resources,
)
from patients.demo_population import population_bundles, story_quarter_ends

TODAY = dt.date(2026, 11, 24)  # the last complete quarter ends 2026-09-30


@pytest.fixture(scope="module")
def found() -> list[DiabetesPlan]:
    """The plans of the population's patients with diabetes (made once: a second or two)."""
    bundles = population_bundles(count=700, today=TODAY)
    return [p.diabetes for b in bundles for p in b.patients if p.diabetes is not None]


def poorly_controlled(plan: DiabetesPlan, end: dt.date) -> bool:
    """CMS122's numerator for the twelve months ending `end`, on these plain values:
    the last test of the period above 9 %, or none."""
    start = add_months(end, -12) + dt.timedelta(days=1)
    labs = [lab for lab in plan.labs if start <= lab.on <= end]
    return not labs or labs[-1].value > 9


def share(found: list[DiabetesPlan], cohort: str, end: dt.date) -> float:
    of = [plan for plan in found if plan.cohort == cohort]
    return sum(poorly_controlled(plan, end) for plan in of) / len(of)


def test_diabetes_is_more_common_among_spanish_speaking_hispanic_patients(found):
    cohorts = Counter(plan.cohort for plan in found)
    # 30% of about 190 Spanish-speaking Hispanic or Latino patients, 20% of about 500 others
    assert 55 <= cohorts[SPANISH] <= 62
    assert 95 <= cohorts[OTHER] <= 105


def test_every_value_is_plausible_and_the_next_test_follows_the_ada_interval(found):
    for plan in found:
        values = [lab.value for lab in plan.labs]
        assert all(5.5 <= value <= 13.0 for value in values)
        if plan.course != CONTROLLED:
            continue
        hba1c = [lab for lab in plan.labs if lab.kind == "hba1c"]
        for earlier, later in zip(hba1c, hba1c[1:], strict=False):
            days = (later.on - earlier.on).days
            # ADA 2025 §6: six months after a value at target (< 8 %), three otherwise
            assert 168 <= days <= 190 if earlier.value < 8 else 84 <= days <= 98


def test_some_coached_patients_have_a_gmi_between_their_labs(found):
    with_gmi = [p for p in found if any(lab.kind == "gmi" for lab in p.labs)]
    assert with_gmi and all(p.course == IMPROVED for p in with_gmi)


def test_coached_patients_are_above_9_or_untested_before_their_case_and_under_9_later(found):
    ends = story_quarter_ends(TODAY)
    improved = [p for p in found if p.course == IMPROVED]
    assert improved and all(p.coached_from is not None for p in improved)
    for plan in improved:
        assert poorly_controlled(plan, ends[0])
        assert not poorly_controlled(plan, ends[-1])
        assert plan.status_on(plan.coached_from) in {"untested", "poor_control"}


def test_the_gap_in_control_is_wide_at_the_first_quarter_and_narrows_by_the_last(found):
    first, last = story_quarter_ends(TODAY)[0], story_quarter_ends(TODAY)[-1]
    # As the module states: 49% against 24%, then 31% against 24%
    assert 0.46 <= share(found, SPANISH, first) <= 0.51
    assert 0.22 <= share(found, OTHER, first) <= 0.26
    assert 0.28 <= share(found, SPANISH, last) <= 0.33
    assert 0.22 <= share(found, OTHER, last) <= 0.26
    gaps = [
        share(found, SPANISH, end) - share(found, OTHER, end) for end in story_quarter_ends(TODAY)
    ]
    assert all(later <= earlier + 0.02 for earlier, later in zip(gaps, gaps[1:], strict=False))


def test_the_labs_are_fhir_observations_cms122_reads():
    plan = DiabetesPlan(SPANISH, IMPROVED, (Lab(TODAY, 7.4), Lab(TODAY, 7.2, "gmi")), TODAY)
    condition, hba1c, gmi = diabetes_resources(plan, "p1", TODAY)
    assert condition["code"]["coding"][0]["code"] == "E11.9"
    assert hba1c["code"]["coding"][0]["code"] == "4548-4"
    assert gmi["code"]["coding"][0]["code"] == "97506-0"
    assert hba1c["category"][0]["coding"][0]["code"] == "laboratory"
    assert gmi["valueQuantity"] == {
        "value": 7.2, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"
    }  # fmt: skip
