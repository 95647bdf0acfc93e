"""The dashboard's parameters: parsed once, each bad one refused by name."""

from __future__ import annotations

import datetime as dt

import pytest

from navigator.equity.query import EquityQuery, EquityQueryError
from navigator.equity.scope import ALL_DIMENSIONS, EquityScope

MANAGER = EquityScope("all", dimensions=ALL_DIMENSIONS)
CLINIC = EquityScope("clinic", clinic_id=1, dimensions=ALL_DIMENSIONS - {"navigator"})


def _errors(params, scope=MANAGER):
    with pytest.raises(EquityQueryError) as error:
        EquityQuery.from_params(params, scope=scope)
    return error.value.errors


def test_no_parameters_ask_for_colorectal_screening_by_race_in_the_latest_period():
    query = EquityQuery.from_params({}, scope=MANAGER)
    assert query == EquityQuery(measure="CMS130", stratify=("race",))
    assert query.program_code == "colorectal"


def test_every_parameter_is_read():
    query = EquityQuery.from_params(
        {
            "measure": "completion",
            "program": "breast",
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
            "stratify": "race, language",
            "reference": "white",
            "quarters": "1",
            "race_rule": "any",
            "age_adjust": "true",
        },
        scope=MANAGER,
    )
    assert query == EquityQuery(
        measure="completion_180",
        program="breast",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
        stratify=("race", "language"),
        reference="white",
        quarters=True,
        race_rule="any",
        age_adjust=True,
    )
    assert query.program_code == "breast"


def test_a_population_measure_keeps_its_own_programme_whatever_is_asked():
    query = EquityQuery.from_params({"measure": "CMS125", "program": "colorectal"}, scope=MANAGER)
    assert query.program_code == "breast"


def test_each_bad_parameter_is_named_with_what_is_wrong():
    errors = _errors(
        {
            "measure": "CMS999",
            "period_start": "yesterday",
            "period_end": "2025-01-01",
            "stratify": "race,language,sex",
            "race_rule": "some",
        }
    )
    assert errors["measure"].startswith("Unknown measure “CMS999”")
    assert errors["period_start"] == "“yesterday” is not a date (YYYY-MM-DD)."
    assert errors["stratify"] == "At most 2 dimensions at a time."
    assert errors["race_rule"] == "Choose “exclusive” or “any”."


def test_a_navigation_measure_needs_a_programme_so_that_rates_are_never_mixed():
    assert "never mixed" in _errors({"measure": "completion_90"})["program"]


def test_half_a_period_or_a_backwards_one_is_refused():
    assert "both" in _errors({"period_start": "2025-01-01"})["period_end"]
    assert "both" in _errors({"period_end": "2025-01-01"})["period_start"]
    errors = _errors({"period_start": "2025-12-31", "period_end": "2025-01-01"})
    assert errors["period_end"] == "The period ends before it starts."


def test_dimensions_must_exist_differ_and_suit_the_measure_and_the_role():
    assert "Unknown dimension “shoe_size”" in _errors({"stratify": "shoe_size"})["stratify"]
    assert _errors({"stratify": "race,race"})["stratify"] == "Choose two different dimensions."
    assert "describes navigation cases" in _errors({"stratify": "navigator"})["stratify"]
    assert (
        "cases are all navigated"
        in _errors({"measure": "completion_180", "program": "colorectal", "stratify": "navigated"})[
            "stratify"
        ]
    )
    assert (
        _errors(
            {"measure": "completion_180", "program": "colorectal", "stratify": "navigator"},
            scope=CLINIC,
        )["stratify"]
        == "Your role cannot stratify by “navigator”."
    )
