"""The barrier figures and diagnostic follow-up within 6 months of an abnormal stool
test count what hand-written SQL counts, in exactly one query each, on the seeded cases
of `tests/support/equity_cases.py` (and on PostgreSQL under `DATABASE_URL=postgres://…`).
"""

# The SQL below is built from table names (Django's _meta) and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.models import Q

from navigator.equity.dimensions import DIMENSIONS, NOT_RECORDED, OTHER, TOP_LANGUAGES
from navigator.equity.navigation_barriers import (
    METHODS,
    barrier_counts,
    diagnostic_follow_up_counts,
)
from navigator.equity.sql import add_months
from navigator.models import BarrierType, CaseBarrier, ResultFollowUp
from tests import factories
from tests.support.equity_cases import (
    BARRIER,
    BARRIER_TYPE,
    BASE,
    CASE,
    DAY_OF_MONTH,
    FOLLOW_UP,
    GROUP_SQL,
    MODALITY,
    MONTH_INDEX,
    NOW,
    PATIENT,
    PERIOD,
    SCREENING,
    TODAY,
    base_params,
    cohort,
    flag,
    followed_sql,
    seeded_cases,
    vendor,
    within_sql,
)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


@pytest.fixture(scope="module")
def cases(django_db_setup, django_db_blocker) -> Iterator[dict]:
    with seeded_cases(django_db_blocker) as data:
        yield data


# --- Barriers ----------------------------------------------------------------------------------


RESOLVED = flag("b.status = 'resolved'")


def test_barrier_counts_count_what_hand_written_sql_counts(cases, django_assert_num_queries):
    with django_assert_num_queries(1):  # the barrier types, their barriers joined once
        rows = barrier_counts(cohort(cases), today=TODAY)

    cutoff = TODAY - dt.timedelta(days=180)
    followed, within = followed_sql(180), within_sql(180)
    expected = {}
    with connection.cursor() as cursor:
        for code in BarrierType.objects.filter(active=True).values_list("code", flat=True):
            has_type = (
                f"EXISTS (SELECT 1 FROM {BARRIER} b "
                f"JOIN {BARRIER_TYPE} t ON t.id = b.barrier_type_id "
                f"WHERE b.case_id = k.id AND t.code = '{code}')"
            )
            without = f"NOT {has_type}"
            sums = [
                f"{has_type} AND {followed}",
                f"{has_type} AND {followed} AND {within}",
                f"{without} AND {followed}",
                f"{without} AND {followed} AND {within}",
                has_type,
            ]
            columns = ", ".join(f"COALESCE(SUM({flag(c)}), 0)" for c in sums)
            cursor.execute(
                f"SELECT {columns} FROM {CASE} k WHERE {BASE}",
                [cutoff, cutoff, cutoff, cutoff, *base_params(cases)],
            )
            fw, cw, fo, co, with_cases = (int(v) for v in cursor.fetchone())
            cursor.execute(
                f"SELECT COUNT(*), COALESCE(SUM({RESOLVED}), 0) "
                f"FROM {BARRIER} b JOIN {BARRIER_TYPE} t ON t.id = b.barrier_type_id "
                f"JOIN {CASE} k ON k.id = b.case_id WHERE t.code = %s AND {BASE}",
                [code, *base_params(cases)],
            )
            found, resolved = (int(v) for v in cursor.fetchone())
            expected[code] = (found, resolved, with_cases, cw, fw, co, fo)

    got = {
        row.code: (
            row.found, row.resolved, row.cases, row.completed_with, row.followed_with,
            row.completed_without, row.followed_without,
        )
        for row in rows
    }  # fmt: skip
    assert got == expected
    # Every active type is listed, found or not, and the data exercise both
    assert any(v[0] == 0 for v in expected.values()) and any(v[0] > 1 for v in expected.values())
    row = next(r for r in rows if r.found)
    assert [k for k, _, _, _ in row.counts()] == ["with", "without"]


def test_a_retired_barrier_type_is_listed_only_when_found(cases):
    BarrierType.objects.filter(code__in=["language", "transportation"]).update(active=False)
    found_codes = set(
        CaseBarrier.objects.filter(case__in=cohort(cases).cases()).values_list(
            "barrier_type__code", flat=True
        )
    )

    codes = {row.code for row in barrier_counts(cohort(cases), today=TODAY)}

    assert ("language" in codes) == ("language" in found_codes)
    assert ("transportation" in codes) == ("transportation" in found_codes)


# --- Diagnostic follow-up within 6 months ------------------------------------------------------


def _follow_up_sql(cases, group: str) -> dict[str, tuple[int, int, int]]:
    latest = min(PERIOD[1], add_months(TODAY, -6))
    months = vendor(MONTH_INDEX, "f.done_on") + " - " + vendor(MONTH_INDEX, "f.result_on")
    within = (
        f"f.state = 'done' AND (({months}) < 6 OR (({months}) = 6 AND "
        f"{vendor(DAY_OF_MONTH, 'f.done_on')} <= {vendor(DAY_OF_MONTH, 'f.result_on')}))"
    )
    elsewhere = "f.state = 'closed' AND f.close_reason = 'done_elsewhere'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g, SUM(n), COUNT(*), SUM(e) FROM (SELECT {group} AS g, {flag(within)} AS n, "
            f"{flag(elsewhere)} AS e FROM {FOLLOW_UP} f "
            f"JOIN {SCREENING} s ON s.id = f.screening_id "
            f"JOIN {MODALITY} m ON m.id = s.modality_id "
            f"JOIN {CASE} k ON k.id = f.case_id JOIN {PATIENT} p ON p.id = k.patient_id "
            "WHERE f.kind = 'diagnostic' AND m.mailed_kit AND s.result = 'abnormal' "
            "AND k.program_id = %s AND k.status <> 'ineligible' "
            "AND f.result_on >= %s AND f.result_on <= %s "
            "AND NOT (f.state = 'closed' AND f.close_reason = 'deceased')) t GROUP BY g",
            [cases["colorectal"].pk, PERIOD[0], latest],
        )
        return {str(g): (int(n), int(d), int(e)) for g, n, d, e in cursor.fetchall()}


@pytest.mark.parametrize("key", ["race", "lep", "clinic", "navigator"])
def test_diagnostic_follow_up_counts_what_hand_written_sql_counts(
    cases, key, django_assert_num_queries
):
    with django_assert_num_queries(1):  # the grouped follow-ups
        rows = diagnostic_follow_up_counts(cohort(cases), DIMENSIONS[key], today=TODAY)

    expected = _follow_up_sql(cases, GROUP_SQL[key])
    assert {row.key: (row.done, row.due, row.done_elsewhere) for row in rows if row.due} == expected
    assert sum(v[2] for v in expected.values()) > 0  # some were done elsewhere
    assert NOT_RECORDED in [row.key for row in rows]


def test_diagnostic_follow_up_names_the_top_languages_of_the_follow_ups(cases):
    # Given, besides the seeded ones, abnormal FITs of 8 months ago in nine more languages
    for language in ["fr", "de", "it", "pl", "ja", "tr", "uk", "fa", "hi"]:
        case = factories.CaseFactory(
            program=cases["colorectal"], patient__preferred_language=language
        )
        factories.result_recorded(case, test="fit", performed_on=add_months(TODAY, -8))

    rows = diagnostic_follow_up_counts(cohort(cases), DIMENSIONS["language"], today=TODAY)

    # Then the named languages are the largest among the follow-ups (ties by code), the
    # rest summed into "other", a blank language "not recorded"
    by_language = _follow_up_sql(cases, GROUP_SQL["language"])
    recorded = sorted(
        (k for k in by_language if k != NOT_RECORDED), key=lambda k: (-by_language[k][1], k)
    )
    top, rest = recorded[:TOP_LANGUAGES], recorded[TOP_LANGUAGES:]
    assert rest  # the data have more languages than are named
    expected = {k: by_language[k] for k in top}
    expected[OTHER] = tuple(sum(by_language[k][i] for k in rest) for i in range(3))
    if NOT_RECORDED in by_language:
        expected[NOT_RECORDED] = by_language[NOT_RECORDED]
    assert {row.key: (row.done, row.due, row.done_elsewhere) for row in rows if row.due} == expected


def test_follow_ups_still_within_their_6_months_are_left_out(cases):
    # Given an abnormal FIT resulted 5 months ago, its colonoscopy already done
    case = factories.CaseFactory(program=cases["colorectal"], patient__sex="male")
    result_on = add_months(TODAY, -5)
    factories.result_recorded(case, category="abnormal", test="fit", performed_on=result_on)
    before = diagnostic_follow_up_counts(cohort(cases), DIMENSIONS["sex"], today=TODAY)

    # When it is counted
    answer = factories.ScreeningEventFactory(case=case, modality=factories.modality("colonoscopy"))
    ResultFollowUp.objects.filter(case=case).update(state="done", answered_by=answer, done_on=TODAY)
    after = diagnostic_follow_up_counts(cohort(cases), DIMENSIONS["sex"], today=TODAY)

    # Then nothing changed: its 6 months have not passed
    assert after == before


def test_six_months_after_the_31st_of_august_is_the_last_day_of_february(cases):
    # Given abnormal FITs resulted on 31 August, followed up on 28 February and 1 March
    results = []
    for done_on in [dt.date(2026, 2, 28), dt.date(2026, 3, 1)]:
        patient = factories.PatientFactory(sex="other")
        case = factories.CaseFactory(program=cases["colorectal"], patient=patient)
        screening = factories.result_recorded(
            case, category="abnormal", test="fit", performed_on=dt.date(2025, 8, 31)
        )
        answer = factories.ScreeningEventFactory(
            case=case, modality=factories.modality("colonoscopy"), performed_on=done_on
        )
        ResultFollowUp.objects.filter(screening=screening).update(
            state="done", answered_by=answer, done_on=done_on
        )
        results.append(patient)

    rows = diagnostic_follow_up_counts(
        cohort(cases, Q(patient__in=results)), DIMENSIONS["sex"], today=TODAY
    )

    # Then only the first is within 6 months
    assert next((r.done, r.due) for r in rows if r.key == "other") == (1, 2)


def test_the_follow_up_rule_is_stated():
    sentence = METHODS["diagnostic_follow_up"]
    assert "6 months" in sentence and "died" in sentence and "elsewhere" in sentence
