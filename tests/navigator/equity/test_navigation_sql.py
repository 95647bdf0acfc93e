"""Each navigation figure (funnel, completion within 90 and 180 days, step medians,
close reasons, per navigator) counts what hand-written SQL counts, in exactly one query.

The seeded cases of `tests/support/equity_cases.py` are counted once by the figures and
once by plain SQL written from the stated rules; medians are checked against Python's
`statistics.median` over the raw rows. Under `DATABASE_URL=postgres://…` the same tests
check the PostgreSQL SQL.
"""

# The SQL below is built from table names (Django's _meta) and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from navigator.equity.cohort import local_midnight
from navigator.equity.dimensions import DIMENSIONS, NOT_RECORDED, OTHER, TOP_LANGUAGES
from navigator.equity.navigation import (
    CLOSE_REASONS,
    METHODS,
    STEPS,
    FunnelRow,
    close_reasons,
    completion_counts,
    funnel_counts,
    navigator_outcomes,
    step_medians,
)
from navigator.models import Appointment, NavigationCase
from outreach.models import ContactAttempt
from patients.models import ScreeningEvent
from tests import factories
from tests.support.equity_cases import (
    BASE,
    CASE,
    COMPLETE,
    FOLLOW_UP,
    NOW,
    PATIENT,
    PERIOD,
    REACHED_SQL,
    SCHEDULED_SQL,
    TESTED_SQL,
    TODAY,
    base_params,
    cohort,
    flag,
    followed_sql,
    group_sql,
    seeded_cases,
    shown,
    sql_sums,
    within_sql,
)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


@pytest.fixture(scope="module")
def cases(django_db_setup, django_db_blocker) -> Iterator[dict]:
    with seeded_cases(django_db_blocker) as data:
        yield data


DIMENSION_KEYS = ["race", "language", "lep", "sex", "insurance", "clinic", "navigator"]


# --- Funnel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", DIMENSION_KEYS)
def test_the_funnel_counts_what_hand_written_sql_counts(cases, key, django_assert_num_queries):
    # Given the seeded cases and one dimension
    dimension = DIMENSIONS[key]

    # When the funnel is counted, in one query (the grouped cases, each step an EXISTS)
    with django_assert_num_queries(1):
        rows = funnel_counts(cohort(cases), dimension)

    # Then every group has the SQL's counts
    expected = sql_sums(
        group_sql(cases, key),
        ["1", flag(REACHED_SQL), flag(SCHEDULED_SQL), flag(TESTED_SQL), flag(COMPLETE)],
        [],
        cases,
    )
    assert shown(rows, "referred", "reached", "scheduled", "tested", "complete") == expected
    # and every fixed group is listed, "not recorded" included, each once
    keys = [row.key for row in rows]
    assert {k for k, _ in dimension.groups} <= set(keys)
    assert len(keys) == len(set(keys))


def test_the_funnel_leaves_out_ineligible_cases_other_programmes_and_other_periods(cases):
    # Given the cases of the cohort as plain filtering in Python would find them
    low, high = local_midnight(PERIOD[0]), local_midnight(PERIOD[1] + dt.timedelta(days=1))
    expected = [
        c
        for c in NavigationCase.objects.all()
        if c.program_id == cases["colorectal"].pk
        and c.status != "ineligible"
        and low <= c.opened_at < high
    ]
    assert NavigationCase.objects.filter(status="ineligible").exists()
    assert NavigationCase.objects.filter(program=cases["breast"]).exists()
    assert NavigationCase.objects.filter(opened_at__lt=low).exists()

    rows = funnel_counts(cohort(cases), DIMENSIONS["sex"])

    assert sum(row.referred for row in rows) == len(expected)


def test_each_programme_is_counted_apart(cases):
    breast = funnel_counts(cohort(cases, program="breast"), DIMENSIONS["sex"])

    expected = sql_sums("'all'", ["1"], [], {**cases, "colorectal": cases["breast"]})
    assert sum(row.referred for row in breast) == expected["all"][0] > 0


def test_the_scope_limits_the_cases_counted(cases):
    # Given clinic staff's scope: their clinic's patients only
    clinic = cases["clinics"][0]

    rows = funnel_counts(cohort(cases, Q(patient__clinic=clinic)), DIMENSIONS["clinic"])

    counted = {row.key: row.referred for row in rows if row.referred}
    assert list(counted) == [clinic.code]
    everyone = {row.key: row.referred for row in funnel_counts(cohort(cases), DIMENSIONS["clinic"])}
    assert counted[clinic.code] == everyone[clinic.code]


def test_languages_beyond_the_top_ones_are_counted_as_other(cases):
    rows = funnel_counts(cohort(cases), DIMENSIONS["language"])

    keys = [row.key for row in rows]
    assert len([k for k in keys if k not in {OTHER, NOT_RECORDED}]) == TOP_LANGUAGES
    assert {row.key: row.referred for row in rows}[OTHER] > 0
    assert {row.key: row.label for row in rows}["es"] == "Spanish"


# --- Completion within 90 and 180 days ---------------------------------------------------------


@pytest.mark.parametrize("days", [90, 180])
@pytest.mark.parametrize("key", DIMENSION_KEYS)
def test_completion_within_days_counts_what_hand_written_sql_counts(
    cases, key, days, django_assert_num_queries
):
    with django_assert_num_queries(1):  # the grouped cases
        rows = completion_counts(cohort(cases), DIMENSIONS[key], days=days, today=TODAY)

    cutoff = TODAY - dt.timedelta(days=days)
    expected = sql_sums(
        group_sql(cases, key),
        [
            flag(f"{followed_sql(days)} AND {within_sql(days)}"),
            flag(followed_sql(days)),
        ],
        [cutoff, cutoff],
        cases,
    )
    assert {k: (n, d) for k, _, n, d in rows if d} == {k: v for k, v in expected.items() if v[1]}
    assert NOT_RECORDED in [k for k, _, _, _ in rows]


def test_a_case_opened_30_days_ago_is_not_in_the_90_day_denominator(cases):
    # Given a case opened 30 days ago, then completed
    case = factories.CaseFactory(
        program=cases["colorectal"],
        opened_at=local_midnight(TODAY - dt.timedelta(days=30)) + dt.timedelta(hours=10),
    )
    before = completion_counts(cohort(cases), DIMENSIONS["sex"], days=90, today=TODAY)
    funnel_before = funnel_counts(cohort(cases), DIMENSIONS["sex"])
    NavigationCase.objects.filter(pk=case.pk).update(
        status="completed", completed_at=timezone.now()
    )

    after = completion_counts(cohort(cases), DIMENSIONS["sex"], days=90, today=TODAY)

    # Then neither count of the 90-day figure moved: it has not had 90 days yet
    assert after == before
    # while the funnel counts it as referred and complete
    funnel_after = funnel_counts(cohort(cases), DIMENSIONS["sex"])
    female = [r for r in funnel_before if r.key == "female"][0]
    assert [r for r in funnel_after if r.key == "female"][0] == FunnelRow(
        "female", female.label, female.referred, female.reached, female.scheduled,
        female.tested, female.complete + 1,
    )  # fmt: skip


def _one_case_completion(cases, *, opened: dt.datetime, completed: dt.datetime | None, status):
    patient = factories.PatientFactory(sex="male", clinic=cases["clinics"][0])
    factories.CaseFactory(
        patient=patient, program=cases["colorectal"], opened_at=opened, status=status,
        completed_at=completed,
    )  # fmt: skip
    scope = Q(patient=patient)
    return completion_counts(cohort(cases, scope), DIMENSIONS["sex"], days=90, today=TODAY)


def _male(rows) -> tuple[int, int]:
    return next((n, d) for k, _, n, d in rows if k == "male")


def test_the_90th_day_counts_and_the_91st_does_not(cases):
    opened = local_midnight(dt.date(2026, 1, 5)) + dt.timedelta(hours=17)
    on_time = local_midnight(dt.date(2026, 1, 5) + dt.timedelta(days=90)) + dt.timedelta(hours=9)
    late = on_time + dt.timedelta(days=1)

    assert _male(
        _one_case_completion(cases, opened=opened, completed=on_time, status="completed")
    ) == (1, 1)
    assert _male(_one_case_completion(cases, opened=opened, completed=late, status="closed")) == (
        0,
        1,
    )


def test_declined_and_unreachable_cases_count_as_not_completed(cases):
    opened = local_midnight(dt.date(2026, 1, 5)) + dt.timedelta(hours=10)
    for status in ["declined", "closed_unreachable", "follow_up_closed"]:
        assert _male(_one_case_completion(cases, opened=opened, completed=None, status=status)) == (
            0,
            1,
        )


def test_days_are_local_days_for_a_case_opened_late_in_the_evening(cases):
    # Given a case opened at 23:30 local time on the day that is exactly 90 days back
    # (already the next day in UTC), completed on the 90th local day after it
    day = TODAY - dt.timedelta(days=90)
    opened = local_midnight(day) + dt.timedelta(hours=23, minutes=30)
    completed = local_midnight(day + dt.timedelta(days=90)) + dt.timedelta(hours=8)

    rows = _one_case_completion(cases, opened=opened, completed=completed, status="completed")

    # Then it has had its 90 days and completed within them
    assert _male(rows) == (1, 1)


def test_completion_is_refused_for_other_windows(cases):
    with pytest.raises(ValueError, match="within"):
        completion_counts(cohort(cases), DIMENSIONS["sex"], days=30, today=TODAY)


def test_each_window_states_its_rule():
    for days in (90, 180):
        sentence = METHODS[f"completion_{days}"]
        assert f"{days} days" in sentence
        assert "left out" in sentence
        assert "declined or unreachable cases count as not completed" in sentence
    assert "ineligible" in METHODS["cohort"]


# --- Medians and attempts ---------------------------------------------------------------------


def _raw_steps(cases, key: str) -> dict[str, dict[str, list[float]]]:
    """Per group, each step's days and the attempts per reached case, from raw rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k.id, {group_sql(cases, key)} FROM {CASE} k "
            f"JOIN {PATIENT} p ON p.id = k.patient_id WHERE {BASE}",
            base_params(cases),
        )
        group_of = {case_id: str(g) for case_id, g in cursor.fetchall()}

    def earliest(pairs):
        firsts: dict[int, object] = {}
        for case_id, value in pairs:
            if case_id in group_of and (case_id not in firsts or value < firsts[case_id]):
                firsts[case_id] = value
        return firsts

    reached = earliest(
        ContactAttempt.objects.filter(outcome="reached").values_list("case_id", "attempted_at")
    )
    scheduled = earliest(
        Appointment.objects.filter(purpose="screening").values_list("case_id", "created_at")
    )
    tested = earliest(
        ScreeningEvent.objects.filter(modality__role="screening", case__isnull=False).values_list(
            "case_id", "performed_on"
        )
    )
    outbound: dict[int, int] = {}
    for case_id in ContactAttempt.objects.filter(direction="outbound").values_list(
        "case_id", flat=True
    ):
        outbound[case_id] = outbound.get(case_id, 0) + 1
    by_group: dict[str, dict[str, list[float]]] = {}
    cases_rows = NavigationCase.objects.filter(pk__in=group_of).values_list(
        "pk", "opened_at", "status", "completed_at"
    )
    for case_id, opened_at, status, completed_at in cases_rows:
        values = by_group.setdefault(
            group_of[case_id], {name: [] for name, _ in STEPS} | {"attempts": []}
        )
        done = completed_at if status in {"completed", "closed", "treatment"} else None

        def days(later, earlier):
            return (later - earlier).total_seconds() / 86400

        def day_count(later_day, earlier_day):
            return float((later_day - earlier_day).days)

        if case_id in reached:
            values["opened_to_reached"].append(days(reached[case_id], opened_at))
            values["attempts"].append(outbound.get(case_id, 0))
            if case_id in scheduled:
                values["reached_to_scheduled"].append(days(scheduled[case_id], reached[case_id]))
        if case_id in scheduled and case_id in tested:
            values["scheduled_to_tested"].append(
                day_count(tested[case_id], timezone.localdate(scheduled[case_id]))
            )
        if case_id in tested and done:
            values["tested_to_complete"].append(
                day_count(timezone.localdate(done), tested[case_id])
            )
    return by_group


@pytest.mark.parametrize("key", DIMENSION_KEYS)
def test_step_medians_are_the_medians_of_the_raw_rows(cases, key, django_assert_num_queries):
    with django_assert_num_queries(1):  # the grouped cases, each step a correlated subquery
        rows = step_medians(cohort(cases), DIMENSIONS[key])

    raw = _raw_steps(cases, key)
    assert {
        row.key for row in rows if row.reached or any(s.cases for s in row.steps.values())
    } <= set(raw)
    for row in rows:
        values = raw.get(row.key, {name: [] for name, _ in STEPS} | {"attempts": []})
        for name, _ in STEPS:
            step = row.steps[name]
            assert step.cases == len(values[name]), (row.key, name)
            if values[name]:
                assert step.median_days == pytest.approx(statistics.median(values[name]), abs=1e-6)
            else:
                assert step.median_days is None
        assert row.reached == len(values["attempts"])
        assert row.attempts == sum(values["attempts"])
        if values["attempts"]:
            assert row.attempts_median == statistics.median(values["attempts"])
            assert row.attempts_per_reached == sum(values["attempts"]) / len(values["attempts"])
        else:
            assert row.attempts_median is None and row.attempts_per_reached is None
    # The data exercise every step, with an even number of values somewhere
    assert any(
        row.steps[name].cases % 2 == 0 and row.steps[name].cases
        for row in rows
        for name, _ in STEPS
    )
    assert all(any(row.steps[name].cases for row in rows) for name, _ in STEPS)


# --- Close reasons ---------------------------------------------------------------------------


def _close_sql(cases, group: str) -> dict[tuple[str, str], int]:
    reason = (
        f"COALESCE((SELECT f.close_reason FROM {FOLLOW_UP} f WHERE f.case_id = k.id "
        "AND f.state = 'closed' ORDER BY f.closed_at DESC, f.id DESC LIMIT 1), '')"
    )
    reason_key = (
        f"CASE WHEN k.status = 'follow_up_closed' THEN 'follow_up_closed:' || {reason} "
        "ELSE k.status END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {group}, {reason_key}, COUNT(*) FROM {CASE} k "
            f"JOIN {PATIENT} p ON p.id = k.patient_id WHERE {BASE} "
            "AND k.status IN ('closed', 'treatment', 'follow_up_closed', "
            "'closed_unreachable', 'declined') GROUP BY 1, 2",
            base_params(cases),
        )
        return {(str(g), r): n for g, r, n in cursor.fetchall()}


@pytest.mark.parametrize("key", [None, "race", "navigator"])
def test_close_reasons_count_what_hand_written_sql_counts(cases, key, django_assert_num_queries):
    dimension = DIMENSIONS[key] if key else None

    with django_assert_num_queries(1):  # the grouped closed cases
        rows = close_reasons(cohort(cases), dimension)

    expected = _close_sql(cases, group_sql(cases, key) if key else "'all'")
    got = {(row.key, reason): n for row in rows for reason, n in row.by_reason.items() if n}
    assert got == expected
    for row in rows:
        assert row.closed == sum(row.by_reason.values())
        assert list(row.by_reason) == [reason for reason, _ in CLOSE_REASONS]
    # Closing without the follow-up is split by the manager's reason
    assert any(reason.startswith("follow_up_closed:d") for _, reason in expected)


# --- Per navigator -----------------------------------------------------------------------------


def test_navigator_outcomes_are_the_funnel_and_completion_per_navigator_in_one_query(
    cases, django_assert_num_queries
):
    with django_assert_num_queries(1):  # the cases grouped by navigator
        outcomes = navigator_outcomes(cohort(cases), today=TODAY)

    funnel = funnel_counts(cohort(cases), DIMENSIONS["navigator"])
    completion = completion_counts(cohort(cases), DIMENSIONS["navigator"], days=180, today=TODAY)
    assert [o.funnel for o in outcomes] == funnel
    assert {o.completion_180 for o in outcomes} == set(completion)
    assert {o.funnel.label for o in outcomes if o.funnel.key == NOT_RECORDED} == {"Unassigned"}


# --- Which SQL each database runs ----------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_computes_the_median_with_percentile_cont(
    require_postgres, cases, django_assert_num_queries
):
    with django_assert_num_queries(1) as captured:
        step_medians(cohort(cases), DIMENSIONS["sex"])

    sql = captured.captured_queries[0]["sql"]
    assert "PERCENTILE_CONT(0.5) WITHIN GROUP" in sql
    assert "EXTRACT(EPOCH FROM" in sql


def test_sqlite_computes_the_median_with_its_registered_aggregate(cases, django_assert_num_queries):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with django_assert_num_queries(1) as captured:
        step_medians(cohort(cases), DIMENSIONS["sex"])

    assert "equinav_median(" in captured.captured_queries[0]["sql"]
