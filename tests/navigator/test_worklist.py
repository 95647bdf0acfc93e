"""The worklist: what a navigator does next, and why (rules: navigator/worklist/rules.py).

Every rule is pinned on both sides of its boundary, then the ranking across
rules, the filters, the search, the sort orders, bad input, who sees whose
list, and the fixed number of queries whatever the caseload.

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026.
"""

from __future__ import annotations

import datetime as dt
import html
from itertools import cycle

import pytest

from navigator.models import AppointmentStatus, BarrierStatus, CaseStatus, NavigationCase
from navigator.selectors.worklist import worklist_for, worklist_rows
from navigator.services.screenings import case_record_screening
from navigator.worklist import rules
from navigator.worklist.filters import Filters
from outreach.models import FollowUpReminder
from tests import factories
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES

NOW = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)  # 2 pm in Boston
TODAY = dt.date(2026, 11, 24)
WORKLIST = "/worklist/"
API = "/api/worklist/"
SEARCH_API = "/api/worklist/search/"
HTMX = {"HTTP_HX_REQUEST": "true"}

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def boston(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    # 24 November to early December is standard time in Boston: UTC-5.
    return dt.datetime(day.year, day.month, day.day, hour + 5, minute, tzinfo=dt.UTC)


def quiet_case(navigator, **kwargs) -> NavigationCase:
    """An open case with nothing to do today: called last week, follow-up next week."""
    kwargs.setdefault("next_follow_up", TODAY + dt.timedelta(days=7))
    case = factories.CaseFactory(navigator=navigator, **kwargs)
    factories.ContactAttemptFactory(case=case, attempted_at=NOW - dt.timedelta(days=7))
    return case


def rows_for(user, **filters) -> list[NavigationCase]:
    moment = rules.Moment.current()
    cases = worklist_for(user=user, filters=Filters(**filters), moment=moment)
    return worklist_rows(cases, user=user, moment=moment)


def row(user, case) -> NavigationCase:
    return next(r for r in rows_for(user) if r.pk == case.pk)


def reasons(user, case) -> list[str]:
    return [reason.code for reason in row(user, case).reasons]


def labels(user, case) -> list[str]:
    return [reason.label for reason in row(user, case).reasons]


def api_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


# --- (a) Abnormal result, no diagnostic test booked -------------------------------------


@pytest.mark.parametrize(
    ("category", "expected", "label"),
    [
        ("abnormal", ["abnormal_result"],
         "Abnormal FIT on 3 Nov: diagnostic colonoscopy not booked, due 2 Jan 2027"),
        ("inadequate", ["abnormal_result"],
         "Inadequate FIT on 3 Nov: repeat the test not booked, due 3 Dec"),
        ("normal", [], None),
    ],
)  # fmt: skip
def test_only_a_result_whose_pathway_calls_for_a_follow_up_is_this_reason(
    navigator, category, expected, label
):
    # Given a case whose FIT of 3 Nov came back in `category`
    case = quiet_case(navigator, status=CaseStatus.COMPLETED)
    factories.result_recorded(case, category=category, performed_on=dt.date(2026, 11, 3))

    # Then only a result with a follow-up pathway is a reason, and the row says what,
    # when, the next step and its due date (the pathway's target from the result)
    assert reasons(navigator.user, case) == expected
    if expected:
        assert labels(navigator.user, case) == [label]


@pytest.mark.parametrize(
    ("purpose", "status", "flagged"),
    [
        ("diagnostic", AppointmentStatus.BOOKED, False),
        ("diagnostic", AppointmentStatus.KEPT, False),
        ("diagnostic", AppointmentStatus.CANCELLED, True),
        ("diagnostic", AppointmentStatus.NO_SHOW, True),
        ("diagnostic", AppointmentStatus.RESCHEDULED, True),
        # A screening appointment is not the diagnostic colonoscopy.
        ("screening", AppointmentStatus.BOOKED, True),
    ],
)
def test_a_diagnostic_appointment_booked_or_kept_answers_an_abnormal_result(
    navigator, purpose, status, flagged
):
    # Given an abnormal FIT on 3 Nov and an appointment booked since
    case = quiet_case(navigator, status=CaseStatus.COMPLETED)
    factories.result_recorded(case, performed_on=dt.date(2026, 11, 3))
    factories.AppointmentFactory(
        case=case, purpose=purpose, status=status, scheduled_at=NOW + dt.timedelta(days=10)
    )

    # Then the case still needs its colonoscopy booked unless one is booked or kept
    assert ("abnormal_result" in reasons(navigator.user, case)) is flagged


def test_a_diagnostic_appointment_booked_before_the_result_does_not_answer_it(navigator):
    # Given a diagnostic appointment booked on 1 Nov, for an earlier result
    case = quiet_case(navigator, status=CaseStatus.COMPLETED)
    appointment = factories.AppointmentFactory(
        case=case, purpose="diagnostic", scheduled_at=NOW + dt.timedelta(days=10)
    )
    type(appointment).objects.filter(pk=appointment.pk).update(
        created_at=boston(dt.date(2026, 11, 1), 9)
    )

    # When the FIT of 3 Nov comes back abnormal
    factories.result_recorded(case, performed_on=dt.date(2026, 11, 3))

    # Then the case is flagged
    assert reasons(navigator.user, case) == ["abnormal_result"]


def test_the_follow_up_recorded_answers_an_earlier_abnormal_result(navigator):
    # Given an abnormal FIT on 3 Nov
    case = quiet_case(navigator, status=CaseStatus.CONTACTING)
    factories.result_recorded(case, performed_on=dt.date(2026, 11, 3))

    # When the colonoscopy of 20 Nov is recorded, normal
    case_record_screening(
        case=case,
        modality=factories.modality("colonoscopy"),
        performed_on=dt.date(2026, 11, 20),
        result="normal",
        actor=navigator.user,
    )

    # Then nothing is left to do about the FIT
    assert reasons(navigator.user, case) == []


@pytest.mark.parametrize(
    ("category", "expected"),
    [("birads-2", []), ("birads-1", []), ("birads-4", ["abnormal_result"])],
)
def test_a_mammogram_is_this_reason_only_when_its_bi_rads_category_calls_for_a_follow_up(
    navigator, category, expected
):
    # Given a mammogram whose result is in a BI-RADS category
    case = quiet_case(navigator, program=factories.program("breast"), status=CaseStatus.COMPLETED)
    factories.result_recorded(
        case, test="mammography", category=category, performed_on=dt.date(2026, 11, 3)
    )

    # Then only a category with a pathway (BI-RADS 4: biopsy) makes it a reason
    assert reasons(navigator.user, case) == expected
    if expected:
        assert labels(navigator.user, case) == [
            "Abnormal Mammography on 3 Nov: breast biopsy not booked, due 3 Dec"
        ]


# --- (b) Appointment within 7 days, no prep call ---------------------------------------


@pytest.mark.parametrize(
    ("from_now", "flagged"),
    [
        (dt.timedelta(minutes=-1), False),  # already past
        (dt.timedelta(0), True),
        (dt.timedelta(days=7, minutes=-1), True),
        (dt.timedelta(days=7), False),  # a week ahead: not yet
    ],
    ids=["past", "now", "just-under-7-days", "7-days"],
)
def test_an_appointment_needs_its_prep_call_within_seven_days(navigator, from_now, flagged):
    case = quiet_case(navigator, status=CaseStatus.SCHEDULED)
    factories.AppointmentFactory(case=case, scheduled_at=NOW + from_now)

    assert ("prep_call" in reasons(navigator.user, case)) is flagged


@pytest.mark.parametrize(
    ("purpose", "after_booking", "flagged"),
    [
        (None, None, True),
        ("prep_call", dt.timedelta(hours=2), False),
        ("prep_call", dt.timedelta(0), False),
        ("prep_call", dt.timedelta(hours=-2), True),  # about an earlier booking
        ("outreach", dt.timedelta(hours=2), True),  # not a prep call
    ],
    ids=["no-call", "prep-after", "prep-at-booking", "prep-before", "outreach-after"],
)
def test_only_a_prep_call_logged_since_the_booking_counts(
    navigator, purpose, after_booking, flagged
):
    # Given an appointment on Thursday 26 Nov at 10 am, booked yesterday at 9 am
    case = quiet_case(navigator, status=CaseStatus.SCHEDULED)
    appointment = factories.AppointmentFactory(
        case=case, scheduled_at=boston(dt.date(2026, 11, 26), 10)
    )
    booked_at = boston(dt.date(2026, 11, 23), 9)
    type(appointment).objects.filter(pk=appointment.pk).update(created_at=booked_at)
    if purpose:
        factories.ContactAttemptFactory(
            case=case, purpose=purpose, attempted_at=booked_at + after_booking
        )

    # Then the case is flagged unless a prep call was logged since the booking
    assert ("prep_call" in reasons(navigator.user, case)) is flagged
    if flagged:
        assert labels(navigator.user, case) == ["Appointment on 26 Nov, no prep call logged"]


def test_a_cancelled_appointment_needs_no_prep_call(navigator):
    case = quiet_case(navigator, status=CaseStatus.CONTACTING)
    factories.AppointmentFactory(
        case=case, status=AppointmentStatus.CANCELLED, scheduled_at=NOW + dt.timedelta(days=2)
    )

    assert reasons(navigator.user, case) == []


# --- (c) Patient called back ------------------------------------------------------------


@pytest.mark.parametrize(
    ("inbound_after_outbound", "flagged"),
    [
        (dt.timedelta(hours=1), True),
        (dt.timedelta(0), False),  # as the navigator called: not newer
        (dt.timedelta(hours=-1), False),  # the navigator has called since
    ],
    ids=["newer", "same-moment", "older"],
)
def test_an_inbound_contact_newer_than_the_last_outbound_is_a_callback(
    navigator, inbound_after_outbound, flagged
):
    # Given a navigator's last call on Saturday 21 Nov at 10 am
    case = quiet_case(navigator)
    called = boston(dt.date(2026, 11, 21), 10)
    factories.ContactAttemptFactory(case=case, attempted_at=called)

    # When the patient texts back
    factories.ContactAttemptFactory(
        case=case,
        direction="inbound",
        channel="sms",
        outcome="reached",
        attempted_at=called + inbound_after_outbound,
    )

    # Then only a text newer than the last call is waiting for an answer
    assert ("called_back" in reasons(navigator.user, case)) is flagged
    if flagged:
        assert labels(navigator.user, case) == ["Patient called back (inbound text on 21 Nov)"]


def test_an_inbound_call_on_a_case_nobody_has_called_yet_is_a_callback(navigator):
    case = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY + dt.timedelta(5))
    factories.ContactAttemptFactory(
        case=case, direction="inbound", outcome="reached", attempted_at=NOW - dt.timedelta(hours=3)
    )

    # Not "never contacted" either: the patient has been in touch.
    assert labels(navigator.user, case) == ["Patient called back (inbound call on 24 Nov)"]


# --- (d) Follow-up date reached ---------------------------------------------------------


@pytest.mark.parametrize(
    ("next_follow_up", "expected"),
    [
        (TODAY - dt.timedelta(days=4), ["Follow-up due since 20 Nov"]),
        (TODAY, ["Follow-up due today"]),
        (TODAY + dt.timedelta(days=1), []),
        (None, []),
    ],
    ids=["overdue", "today", "tomorrow", "none"],
)
def test_a_follow_up_is_due_from_its_date(navigator, next_follow_up, expected):
    case = quiet_case(navigator, next_follow_up=next_follow_up)

    assert labels(navigator.user, case) == expected


# --- (e) Newly assigned, never contacted ------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "flagged"),
    [([], True), (["outbound"], False)],
    ids=["no-attempt", "one-call"],
)
def test_a_case_nobody_has_contacted_is_new(navigator, attempts, flagged):
    case = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY + dt.timedelta(3))
    for direction in attempts:
        factories.ContactAttemptFactory(case=case, direction=direction)

    assert ("never_contacted" in reasons(navigator.user, case)) is flagged
    if flagged:
        assert labels(navigator.user, case) == ["Newly assigned, never contacted"]


# --- Ranking across rules ---------------------------------------------------------------


def one_case_per_reason(navigator) -> dict[str, NavigationCase]:
    """A case for each rule and one with nothing to do, created in an order unlike
    the ranking so that neither id nor opening date could explain it."""
    cases = {}
    cases["quiet"] = quiet_case(navigator, next_follow_up=TODAY + dt.timedelta(days=6))
    cases["never_contacted"] = factories.CaseFactory(
        navigator=navigator, next_follow_up=TODAY + dt.timedelta(days=2)
    )
    cases["follow_up_due"] = quiet_case(navigator, next_follow_up=TODAY - dt.timedelta(days=2))
    cases["called_back"] = quiet_case(navigator)
    factories.ContactAttemptFactory(
        case=cases["called_back"], direction="inbound", outcome="reached"
    )
    cases["prep_call"] = quiet_case(navigator, status=CaseStatus.SCHEDULED)
    factories.AppointmentFactory(case=cases["prep_call"], scheduled_at=NOW + dt.timedelta(2))
    cases["abnormal_result"] = quiet_case(navigator, status=CaseStatus.COMPLETED)
    factories.result_recorded(cases["abnormal_result"])
    return cases


def test_it_ranks_each_reason_above_the_next_and_cases_with_none_last(navigator):
    cases = one_case_per_reason(navigator)

    ranked = rows_for(navigator.user)

    order = ["abnormal_result", "prep_call", "called_back", "follow_up_due", "never_contacted"]
    assert [r.pk for r in ranked] == [cases[code].pk for code in [*order, "quiet"]]
    # (Priority 5 and 7-9 are a control programme's: tests/navigator/test_worklist_control.py.)
    assert [r.wl_priority for r in ranked] == [1, 2, 3, 4, 6, rules.NO_REASON_PRIORITY]
    assert ranked[-1].reasons == []
    assert ranked[-1].summary == "Next follow-up 30 Nov"


def test_it_ranks_an_abnormal_fit_above_a_due_follow_up(navigator):
    due = quiet_case(navigator, next_follow_up=TODAY - dt.timedelta(days=10))
    abnormal = quiet_case(navigator, status=CaseStatus.COMPLETED)
    factories.result_recorded(abnormal)

    assert [r.pk for r in rows_for(navigator.user)] == [abnormal.pk, due.pk]


def test_a_case_shows_every_reason_and_ranks_by_the_most_urgent(navigator):
    # Given a case never contacted whose follow-up is due, and a case with only a
    # prep call to make
    both = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY - dt.timedelta(1))
    prep = quiet_case(navigator, status=CaseStatus.SCHEDULED)
    factories.AppointmentFactory(case=prep, scheduled_at=NOW + dt.timedelta(days=6))

    ranked = rows_for(navigator.user)

    # Then the first shows both reasons, the more urgent first, and ranks by it
    assert [r.pk for r in ranked] == [prep.pk, both.pk]
    assert [reason.label for reason in ranked[1].reasons] == [
        "Follow-up due since 23 Nov",
        "Newly assigned, never contacted",
    ]
    assert ranked[1].summary == "Follow-up due since 23 Nov"
    assert [(r.reason_follow_up_due, r.reason_never_contacted) for r in ranked[1:]] == [
        (True, True)
    ]


def _make_later_then_earlier(navigator, code: str) -> tuple[NavigationCase, NavigationCase]:
    """Two cases with the same reason, the less urgent created first."""
    made = []
    for step in (1, 2):  # step 2 is the more urgent one
        if code == "abnormal_result":
            case = quiet_case(navigator, status=CaseStatus.COMPLETED)
            factories.result_recorded(case, performed_on=TODAY - dt.timedelta(days=5 * step))
        elif code == "prep_call":
            case = quiet_case(navigator, status=CaseStatus.SCHEDULED)
            factories.AppointmentFactory(
                case=case, scheduled_at=NOW + dt.timedelta(days=6 - 2 * step)
            )
        elif code == "called_back":
            case = quiet_case(navigator)
            factories.ContactAttemptFactory(
                case=case,
                direction="inbound",
                outcome="reached",
                attempted_at=NOW - dt.timedelta(hours=10 * step),
            )
        elif code == "follow_up_due":
            case = quiet_case(navigator, next_follow_up=TODAY - dt.timedelta(days=3 * step))
        elif code == "never_contacted":
            case = factories.CaseFactory(
                navigator=navigator,
                next_follow_up=TODAY + dt.timedelta(days=3),
                opened_at=NOW - dt.timedelta(days=2 * step),
            )
        else:
            case = quiet_case(navigator, next_follow_up=TODAY + dt.timedelta(days=10 - 4 * step))
        made.append(case)
    return made[0], made[1]


@pytest.mark.parametrize(
    "code",
    ["abnormal_result", "prep_call", "called_back", "follow_up_due", "never_contacted", "quiet"],
)
def test_within_a_reason_the_longest_waiting_or_soonest_comes_first(navigator, code):
    # The oldest result, the soonest appointment, the longest-waiting callback, the
    # longest-due follow-up, the longest-waiting new case, the soonest follow-up.
    later, earlier = _make_later_then_earlier(navigator, code)

    assert [r.pk for r in rows_for(navigator.user)] == [earlier.pk, later.pk]


def test_the_rules_are_listed_in_priority_order_with_distinct_codes():
    assert [rule.priority for rule in rules.RULES] == list(range(1, 10))
    assert len({rule.code for rule in rules.RULES}) == len(rules.RULES)


# --- Filters ----------------------------------------------------------------------------


@pytest.fixture
def nav_api(navigator):
    return api_as(navigator.user)


def test_it_filters_by_program(navigator, nav_api):
    colorectal = quiet_case(navigator)
    breast = quiet_case(navigator, program=factories.program("breast"))

    assert api_ids(nav_api.get(API, {"program": "breast"})) == [breast.pk]
    assert api_ids(nav_api.get(API, {"program": "colorectal"})) == [colorectal.pk]


def test_it_filters_by_open_status(navigator, nav_api):
    quiet_case(navigator, status=CaseStatus.ASSIGNED)
    scheduled = quiet_case(navigator, status=CaseStatus.SCHEDULED)

    assert api_ids(nav_api.get(API, {"status": "scheduled"})) == [scheduled.pk]


def test_it_filters_by_the_patients_language_any_iso_code(navigator, nav_api):
    spanish = quiet_case(navigator, patient__preferred_language="es")
    quiet_case(navigator, patient__preferred_language="en")
    japanese = quiet_case(navigator, patient__preferred_language="ja")

    assert api_ids(nav_api.get(API, {"language": "es"})) == [spanish.pk]
    assert api_ids(nav_api.get(API, {"language": "JA"})) == [japanese.pk]


def test_it_filters_by_clinic(navigator, nav_api, clinic):
    north = quiet_case(navigator, patient__clinic=clinic)
    quiet_case(navigator)

    assert api_ids(nav_api.get(API, {"clinic": "north"})) == [north.pk]


def test_it_filters_by_an_open_barrier_of_a_type(navigator, nav_api):
    # Given a case with an open transportation barrier, one whose is resolved, and
    # one with another barrier
    open_barrier = quiet_case(navigator)
    factories.CaseBarrierFactory(case=open_barrier, status=BarrierStatus.ACTION_TAKEN)
    resolved = quiet_case(navigator)
    factories.CaseBarrierFactory(case=resolved, status=BarrierStatus.RESOLVED)
    other = quiet_case(navigator)
    factories.CaseBarrierFactory(case=other, barrier_type=factories.barrier_type("language"))

    response = nav_api.get(API, {"barrier": "transportation"})

    assert api_ids(response) == [open_barrier.pk]
    assert response.json()["results"][0]["open_barrier_count"] == 1


@pytest.mark.parametrize("value", ["1", "true", "on"])
def test_it_shows_overdue_follow_ups_only_when_asked(navigator, nav_api, value):
    overdue = quiet_case(navigator, next_follow_up=TODAY - dt.timedelta(days=1))
    quiet_case(navigator, next_follow_up=TODAY)
    quiet_case(navigator, next_follow_up=None)

    assert api_ids(nav_api.get(API, {"overdue": value})) == [overdue.pk]
    assert len(api_ids(nav_api.get(API, {"overdue": "0"}))) == 3


def test_filters_combine(navigator, nav_api):
    wanted = quiet_case(
        navigator, patient__preferred_language="es", program=factories.program("breast")
    )
    quiet_case(navigator, patient__preferred_language="es")
    quiet_case(navigator, program=factories.program("breast"))

    assert api_ids(nav_api.get(API, {"language": "es", "program": "breast"})) == [wanted.pk]


# --- Search -----------------------------------------------------------------------------


@pytest.fixture
def patients(navigator):
    maria = quiet_case(
        navigator,
        patient__given_name="Maria",
        patient__family_name="Lopez",
        patient__mrn="CHE100123",
        patient__phone="+16175550101",
        patient__birth_date=dt.date(1961, 4, 9),
    )
    marisol = quiet_case(
        navigator,
        patient__given_name="Marisol",
        patient__family_name="Lopez-Garcia",
        patient__phone="+16175550999",
        patient__birth_date=dt.date(1961, 4, 10),
    )
    ana = quiet_case(navigator, patient__given_name="Ana", patient__family_name="Silva")
    return {"maria": maria, "marisol": marisol, "ana": ana}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Maria Lopez", ["maria"]),
        ("maria lopez", ["maria"]),
        ("Lopez, Maria", ["maria"]),
        ("LOPEZ", ["maria", "marisol"]),
        ("maris", ["marisol"]),
        ("che100123", ["maria"]),
        ("(617) 555-0101", ["maria"]),
        ("6175550101", ["maria"]),
        ("+16175550101", ["maria"]),
        ("617.555.0101", ["maria"]),
        ("1 617 555 0101", ["maria"]),
        ("1961-04-09", ["maria"]),
        ("04/09/1961", ["maria"]),
        ("4/9/1961", ["maria"]),
        ("Nobody", []),
        ("  ", ["maria", "marisol", "ana"]),
    ],
)
def test_it_finds_a_patient_by_name_mrn_phone_or_date_of_birth(nav_api, patients, q, expected):
    found = api_ids(nav_api.post(SEARCH_API, {"q": q, "sort": "name"}, format="json"))

    assert sorted(found) == sorted(patients[name].pk for name in expected)


def test_the_page_search_finds_the_patient_too(client, navigator, patients):
    client.force_login(navigator.user)

    response = client.post(WORKLIST, {"q": "(617) 555-0101"})

    assert response.status_code == 200
    assert [c.pk for c in response.context["cases"]] == [patients["maria"].pk]


def test_a_search_in_the_pages_address_is_refused_pointing_to_the_form(client, navigator, patients):
    # A name, MRN, phone or birth date in a URL would be kept in access logs
    client.force_login(navigator.user)

    response = client.get(WORKLIST, {"q": "Lopez"})

    assert response.status_code == 400
    assert response.context["form"].errors["q"] == [
        "Search with the form: a search in the address would be kept in logs."
    ]
    assert list(response.context["cases"]) == []


def test_a_search_in_the_apis_address_is_refused_pointing_to_the_search_endpoint(nav_api, patients):
    response = nav_api.get(API, {"q": "Lopez"})

    assert response.status_code == 400
    (message,) = response.json()["q"]
    assert "POST /api/worklist/search/" in message
    assert "Lopez" not in message


def test_the_api_search_takes_the_filters_in_its_body_too(nav_api, patients):
    body = {"q": "lopez", "overdue": False, "status": "assigned"}

    found = api_ids(nav_api.post(SEARCH_API, body))

    assert sorted(found) == sorted([patients["maria"].pk, patients["marisol"].pk])


def test_the_api_search_is_not_a_get(nav_api, patients):
    assert nav_api.get(SEARCH_API, {"q": "Lopez"}).status_code == 405


def test_the_api_search_needs_its_text(nav_api):
    response = nav_api.post(SEARCH_API, {"status": "assigned"}, format="json")

    assert response.status_code == 400
    assert "q" in response.json()


# --- Sorting ----------------------------------------------------------------------------


@pytest.fixture
def three(navigator):
    """Three cases that every sort order puts in a different order."""
    adams = factories.CaseFactory(
        navigator=navigator,
        patient__family_name="Adams",
        opened_at=NOW - dt.timedelta(days=30),
        next_follow_up=TODAY + dt.timedelta(days=10),
    )
    factories.ContactAttemptFactory(case=adams, attempted_at=NOW - dt.timedelta(days=2))
    factories.AppointmentFactory(case=adams, scheduled_at=NOW + dt.timedelta(days=5))
    baker = factories.CaseFactory(
        navigator=navigator,
        patient__family_name="baker",  # lower case: the name sort ignores case
        opened_at=NOW - dt.timedelta(days=10),
        next_follow_up=TODAY + dt.timedelta(days=3),
    )
    factories.ContactAttemptFactory(case=baker, attempted_at=NOW - dt.timedelta(days=9))
    clark = factories.CaseFactory(
        navigator=navigator,
        patient__family_name="Clark",
        opened_at=NOW - dt.timedelta(days=20),
        next_follow_up=None,
    )
    factories.AppointmentFactory(case=clark, scheduled_at=NOW + dt.timedelta(days=2))
    return {"adams": adams, "baker": baker, "clark": clark}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # Adams and Clark have an appointment within a week, Clark's sooner; Baker nothing.
        ("", ["clark", "adams", "baker"]),
        ("priority", ["clark", "adams", "baker"]),
        ("name", ["adams", "baker", "clark"]),
        ("-name", ["clark", "baker", "adams"]),
        ("opened", ["adams", "clark", "baker"]),
        ("-opened", ["baker", "clark", "adams"]),
        # No follow-up date: last, either way.
        ("follow_up", ["baker", "adams", "clark"]),
        ("-follow_up", ["adams", "baker", "clark"]),
        # Never contacted counts as longest ago.
        ("last_attempt", ["clark", "baker", "adams"]),
        ("-last_attempt", ["adams", "baker", "clark"]),
        # No appointment: last, either way.
        ("appointment", ["clark", "adams", "baker"]),
        ("-appointment", ["adams", "clark", "baker"]),
    ],
)
def test_it_sorts_the_worklist(navigator, nav_api, three, sort, expected):
    assert api_ids(nav_api.get(API, {"sort": sort})) == [three[name].pk for name in expected]


def test_the_page_marks_the_sorted_column_for_assistive_technology(client, navigator, three):
    client.force_login(navigator.user)

    page = client.get(WORKLIST, {"sort": "-name"}).content.decode()

    assert '<th scope="col" aria-sort="descending">Patient</th>' in page
    assert "Open cases: patient name, z to a" in page


# --- Bad input --------------------------------------------------------------------------

BAD_INPUT = [
    ("program", "dental", "“dental” is not a screening program."),
    ("status", "declined", "“declined” is not an open case status"),
    ("language", "xx9", "“xx9” is not an ISO 639 language code"),
    ("clinic", "nowhere", "“nowhere” is not a clinic."),
    ("barrier", "dragons", "“dragons” is not a barrier type."),
    ("overdue", "maybe", "“maybe” is neither yes nor no: use 1 or 0."),
    ("sort", "shoe_size", "“shoe_size” is not a sort order; use one of: priority, follow_up"),
    ("q", "1961-02-30", "“1961-02-30” is not a date. Write a date of birth as YYYY-MM-DD"),
    ("q", "13/45/1961", "“13/45/1961” is not a date."),
    ("q", "x" * 101, "at most 100 characters"),
    ("navigator", "abc", "“navigator” is a navigator's number."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_the_page_refuses_a_bad_filter_with_the_form_saying_why(
    client, navigator, field, value, message
):
    quiet_case(navigator)
    client.force_login(navigator.user)

    # (a search is posted, as the page's form does; filters may be in the address)
    send = client.post if field == "q" else client.get
    response = send(WORKLIST, {field: value})

    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert response.context["form"].errors[field]
    assert list(response.context["cases"]) == []


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_the_api_refuses_a_bad_filter_naming_the_field(nav_api, field, value, message):
    if field == "q":
        response = nav_api.post(SEARCH_API, {field: value}, format="json")
    else:
        response = nav_api.get(API, {field: value})

    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


@pytest.mark.parametrize(
    ("value", "status"),
    [("99999999999999999999", 404), ("0", 400), ("-3", 400), ("1e3", 400), ("\x00", 400)],
)
def test_a_navigator_number_out_of_any_range_is_refused_not_a_crash(client, manager, value, status):
    client.force_login(manager)

    assert client.get(WORKLIST, {"navigator": value}).status_code == status
    assert api_as(manager).get(API, {"navigator": value}).status_code == status


def test_a_search_with_a_null_character_is_refused(nav_api):
    response = nav_api.post(SEARCH_API, {"q": "Lopez\x00"}, format="json")

    assert response.status_code == 400
    assert "q" in response.json()


def test_an_htmx_request_gets_the_list_with_its_errors_as_a_200(client, navigator):
    # htmx swaps only 2xx answers: the form's errors must still reach the screen.
    client.force_login(navigator.user)

    response = client.get(WORKLIST, {"sort": "shoe_size"}, **HTMX)

    assert response.status_code == 200
    assert "is not a sort order" in html.unescape(response.content.decode())


# --- The page ---------------------------------------------------------------------------


def test_the_page_shows_why_each_case_is_there_and_what_is_next(client, navigator):
    # Given a case whose patient called back, needing an interpreter, with a barrier
    case = quiet_case(
        navigator,
        needs_interpreter=True,
        next_channel="sms",
        next_follow_up=TODAY + dt.timedelta(days=6),
        patient__given_name="Rosa",
        patient__family_name="Ortiz",
        patient__preferred_language="pt",
    )
    factories.ContactAttemptFactory(
        case=case, direction="inbound", channel="sms", outcome="reached"
    )
    factories.CaseBarrierFactory(case=case)
    client.force_login(navigator.user)

    # When the navigator opens the worklist
    response = client.get(WORKLIST)

    # Then the row says why, in which language, by which channel next, and the barriers
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ortiz, Rosa" in page
    assert "Patient called back (inbound text on 24 Nov)" in page
    assert "Portuguese" in page
    assert "badge--interpreter" in page
    assert "by text" in page
    row = response.context["cases"][0]
    assert row.open_barrier_count == 1
    assert row.next_channel_label == "text"


def test_the_page_is_labelled_for_assistive_technology(client, navigator):
    quiet_case(navigator)
    client.force_login(navigator.user)

    page = client.get(WORKLIST).content.decode()

    # Every control has its label, the table its caption and header scopes
    for name in ["q", "program", "status", "language", "clinic", "barrier", "overdue", "sort"]:
        assert f'for="worklist_{name}"' in page, name
        assert f'id="worklist_{name}"' in page, name
    assert '<caption id="worklist-caption">Open cases: what to do first</caption>' in page
    assert page.count('<th scope="col"') == 7
    assert '<th scope="row"' in page
    assert 'role="search"' in page
    # "/" focuses the search box (static script, no inline JavaScript)
    assert 'aria-keyshortcuts="/"' in page
    assert "/static/js/worklist.js" in page
    assert "<script>" not in page


def test_the_filter_form_updates_the_list_in_place_and_works_without_javascript(client, navigator):
    quiet_case(navigator, patient__family_name="Lopez")
    client.force_login(navigator.user)

    # The full page: a plain form that htmx also drives. It posts, with its CSRF
    # token, so that what is typed in the search box never goes into a URL.
    page = client.get(WORKLIST).content.decode()
    assert 'method="post" action="/worklist/"' in page
    assert 'hx-post="/worklist/"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'hx-push-url="true"' in page
    assert 'hx-target="#worklist"' in page

    # An htmx request gets only the list, which caches keep apart from the page
    response = client.post(WORKLIST, {"q": "lopez"}, **HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith("<div") or 'id="worklist"' in fragment
    assert "<html" not in fragment
    assert 'id="worklist"' in fragment
    assert "Lopez," in fragment
    assert "HX-Request" in response["Vary"]


# --- Who sees whose worklist ------------------------------------------------------------


@pytest.fixture
def ana(db):
    return factories.NavigatorFactory(user__first_name="Ana", user__last_name="Ruiz")


def test_a_navigator_sees_their_open_cases_and_those_they_cover_today_marked(
    client, navigator, ana
):
    # Given my case, a colleague's I cover this week, and cases I may not see
    mine = quiet_case(navigator)
    covered = quiet_case(ana)
    factories.CoverageFactory(absent=ana, covering=navigator)
    quiet_case(navigator, status=CaseStatus.DECLINED)
    stranger = factories.NavigatorFactory()
    quiet_case(stranger)
    factories.CoverageFactory(
        absent=stranger,
        covering=navigator,
        starts_on=TODAY - dt.timedelta(days=9),
        ends_on=TODAY - dt.timedelta(days=1),
    )
    client.force_login(navigator.user)

    # When I open my worklist
    response = client.get(WORKLIST)

    # Then my case and the covered one are on it, the covered one marked
    page = response.content.decode()
    assert sorted(c.pk for c in response.context["cases"]) == sorted([mine.pk, covered.pk])
    assert page.count("Covering for Ana Ruiz</span>") == 1
    assert [c.covering_for for c in response.context["cases"] if c.pk == covered.pk] == [ana]
    assert "You are covering for" in page
    # And the API says the same
    rows = api_as(navigator.user).get(API).json()["results"]
    assert {r["id"]: (r["covering_for"] or {}).get("name") for r in rows} == {
        mine.pk: None,
        covered.pk: "Ana Ruiz",
    }


@pytest.mark.parametrize(
    ("starts", "ends", "cancelled", "covered"),
    [
        (0, 0, False, True),
        (-3, 0, False, True),
        (-9, -1, False, False),  # ended yesterday
        (1, 5, False, False),  # starts tomorrow
        (-1, 5, True, False),  # cancelled
    ],
    ids=["today-only", "ends-today", "ended", "not-yet", "cancelled"],
)
def test_covered_cases_are_on_the_list_only_while_the_cover_lasts(
    navigator, ana, starts, ends, cancelled, covered
):
    case = quiet_case(ana)
    factories.CoverageFactory(
        absent=ana,
        covering=navigator,
        starts_on=TODAY + dt.timedelta(days=starts),
        ends_on=TODAY + dt.timedelta(days=ends),
        cancelled_at=NOW if cancelled else None,
    )

    assert (case.pk in [r.pk for r in rows_for(navigator.user)]) is covered


def test_a_navigator_may_open_a_covered_colleagues_list_but_no_one_elses(client, navigator, ana):
    covered = quiet_case(ana)
    quiet_case(navigator)
    factories.CoverageFactory(absent=ana, covering=navigator)
    stranger = factories.NavigatorFactory()
    client.force_login(navigator.user)
    nav_api = api_as(navigator.user)

    # A colleague they cover: that colleague's cases only, marked
    response = client.get(WORKLIST, {"navigator": ana.pk})
    assert response.status_code == 200
    assert [c.pk for c in response.context["cases"]] == [covered.pk]
    assert "Ana Ruiz’s worklist" in response.content.decode()
    assert "Covering for Ana Ruiz" in response.content.decode()
    assert api_ids(nav_api.get(API, {"navigator": ana.pk})) == [covered.pk]

    # Anyone else's, or nobody's: not found, whether it exists or not
    for navigator_id in [stranger.pk, 999_999]:
        assert client.get(WORKLIST, {"navigator": navigator_id}).status_code == 404
        assert nav_api.get(API, {"navigator": navigator_id}).status_code == 404


def test_a_manager_opens_any_navigators_worklist_as_that_navigator_sees_it(
    client, manager, navigator, ana
):
    # Given Ana's case, and a colleague's she covers
    theirs = quiet_case(ana, next_follow_up=TODAY - dt.timedelta(days=1))
    covered = quiet_case(navigator)
    factories.CoverageFactory(absent=navigator, covering=ana)
    client.force_login(manager)

    # When the manager opens Ana's worklist from the team view
    response = client.get(WORKLIST, {"navigator": ana.pk})

    # Then they see her list, with what she covers marked as she would see it
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ana Ruiz’s worklist" in page
    assert [c.pk for c in response.context["cases"]] == [theirs.pk, covered.pk]
    assert page.count('class="badge badge--covering"') == 1
    assert f"Covering for {navigator}</span>" in page
    assert "Ana Ruiz is covering for" in page
    assert f'name="navigator" value="{ana.pk}"' in page  # filters keep to her list
    assert api_ids(api_as(manager).get(API, {"navigator": ana.pk})) == [theirs.pk, covered.pk]


def test_a_manager_must_choose_whose_worklist(client, manager):
    client.force_login(manager)

    assert client.get(WORKLIST).status_code == 403
    assert api_as(manager).get(API).status_code == 403
    assert client.get(WORKLIST, {"navigator": 999_999}).status_code == 404
    assert api_as(manager).get(API, {"navigator": 999_999}).status_code == 404


def test_clinic_staff_have_no_worklist(client, clinic_staff, navigator):
    client.force_login(clinic_staff)

    assert client.get(WORKLIST, {"navigator": navigator.pk}).status_code == 403
    assert api_as(clinic_staff).get(API, {"navigator": navigator.pk}).status_code == 403


# --- A fixed number of queries ----------------------------------------------------------


def caseload(navigator, count: int) -> None:
    """`count` cases across every reason, each with the facts a row shows, and a
    covered colleague's case: everything that could cost a query per row."""
    colleague = factories.NavigatorFactory()
    factories.CoverageFactory(absent=colleague, covering=navigator)
    factories.CaseFactory(navigator=colleague, patient__phone="+16175550100")
    kinds = cycle(["abnormal", "prep", "callback", "due", "new", "quiet"])
    for _, kind in zip(range(count), kinds, strict=False):
        due = TODAY - dt.timedelta(days=1) if kind == "due" else TODAY + dt.timedelta(days=3)
        case = factories.CaseFactory(
            navigator=navigator, patient__phone="+16175550100", next_follow_up=due
        )
        if kind != "new":
            factories.ContactAttemptFactory(case=case, attempted_at=NOW - dt.timedelta(days=3))
        if kind == "abnormal":
            factories.result_recorded(case)
        if kind == "prep":
            factories.AppointmentFactory(case=case)
        if kind == "callback":
            factories.ContactAttemptFactory(case=case, direction="inbound", outcome="reached")
        factories.CaseBarrierFactory(case=case)
        FollowUpReminder.objects.create(case=case, navigator=navigator, due_on=TODAY)


@pytest.mark.parametrize("count", [5, 60])
def test_the_page_takes_the_same_queries_whatever_the_caseload(
    client, navigator, count, django_assert_num_queries
):
    caseload(navigator, count)
    client.force_login(navigator.user)

    # 1 the session, 2 the user, 3 whose cases (the navigator and the colleague
    # they cover today), 4 the count of cases, 5 the page of cases with every rule,
    # reason and row fact (tried today, the number to call) as annotations, 6 the
    # calls due today and done (one aggregate), 7 the reminders, 8 the tasks due,
    # 9-11 the program, clinic and barrier menus; then the audit trail's row and the
    # patients on the page (tests/support/audit.py).
    with django_assert_num_queries(11 + AUDIT_QUERIES):
        response = client.get(WORKLIST)

    assert response.status_code == 200
    assert len(response.context["cases"]) == min(count + 1, 50)
    assert response.content.decode().count('class="badge badge--covering"') == 1


@pytest.mark.parametrize("count", [5, 60])
def test_the_api_takes_the_same_queries_whatever_the_caseload(
    navigator, count, django_assert_num_queries
):
    caseload(navigator, count)
    client = api_as(navigator.user)

    # 1 whose cases (the navigator and the colleague they cover), 2 the count of
    # cases, 3 the page of cases with every rule, reason and row fact; then the audit
    # trail's row and the patients listed.
    with django_assert_num_queries(3 + AUDIT_QUERIES):
        response = client.get(API, {"page_size": 100})

    rows = response.json()["results"]
    assert len(rows) == count + 1
    assert {row["reasons"][0]["code"] for row in rows if row["reasons"]} == {
        "abnormal_result",
        "prep_call",
        "called_back",
        "follow_up_due",
        "never_contacted",
    }


@pytest.mark.parametrize("count", [5, 60])
def test_a_manager_looking_on_takes_the_same_queries_too(
    client, manager, navigator, count, django_assert_num_queries
):
    caseload(navigator, count)
    client.force_login(manager)

    # 1 the session, 2 the user, 3 the program asked for, 4 the navigator whose
    # list it is, 5 whose cases (they and whom they cover), 6 the count, 7 the page
    # of cases, 8 the calls due today and done, 9 the reminders, 10 the tasks due,
    # 11-13 the program, clinic and barrier menus; then the audit trail's row and the
    # patients on the page.
    with django_assert_num_queries(13 + AUDIT_QUERIES):
        response = client.get(WORKLIST, {"navigator": navigator.pk, "program": "colorectal"})

    assert response.status_code == 200
