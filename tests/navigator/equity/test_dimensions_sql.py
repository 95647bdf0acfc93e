"""Each stratification dimension counts what hand-written SQL counts, in one query.

A seeded random population (fixed seed) of patients and their cases is counted once by
`grouped_counts` and once by plain, portable SQL (`SUM(CASE WHEN … THEN 1 ELSE 0 END)`)
written here from the rules, not from the module's expressions; race is computed from
the answer rows themselves, not from `race_group`.
"""

# The SQL below is built from table names (Django's _meta) and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.models import Q

from navigator.equity.dimensions import (
    AGE_BANDS,
    DIMENSIONS,
    NOT_RECORDED,
    OTHER,
    TOP_LANGUAGES,
    add_years,
    age_dimension,
    grouped_counts,
)
from navigator.models import CaseStatus, NavigationCase, NavigatorProfile
from patients.models import Clinic, Patient
from tests import factories
from tests.support.equity_cases import CASE, GROUP_SQL, PATIENT

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 6, 30)
SEED = 13
LANGUAGES = ["en"] * 12 + ["es"] * 6 + ["pt", "ht", "vi", "zh", "ar", "ru", "ko", "so", "km", "ne"]
RACE_ANSWERS = [
    [], [], ["white"], ["white"], ["black"], ["hispanic"], ["hispanic"], ["asian"], ["aian"],
    ["mena"], ["nhpi"], ["hispanic", "white"], ["black", "hispanic"], ["asian", "white", "nhpi"],
    ["declined"], ["unknown"],
]  # fmt: skip


@pytest.fixture
def population() -> None:
    """About 200 patients, four out of five with a case, drawn with a fixed seed."""
    rng = random.Random(SEED)
    clinics = [factories.ClinicFactory() for _ in range(3)]
    navigators = [factories.NavigatorFactory() for _ in range(3)]
    for number in range(200):
        age_years = rng.randint(18, 90)
        born = add_years(ON, -age_years) - dt.timedelta(days=rng.randint(0, 364))
        if number % 25 == 0:  # exactly on a band's edge: a birthday on the reference day
            born = add_years(ON, -rng.choice([45, 50, 65, 76]))
        if number % 40 == 1:
            born = dt.date(1976, 2, 29)
        patient = factories.PatientFactory(
            clinic=rng.choice(clinics),
            birth_date=born,
            sex=rng.choice(["female", "female", "male", "other", "unknown"]),
            preferred_language=rng.choice([*LANGUAGES, ""]),
            language_status=rng.choice(
                ["recorded", "recorded", "recorded", "recorded", "declined", "unknown", "not_asked"]
            ),
            english_proficiency=rng.choice(
                ["very_well", "very_well", "well", "not_well", "not_at_all", "declined", "unknown"]
            ),
            interpreter_needed=rng.random() < 0.3,
            insurance_type=rng.choice(
                [
                    "commercial",
                    "medicare",
                    "medicaid",
                    "dual",
                    "other_public",
                    "uninsured",
                    "unknown",
                ]
            ),  # fmt: skip
            sms_consent=rng.random() < 0.6,
            race_ethnicity=rng.choice(RACE_ANSWERS),
        )
        if rng.random() < 0.8:
            factories.CaseFactory(
                patient=patient,
                navigator=rng.choice([*navigators, None]),
                needs_interpreter=rng.random() < 0.4,
                status=rng.choice([CaseStatus.ASSIGNED, CaseStatus.COMPLETED]),
            )


# --- The hand-written SQL (each group's key: GROUP_SQL, tests/support/equity_cases.py) ---


def _age_sql(bands) -> tuple[str, list[dt.date]]:
    """Age in whole years on ON from the birth date, band by band: born after the day
    the patient would turn N means younger than N."""
    first, last = bands[0][0], bands[-1][1]
    clauses = ["WHEN p.birth_date > %s THEN 'under_" + str(first) + "'"]
    params = [dt.date(ON.year - first, ON.month, ON.day)]
    for youngest, oldest in bands:
        clauses.append(f"WHEN p.birth_date > %s THEN '{youngest}_{oldest}'")
        params.append(dt.date(ON.year - oldest - 1, ON.month, ON.day))
    return f"CASE {' '.join(clauses)} ELSE 'over_{last}' END", params


def sql_counts(group_sql: str, params: list, *, on_cases: bool) -> dict[str, tuple[int, int]]:
    if on_cases:
        numerator = "CASE WHEN k.needs_interpreter THEN 1 ELSE 0 END"
        source = f"{CASE} k JOIN {PATIENT} p ON p.id = k.patient_id"
    else:
        numerator = "CASE WHEN p.sms_consent THEN 1 ELSE 0 END"
        source = f"{PATIENT} p"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g, SUM(n), COUNT(*) FROM (SELECT {group_sql} AS g, {numerator} AS n "
            f"FROM {source}) t GROUP BY g",
            params,
        )
        return {str(g): (int(n), int(d)) for g, n, d in cursor.fetchall()}


def shown(result) -> dict[str, tuple[int, int]]:
    return {key: (n, d) for key, _, n, d in result if d}


def queryset_and_numerator(on_cases: bool):
    if on_cases:
        return NavigationCase.objects.all(), Q(needs_interpreter=True)
    return Patient.objects.all(), Q(sms_consent=True)


# --- Every dimension, on patients and on cases ---------------------------------------------

FIXED = ["race", "lep", "interpreter", "sex", "insurance", "clinic"]


@pytest.mark.parametrize("on_cases", [False, True], ids=["patients", "cases"])
@pytest.mark.parametrize("key", FIXED)
def test_each_dimension_counts_what_hand_written_sql_counts(
    population, key, on_cases, django_assert_num_queries
):
    # Given the seeded population and one dimension
    queryset, numerator_q = queryset_and_numerator(on_cases)

    # When it is counted, in exactly one query
    with django_assert_num_queries(1):
        result = grouped_counts(queryset, DIMENSIONS[key], numerator_q=numerator_q, on=ON)

    # Then the groups with anyone in them are exactly those of the SQL, with its counts,
    # every fixed group is listed, and "not recorded" is its own group
    assert shown(result) == sql_counts(GROUP_SQL[key], [], on_cases=on_cases)
    keys = [k for k, _, _, _ in result]
    assert NOT_RECORDED in keys
    assert set(dict(DIMENSIONS[key].groups)) <= set(keys)
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("key", ["race", "language", "lep", "interpreter", "sex", "insurance"])
def test_patients_with_nothing_recorded_are_counted_not_dropped(population, key):
    result = grouped_counts(Patient.objects.all(), DIMENSIONS[key], numerator_q=Q(), on=ON)

    not_recorded = next(d for k, _, _, d in result if k == NOT_RECORDED)
    assert not_recorded > 0
    assert sum(d for _, _, _, d in result) == Patient.objects.count()


def test_the_navigator_dimension_counts_cases_by_navigator_with_the_unassigned_apart(
    population, django_assert_num_queries
):
    with django_assert_num_queries(1):
        result = grouped_counts(
            NavigationCase.objects.all(),
            DIMENSIONS["navigator"],
            numerator_q=Q(needs_interpreter=True),
            on=ON,
        )

    assert shown(result) == sql_counts(GROUP_SQL["navigator"], [], on_cases=True)
    labels = {k: label for k, label, _, _ in result}
    assert labels[NOT_RECORDED] == "Unassigned"
    for profile in NavigatorProfile.objects.select_related("user"):
        assert labels[str(profile.pk)] == profile.user.get_full_name()


def test_the_navigator_dimension_is_refused_for_patients():
    with pytest.raises(ValueError, match="applies to cases"):
        grouped_counts(Patient.objects.all(), DIMENSIONS["navigator"], numerator_q=Q(), on=ON)


def test_the_clinic_groups_carry_the_clinic_names(population):
    result = grouped_counts(Patient.objects.all(), DIMENSIONS["clinic"], numerator_q=Q(), on=ON)

    names = dict(Clinic.objects.values_list("code", "name"))
    assert {k: label for k, label, _, d in result if d} == {
        code: names[code] for code in shown(result)
    }


@pytest.mark.parametrize("on_cases", [False, True], ids=["patients", "cases"])
def test_languages_beyond_the_top_ones_are_summed_into_other(
    population, on_cases, django_assert_num_queries
):
    queryset, numerator_q = queryset_and_numerator(on_cases)

    with django_assert_num_queries(1):
        result = grouped_counts(queryset, DIMENSIONS["language"], numerator_q=numerator_q, on=ON)

    # Then the top languages are the largest of the SQL's, with its counts; "other" is the
    # sum of the rest; "not recorded" (a language not recorded, or blank) is its own group
    by_sql = sql_counts(GROUP_SQL["language"], [], on_cases=on_cases)
    recorded = {k: v for k, v in by_sql.items() if k != NOT_RECORDED}
    named = [(k, n, d) for k, _, n, d in result if k not in {OTHER, NOT_RECORDED}]
    assert len(named) == TOP_LANGUAGES < len(recorded)
    for key, numerator, denominator in named:
        assert recorded.pop(key) == (numerator, denominator)
    assert max(d for _, d in recorded.values()) <= min(d for _, _, d in named)
    rest = (sum(n for n, _ in recorded.values()), sum(d for _, d in recorded.values()))
    groups = {k: (n, d) for k, _, n, d in result}
    assert groups[OTHER] == rest
    assert groups[NOT_RECORDED] == by_sql[NOT_RECORDED]
    assert {k: label for k, label, _, _ in result}["es"] == "Spanish"


@pytest.mark.parametrize("on_cases", [False, True], ids=["patients", "cases"])
@pytest.mark.parametrize("program", sorted(AGE_BANDS))
def test_age_bands_count_what_the_birth_date_ranges_in_sql_count(
    population, program, on_cases, django_assert_num_queries
):
    bands = AGE_BANDS[program]
    dimension = DIMENSIONS["age"] if program == "colorectal" else age_dimension(bands)
    queryset, numerator_q = queryset_and_numerator(on_cases)

    with django_assert_num_queries(1):
        result = grouped_counts(queryset, dimension, numerator_q=numerator_q, on=ON)

    group_sql, params = _age_sql(bands)
    assert shown(result) == sql_counts(group_sql, params, on_cases=on_cases)
    assert [k for k, _, _, _ in result][-1] == NOT_RECORDED


def test_age_bands_agree_with_each_patients_age_on_the_reference_day(population):
    # Given every patient's age computed in Python, birthdays on the day included
    bands = AGE_BANDS["colorectal"]
    expected: dict[str, int] = {}
    for patient in Patient.objects.all():
        age = patient.age_on(ON)
        band = next(
            (f"{young}_{old}" for young, old in bands if young <= age <= old),
            "under_45" if age < 45 else "over_75",
        )
        expected[band] = expected.get(band, 0) + 1

    result = grouped_counts(Patient.objects.all(), DIMENSIONS["age"], numerator_q=Q(), on=ON)

    assert {k: d for k, _, _, d in result if d} == expected


def test_a_leap_day_reference_counts_a_birthday_as_reached_on_the_28th():
    assert add_years(dt.date(2024, 2, 29), -50) == dt.date(1974, 2, 28)
    assert add_years(dt.date(2025, 6, 30), -50) == dt.date(1975, 6, 30)


def test_age_bands_must_be_contiguous():
    with pytest.raises(ValueError, match="contiguous"):
        age_dimension([(45, 49), (55, 64)])


def test_a_language_interpreter_need_or_proficiency_nobody_gave_is_not_recorded():
    # Given a Spanish speaker, and patients whose language was declined, unknown or never
    # asked (with the "en" placeholder and the default "no interpreter")
    factories.PatientFactory(preferred_language="es", english_proficiency="not_well")
    for status in ("declined", "unknown", "not_asked"):
        factories.PatientFactory(
            language_status=status, language_source="", english_proficiency="declined"
        )

    def groups(key: str) -> dict[str, int]:
        result = grouped_counts(Patient.objects.all(), DIMENSIONS[key], numerator_q=Q(), on=ON)
        return {k: d for k, _, _, d in result if d}

    # Then only the Spanish speaker has a language, an English level and an interpreter answer
    assert groups("language") == {"es": 1, NOT_RECORDED: 3}
    assert groups("lep") == {"lep": 1, NOT_RECORDED: 3}
    assert groups("interpreter") == {"not_needed": 1, NOT_RECORDED: 3}
