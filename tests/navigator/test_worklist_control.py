"""A control programme's worklist reasons (navigator/worklist/control_rules.py): a
coaching session missed, the HbA1c/GMI overdue, the last one above target or in poor
control. Each pinned on both sides of its boundary, ranked among the screening
reasons, read the same by the two-step page query as by the ranked queryset (every
test reads both), and worked out inside the worklist's one query (no query more).

The labs go through the care-gap engine as an EHR delivers them (the gap is what the
rules read). The clock stands still at 2 pm in Boston on Tuesday 24 November 2026,
unless a test moves it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from navigator.models import (
    AttendanceStatus,
    CoachingSessionStatus,
    GroupAttendance,
    NavigationCase,
)
from navigator.worklist import rules
from navigator.worklist.filters import Filters
from patients.services import care_gaps
from tests import factories
from tests.navigator.test_worklist import (
    API,
    NOW,
    TODAY,
    WORKLIST,
    boston,
    caseload,
    quiet_case,
)
from tests.navigator.test_worklist_paged import expected, paged, said
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES
from tests.support.fhir import diabetes, ehr_resource, gmi, hba1c

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]

CONTROL_CODES = ["session_missed", "poor_control", "lab_overdue", "above_target"]


def control_case(navigator, *labs, as_of: dt.date = TODAY, **kwargs) -> NavigationCase:
    """A diabetes control case (called last week, follow-up next week: no screening
    reason) whose patient's labs the care-gap engine has read as of `as_of`."""
    patient = factories.PatientFactory(
        birth_date=dt.date(1970, 5, 1), preferred_language=kwargs.pop("language", "es")
    )
    ehr_resource(patient, diabetes("2019-03-01"))
    for lab in labs:
        ehr_resource(patient, lab)
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=as_of)
    return quiet_case(navigator, patient=patient, program=factories.program("diabetes"), **kwargs)


def rows_for(user) -> list[NavigationCase]:
    """The rows as the ORM's one ranked queryset reads them, after checking that the
    two-step page (on PostgreSQL its lab facts read the care gap once, joined LATERAL:
    navigator/worklist/laterals.py) says the same of every case, page by page."""
    moment = rules.Moment.current()
    ranked = expected(user, Filters(), moment)
    assert [said(row) for row in paged(user, Filters(), moment, size=3)] == [
        said(row) for row in ranked
    ]
    return ranked


def reasons(user, case) -> list[str]:
    return [reason.code for reason in row_of(user, case).reasons]


def control_labels(user, case) -> list[str]:
    found = rows_for(user)
    row = next(r for r in found if r.pk == case.pk)
    return [r.label for r in row.reasons if r.code in CONTROL_CODES]


# --- The HbA1c/GMI overdue ------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected_labels"),
    [
        (dt.date(2026, 11, 23), []),
        (dt.date(2026, 11, 24), ["HbA1c/GMI due today (last 24 May)"]),
        (dt.date(2026, 11, 25), ["HbA1c/GMI overdue since 24 Nov (last 24 May)"]),
    ],
    ids=["day-before", "due-day", "day-after"],
)
def test_a_lab_at_target_is_due_six_months_on(navigator, frozen_clock, day, expected_labels):
    # Given an HbA1c at target (7.5 %) on 24 May: the next one is due 6 months on
    case = control_case(navigator, hba1c("2026-05-24", 7.5), as_of=dt.date(2026, 6, 1))

    # When the worklist is drawn on `day`
    frozen_clock.move_to(boston(day, 14))

    # Then it is due from 24 November, on the day itself
    assert control_labels(navigator.user, case) == expected_labels


def test_a_lab_above_target_is_due_three_months_on_and_says_both(navigator):
    # Given an HbA1c above target (8.4 %) on 20 Aug: due again 20 Nov (3 months)
    case = control_case(navigator, hba1c("2026-08-20", 8.4))

    assert control_labels(navigator.user, case) == [
        "HbA1c/GMI overdue since 20 Nov (last 20 Aug)",
        "Last HbA1c/GMI 8.4% on 20 Aug (target < 8%)",
    ]


def test_a_new_year_without_a_lab_makes_it_overdue_and_last_years_value_no_longer_counts(
    navigator, frozen_clock
):
    # Given poor control in December (9.4 %, due again in March)
    frozen_clock.move_to(boston(dt.date(2026, 12, 15), 14))
    case = control_case(
        navigator,
        hba1c("2026-12-10", 9.4),
        as_of=dt.date(2026, 12, 15),
        next_follow_up=dt.date(2027, 2, 1),
    )

    # On New Year's Eve: poor control, not due
    frozen_clock.move_to(boston(dt.date(2026, 12, 31), 14))
    assert reasons(navigator.user, case) == ["poor_control"]

    # On New Year's Day: no lab this year (CMS122 counts the patient as poorly
    # controlled until one is done): the lab is due, last year's value is history
    frozen_clock.move_to(boston(dt.date(2027, 1, 1), 14))
    assert control_labels(navigator.user, case) == [
        "HbA1c/GMI overdue: none this year (last 10 Dec 2026)"
    ]
    assert row_of(navigator.user, case).wl_lab_overdue == dt.date(2027, 1, 1)


def row_of(user, case) -> NavigationCase:
    return next(r for r in rows_for(user) if r.pk == case.pk)


def test_a_lab_due_before_the_year_began_is_overdue_since_then(navigator):
    # Given a last HbA1c at target in March 2025 (due September 2025)
    case = control_case(navigator, hba1c("2025-03-02", 7.1))

    assert control_labels(navigator.user, case) == [
        "HbA1c/GMI overdue: none this year (last 2 Mar 2025)"
    ]
    # It waits longer than one due since 1 January: it sorts first among them
    assert row_of(navigator.user, case).wl_lab_overdue == dt.date(2025, 9, 2)


def test_no_lab_on_record_is_overdue(navigator):
    case = control_case(navigator)

    assert control_labels(navigator.user, case) == ["HbA1c/GMI overdue: none on record"]


def test_a_patient_outside_the_programme_has_no_lab_reason(navigator):
    # Given a control case whose patient has no diabetes on record (not eligible)
    patient = factories.PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, hba1c("2026-01-05", 10.2))
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=TODAY)
    case = quiet_case(navigator, patient=patient, program=factories.program("diabetes"))

    # Then no lab reason: the gap says not eligible, not "due" or "poor control"
    assert reasons(navigator.user, case) == []


def test_a_screening_case_of_a_patient_with_a_control_gap_has_no_control_reason(navigator):
    # The gap read is the case's own programme's
    case = control_case(navigator, hba1c("2026-11-03", 9.6))
    screening = quiet_case(navigator, patient=case.patient)

    assert reasons(navigator.user, screening) == []
    assert reasons(navigator.user, case) == ["poor_control"]


# --- The last value above target ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected_labels"),
    [
        (9.4, ["Last HbA1c/GMI 9.4% on 3 Nov: poor control, above 9% (target < 8%)"]),
        # Exactly 9 is not above 9 (CMS122: > 9.0 %): above target only
        ("9.0", ["Last HbA1c/GMI 9.0% on 3 Nov (target < 8%)"]),
        ("8.0", ["Last HbA1c/GMI 8.0% on 3 Nov (target < 8%)"]),
        (7.9, []),
    ],
    ids=["poor-control", "nine", "eight", "at-target"],
)
def test_the_last_value_says_how_far_above_target_it_is(navigator, value, expected_labels):
    case = control_case(navigator, hba1c("2026-11-03", value))

    assert control_labels(navigator.user, case) == expected_labels


def test_a_comparator_is_said_with_the_value(navigator):
    case = control_case(navigator, hba1c("2026-11-03", 14, comparator=">"))

    assert control_labels(navigator.user, case) == [
        "Last HbA1c/GMI > 14% on 3 Nov: poor control, above 9% (target < 8%)"
    ]


def test_a_glucose_management_indicator_is_read_like_an_hba1c(navigator):
    case = control_case(navigator, gmi("2026-11-03", 9.2))

    assert reasons(navigator.user, case) == ["poor_control"]


# --- A coaching session missed --------------------------------------------------------


def session(case, status: str, day: dt.date):
    return factories.CoachingSessionFactory(case=case, status=status, scheduled_at=boston(day, 10))


def at_target(navigator, **kwargs) -> NavigationCase:
    """A control case with nothing else to say: an HbA1c at target this month."""
    return control_case(navigator, hba1c("2026-11-02", 7.2), **kwargs)


@pytest.mark.parametrize(
    ("sessions", "expected_labels"),
    [
        ([("missed", 20)], ["Missed coaching session on 20 Nov"]),
        ([("attended", 18), ("missed", 20)], ["Missed coaching session on 20 Nov"]),
        ([("missed", 16), ("missed", 20)], ["Missed coaching session on 20 Nov"]),
        ([("missed", 20), ("attended", 22)], []),
        ([("cancelled", 20)], []),
        ([("scheduled", 26)], []),
    ],
    ids=["missed", "after-attended", "latest-of-two", "attended-since", "cancelled", "ahead"],
)
def test_an_individual_session_missed_counts_until_one_is_attended(
    navigator, sessions, expected_labels
):
    case = at_target(navigator)
    for status, day in sessions:
        session(case, status, dt.date(2026, 11, day))

    assert control_labels(navigator.user, case) == expected_labels


def series_with_sessions(days: list[int], curriculum: str = "dsmes-basics"):
    series = factories.GroupSeriesFactory(program=factories.program("diabetes"))
    series.curriculum = curriculum
    series.save(update_fields=["curriculum"])
    return series, [
        factories.GroupSessionFactory(
            series=series, number=number, starts_at=boston(dt.date(2026, 11, day), 18)
        )
        for number, day in enumerate(days, start=1)
    ]


def mark(enrolment, group_session, status: str, makeup_for=None) -> GroupAttendance:
    return GroupAttendance.objects.create(
        session=group_session,
        enrolment=enrolment,
        patient=enrolment.patient,
        status=status,
        minutes=90 if status == AttendanceStatus.ATTENDED else 0,
        makeup_for=makeup_for,
        recorded_by=group_session.series.facilitator,
    )


@pytest.mark.parametrize(
    ("marks", "expected_labels"),
    [
        (["absent"], ["Missed group class on 12 Nov, not made up"]),
        (["excused"], []),
        (["absent", "attended"], []),
        (["attended", "absent"], ["Missed group class on 19 Nov, not made up"]),
    ],
    ids=["absent", "excused", "attended-since", "after-attended"],
)
def test_a_group_class_missed_counts_until_attended_or_made_up(navigator, marks, expected_labels):
    case = at_target(navigator)
    series, sessions = series_with_sessions([12, 19])
    enrolment = factories.GroupEnrolmentFactory(series=series, case=case)
    for group_session, status in zip(sessions, marks, strict=False):
        mark(enrolment, group_session, status)

    assert control_labels(navigator.user, case) == expected_labels


def test_a_group_class_made_up_in_another_series_is_not_missed(navigator):
    # Given class 1 of the patient's series missed on 12 Nov...
    case = at_target(navigator)
    series, (first,) = series_with_sessions([12])
    enrolment = factories.GroupEnrolmentFactory(series=series, case=case)
    mark(enrolment, first, AttendanceStatus.ABSENT)
    assert control_labels(navigator.user, case) == ["Missed group class on 12 Nov, not made up"]

    # When it is made up in another series' class 1, held the evening before (the
    # patient knew they would miss theirs): nothing attended after the miss, but the
    # class is made up
    other, (same_class,) = series_with_sessions([11])
    other_enrolment = factories.GroupEnrolmentFactory(series=other, case=case)
    mark(other_enrolment, same_class, AttendanceStatus.ATTENDED, makeup_for=first)

    assert control_labels(navigator.user, case) == []


def test_an_individual_and_a_group_class_missed_are_both_said(navigator):
    case = at_target(navigator)
    session(case, CoachingSessionStatus.MISSED, dt.date(2026, 11, 16))
    series, (evening,) = series_with_sessions([19])
    mark(factories.GroupEnrolmentFactory(series=series, case=case), evening, "absent")

    assert control_labels(navigator.user, case) == [
        "Missed coaching session on 16 Nov; missed group class on 19 Nov, not made up"
    ]


# --- Ranking among the screening reasons -------------------------------------------------


def one_control_case_per_reason(navigator) -> dict[str, NavigationCase]:
    """A case for each control rule, the screening rules around them and a quiet case,
    created in an order unlike the ranking."""
    cases = {}
    cases["quiet"] = quiet_case(navigator, next_follow_up=TODAY + dt.timedelta(days=6))
    # Above target, from an older lab than the poor control's: still below it
    cases["above_target"] = control_case(navigator, hba1c("2026-10-01", 8.6))
    cases["lab_overdue"] = control_case(navigator, hba1c("2026-05-01", 7.0))
    cases["poor_control"] = control_case(navigator, hba1c("2026-11-03", 9.4))
    cases["never_contacted"] = factories.CaseFactory(
        navigator=navigator, next_follow_up=TODAY + dt.timedelta(days=2)
    )
    cases["session_missed"] = at_target(navigator)
    session(cases["session_missed"], CoachingSessionStatus.MISSED, dt.date(2026, 11, 20))
    cases["follow_up_due"] = quiet_case(navigator, next_follow_up=TODAY - dt.timedelta(days=2))
    return cases


def test_control_reasons_rank_among_the_screening_ones(navigator):
    cases = one_control_case_per_reason(navigator)

    ranked = rows_for(navigator.user)

    order = [
        "follow_up_due",
        "session_missed",
        "never_contacted",
        "poor_control",
        "lab_overdue",
        "above_target",
    ]
    assert [r.pk for r in ranked] == [cases[code].pk for code in [*order, "quiet"]]
    assert [r.wl_priority for r in ranked] == [4, 5, 6, 7, 8, 9, rules.NO_REASON_PRIORITY]
    assert [r.reasons[0].code for r in ranked[:-1]] == order


def test_poor_control_ranks_above_a_lab_overdue_and_above_target_on_one_case(navigator):
    # Poor control since August, the lab due again since November: both said, the
    # worse first, and the case ranks as poor control
    case = control_case(navigator, hba1c("2026-08-03", 10.1))

    row = row_of(navigator.user, case)
    assert [r.code for r in row.reasons] == ["poor_control", "lab_overdue"]
    assert row.wl_priority == 7


def test_within_a_control_reason_the_longest_waiting_comes_first(navigator):
    later = control_case(navigator, hba1c("2026-10-20", 9.8))
    earlier = control_case(navigator, hba1c("2026-09-01", 9.3))

    # Both poor control, neither lab due again yet (1 Dec, 20 Jan): the older lab first
    assert [r.pk for r in rows_for(navigator.user)] == [earlier.pk, later.pk]


# --- The page's query, the API, and the two-step query ---------------------------------


def control_caseload(navigator) -> None:
    """One case per control reason, with a group series in the programme (the rows'
    enrol button), beside the screening caseload."""
    caseload(navigator, 6)
    one_control_case_per_reason(navigator)
    series, (evening,) = series_with_sessions([12])
    case = at_target(navigator)
    mark(factories.GroupEnrolmentFactory(series=series, case=case), evening, "absent")


def test_the_page_takes_no_query_more_for_control_cases(
    client, navigator, django_assert_num_queries
):
    control_caseload(navigator)
    client.force_login(navigator.user)

    # As tests/navigator/test_worklist.py counts them: 1 the session, 2 the user, 3
    # whose cases, 4 the count, 5 the page with every rule (the control rules
    # among them) and row fact (the programme's series among them), 6 the calls due
    # today, 7 the reminders, 8 the tasks due, 9-11 the program, clinic and barrier
    # menus; then the audit trail's row and the patients on the page.
    with django_assert_num_queries(11 + AUDIT_QUERIES):
        response = client.get(WORKLIST)

    assert response.status_code == 200
    page = response.content.decode()
    for code in CONTROL_CODES:
        assert f"reason--{code}" in page
    assert "Enrol in the next Spanish-language series" in page


def test_the_api_takes_no_query_more_and_says_the_control_reasons(
    navigator, django_assert_num_queries
):
    control_caseload(navigator)
    client = api_as(navigator.user)

    # 1 whose cases, 2 the count, 3 the page; then the audit trail's row and the patients.
    with django_assert_num_queries(3 + AUDIT_QUERIES):
        response = client.get(API, {"page_size": 100})

    codes = {reason["code"] for row in response.json()["results"] for reason in row["reasons"]}
    assert set(CONTROL_CODES) <= codes


@pytest.mark.parametrize("sort", ["priority", "name", "-last_attempt"])
def test_the_two_step_page_says_what_the_ranked_queryset_says(navigator, sort):
    control_caseload(navigator)
    moment = rules.Moment.current()
    filters = Filters(sort=sort)

    rows = paged(navigator.user, filters, moment, size=4)

    assert [(said(row), row.enrol_series_label) for row in rows] == [
        (said(row), row.enrol_series_label) for row in expected(navigator.user, filters, moment)
    ]
    assert any(row.reasons and row.reasons[0].code == "lab_overdue" for row in rows)
