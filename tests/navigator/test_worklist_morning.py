"""The worklist as a morning plan (issue 12, item 9): a case tried today without
reaching the patient waits below the cases not yet tried, until it is due again;
each row has the number to call, when to call and the language; the search
narrows the list as the navigator types without putting what was typed in a URL;
a count says how many calls are due today and how many are done.

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client

from navigator.models import CaseStatus, NavigationCase
from navigator.selectors.worklist import worklist_calls_today, worklist_for, worklist_rows
from navigator.worklist import rules
from navigator.worklist.filters import Filters
from outreach.services.attempts import attempt_log
from patients.models import PatientPhone
from tests import factories
from tests.support.api import api_as

NOW = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)  # 2 pm in Boston
TODAY = dt.date(2026, 11, 24)
WORKLIST = "/worklist/"
API = "/api/worklist/"
HTMX = {"HTTP_HX_REQUEST": "true"}

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def boston(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    # Late November is standard time in Boston: UTC-5.
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC) + dt.timedelta(
        hours=5
    )


def quiet_case(navigator, **kwargs) -> NavigationCase:
    """An open case with nothing to do today: called last week, follow-up next week."""
    kwargs.setdefault("next_follow_up", TODAY + dt.timedelta(days=7))
    case = factories.CaseFactory(navigator=navigator, **kwargs)
    factories.ContactAttemptFactory(case=case, attempted_at=NOW - dt.timedelta(days=7))
    return case


def due_case(navigator, **kwargs) -> NavigationCase:
    """An open case whose follow-up came due yesterday (called last week)."""
    kwargs.setdefault("next_follow_up", TODAY - dt.timedelta(days=1))
    return quiet_case(navigator, **kwargs)


def ranked(user) -> list[NavigationCase]:
    moment = rules.Moment.current()
    return worklist_rows(
        worklist_for(user=user, filters=Filters(), moment=moment), user=user, moment=moment
    )


def order(user) -> list[int]:
    return [case.pk for case in ranked(user)]


def row(user, case) -> NavigationCase:
    return next(r for r in ranked(user) if r.pk == case.pk)


def call_without_reaching(case, *, at: dt.datetime, outcome: str = "no_answer", actor=None):
    """An unsuccessful call logged through the service, which moves the follow-up on."""
    return attempt_log(
        case=NavigationCase.objects.get(pk=case.pk),
        channel="phone",
        outcome=outcome,
        actor=actor or case.navigator.user,
        attempted_at=at,
    )


# --- Tried today ------------------------------------------------------------------------


def test_a_case_called_without_reaching_the_patient_today_waits_below_the_untried(navigator):
    # Given two cases due since yesterday and one with nothing to do today
    first = due_case(navigator)
    second = due_case(navigator)
    quiet = quiet_case(navigator)
    assert order(navigator.user) == [first.pk, second.pk, quiet.pk]

    # When the navigator calls the first at 10:40 and nobody answers
    call_without_reaching(first, at=boston(TODAY, 10, 40))

    # Then it says so, keeps its reasons, and waits below every case not yet tried,
    # even one with nothing due today
    assert order(navigator.user) == [second.pk, quiet.pk, first.pk]
    tried = row(navigator.user, first)
    assert tried.tried_today_label == "Tried today at 10:40 AM"
    assert row(navigator.user, second).tried_today_label == ""


@pytest.mark.parametrize(
    "outcome", ["no_answer", "left_voicemail", "wrong_number", "disconnected", "call_blocked"]
)
def test_every_unsuccessful_outcome_counts_as_tried(navigator, outcome):
    case = due_case(navigator)
    other = due_case(navigator)

    call_without_reaching(case, at=boston(TODAY, 9, 5), outcome=outcome)

    assert order(navigator.user) == [other.pk, case.pk]


def test_an_abnormal_result_stays_first_among_the_untried_and_among_the_tried(navigator):
    # Given an abnormal FIT, a due follow-up, and a second abnormal FIT
    abnormal = due_case(navigator)
    factories.result_recorded(abnormal)
    due = due_case(navigator)
    tried_abnormal = due_case(navigator)
    factories.result_recorded(tried_abnormal)
    tried_due = due_case(navigator)

    # When the second abnormal and a due follow-up were tried this morning
    call_without_reaching(tried_abnormal, at=boston(TODAY, 9))
    call_without_reaching(tried_due, at=boston(TODAY, 8))

    # Then the untried abnormal leads, the tried ones follow in the same ranking
    assert order(navigator.user) == [abnormal.pk, due.pk, tried_abnormal.pk, tried_due.pk]
    assert row(navigator.user, tried_abnormal).reasons[0].code == "abnormal_result"


def test_a_tried_case_comes_back_up_the_next_day(navigator, frozen_clock):
    case = due_case(navigator)
    other = due_case(navigator, next_follow_up=TODAY)
    call_without_reaching(case, at=boston(TODAY, 10, 40), actor=navigator.user)
    NavigationCase.objects.filter(pk=case.pk).update(next_follow_up=TODAY + dt.timedelta(days=1))
    assert order(navigator.user) == [other.pk, case.pk]

    # When the next day comes (its follow-up day)
    frozen_clock.move_to(boston(TODAY + dt.timedelta(days=1), 8))

    # Then it is no longer "tried today" and ranks by its reasons again
    assert order(navigator.user)[0] == other.pk  # due since the day before
    assert row(navigator.user, case).tried_today_label == ""
    assert row(navigator.user, case).reasons[0].code == "follow_up_due"


def test_a_tried_case_whose_follow_up_is_set_for_today_still_waits_today(navigator):
    case = due_case(navigator)
    other = due_case(navigator)
    attempt_log(
        case=NavigationCase.objects.get(pk=case.pk),
        channel="phone",
        outcome="no_answer",
        actor=navigator.user,
        attempted_at=boston(TODAY, 9),
        next_follow_up=TODAY,
    )

    assert order(navigator.user) == [other.pk, case.pk]


def test_a_tried_case_left_overdue_is_not_marked_tried(navigator):
    # An attempt logged without moving a follow-up that was due before today:
    # the case is still due, so it keeps its place.
    case = due_case(navigator)
    other = due_case(navigator)
    factories.ContactAttemptFactory(case=case, attempted_at=boston(TODAY, 9))

    assert row(navigator.user, case).tried_today_label == ""
    assert order(navigator.user) == [case.pk, other.pk]


def test_reaching_the_patient_today_is_not_tried(navigator):
    case = due_case(navigator)
    call_without_reaching(case, at=boston(TODAY, 9))
    attempt_log(
        case=NavigationCase.objects.get(pk=case.pk),
        channel="phone",
        outcome="reached",
        actor=navigator.user,
        attempted_at=boston(TODAY, 11),
    )

    assert row(navigator.user, case).tried_today_label == ""


def test_a_callback_after_the_attempt_brings_the_case_back_up_at_once(navigator):
    case = due_case(navigator)
    other = due_case(navigator)
    call_without_reaching(case, at=boston(TODAY, 9))
    assert order(navigator.user) == [other.pk, case.pk]

    # When the patient calls back at noon
    factories.ContactAttemptFactory(
        case=case, direction="inbound", outcome="reached", attempted_at=boston(TODAY, 12)
    )

    # Then the callback leads the list
    assert order(navigator.user) == [case.pk, other.pk]
    assert row(navigator.user, case).reasons[0].code == "called_back"


def test_a_colleagues_attempt_today_counts_too(navigator):
    case = due_case(navigator)
    other = due_case(navigator)
    colleague = factories.NavigatorFactory()

    call_without_reaching(case, at=boston(TODAY, 9), actor=colleague.user)

    assert order(navigator.user) == [other.pk, case.pk]


@pytest.mark.parametrize(
    ("at", "tried"),
    [
        (boston(TODAY, 0, 5), True),  # 5 past midnight in Boston, 05:05 UTC
        (boston(TODAY - dt.timedelta(days=1), 23, 55), False),  # yesterday in Boston, today UTC
    ],
)
def test_today_is_the_sites_day_not_utcs(navigator, at, tried):
    case = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY + dt.timedelta(days=2))
    factories.ContactAttemptFactory(case=case, attempted_at=at)

    assert bool(row(navigator.user, case).tried_today_label) is tried


def test_the_tried_case_moves_to_the_last_page_not_just_down_its_own(navigator):
    # Ranked in the query, so pagination agrees: with pages of two, the tried case
    # that would have led page one is on page two.
    tried = due_case(navigator)
    others = [due_case(navigator) for _ in range(2)]
    call_without_reaching(tried, at=boston(TODAY, 9))

    first = api_as(navigator.user).get(API, {"page_size": 2}).json()
    second = api_as(navigator.user).get(API, {"page_size": 2, "page": 2}).json()

    assert [r["id"] for r in first["results"]] == [c.pk for c in others]
    assert [r["id"] for r in second["results"]] == [tried.pk]
    assert second["results"][0]["tried_today_at"] is not None
    assert first["results"][0]["tried_today_at"] is None


def test_the_page_marks_a_tried_row(client, navigator):
    case = due_case(navigator)
    call_without_reaching(case, at=boston(TODAY, 10, 40))
    client.force_login(navigator.user)

    page = client.get(WORKLIST).content.decode()

    assert 'data-testid="tried-today"' in page
    assert "Tried today at 10:40 AM" in page
    assert "worklist-row--tried" in page


# --- What a row shows to make the call ----------------------------------------------------


def test_each_row_links_the_best_number_not_a_bad_one(client, navigator):
    # Given a patient whose first number is marked bad and whose second is good
    case = quiet_case(
        navigator,
        patient__phone="+16175550111",
        patient__best_contact_times="Weekday evenings after 6",
        patient__preferred_language="es",
        needs_interpreter=True,
    )
    PatientPhone.objects.filter(patient=case.patient).update(is_bad=True)
    PatientPhone.objects.create(patient=case.patient, number="+16175550222", kind="home", rank=1)
    client.force_login(navigator.user)

    page = client.get(WORKLIST).content.decode()

    # Then the row offers the good number to tap, when to call and the language
    assert '<a class="worklist-tel" href="tel:+16175550222"' in page
    assert "(617) 555-0222" in page
    assert "+16175550111" not in page and "555-0111" not in page
    assert "Best: Weekday evenings after 6" in page
    assert "Spanish" in page
    assert "badge--interpreter" in page


def test_a_patient_with_only_bad_numbers_has_none_to_call(client, navigator):
    case = quiet_case(navigator, patient__phone="+16175550111")
    PatientPhone.objects.filter(patient=case.patient).update(is_bad=True)
    client.force_login(navigator.user)

    page = client.get(WORKLIST).content.decode()

    assert "No good number" in page
    assert "tel:" not in page
    assert "Best time not recorded" in page


def test_the_best_number_follows_the_numbers_rank(navigator):
    case = quiet_case(navigator)
    PatientPhone.objects.create(patient=case.patient, number="+16175550333", rank=2)
    PatientPhone.objects.create(patient=case.patient, number="+16175550444", rank=1)

    assert row(navigator.user, case).phone_to_call.e164 == "+16175550444"


def test_the_api_row_carries_the_number_the_time_and_the_language(navigator):
    case = quiet_case(
        navigator,
        patient__phone="+16175550222",
        patient__best_contact_times="Mornings",
        patient__preferred_language="pt",
    )
    due = due_case(navigator)
    call_without_reaching(due, at=boston(TODAY, 10, 40))

    rows = {r["id"]: r for r in api_as(navigator.user).get(API).json()["results"]}

    assert rows[case.pk]["best_phone"] == "+16175550222"
    assert rows[case.pk]["best_contact_times"] == "Mornings"
    assert rows[case.pk]["patient"]["language_name"] == "Portuguese"
    assert rows[case.pk]["tried_today_at"] is None
    assert rows[due.pk]["tried_today_at"] == "2026-11-24T10:40:00-05:00"


def test_the_api_schema_describes_the_new_row_fields(client):
    client.force_login(factories.ManagerFactory())  # the schema needs sign-in outside DEBUG
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    row_schema = schema["components"]["schemas"]["WorklistRow"]["properties"]
    assert row_schema["tried_today_at"]["nullable"] is True
    assert row_schema["tried_today_at"]["format"] == "date-time"
    assert row_schema["best_phone"]["nullable"] is True
    assert row_schema["best_contact_times"]["type"] == "string"


# --- Search as you type, with nothing that identifies a patient in a URL --------------------


@pytest.fixture
def lopez_and_silva(navigator):
    lopez = quiet_case(
        navigator,
        patient__given_name="Maria",
        patient__family_name="Lopez",
        patient__mrn="CHE100123",
        patient__phone="+16175550101",
    )
    silva = quiet_case(navigator, patient__given_name="Ana", patient__family_name="Silva")
    return lopez, silva


def test_the_search_box_narrows_the_list_as_the_navigator_types(client, navigator):
    client.force_login(navigator.user)

    page = client.get(WORKLIST).content.decode()

    box = re.search(r'<input type="search" name="q"[^>]*>', page).group(0)
    assert 'hx-trigger="input changed delay:300ms, search"' in box
    assert 'hx-post="/worklist/"' in box
    assert 'hx-target="#worklist-results"' in box
    assert 'hx-include="closest form"' in box
    # And a button to search without JavaScript
    assert '<button type="submit" class="button worklist-filters__go">Search</button>' in page


@pytest.mark.parametrize("q", ["lop", "Maria Lopez", "che100123", "617-555-0101"])
def test_a_posted_search_narrows_the_rows_and_keeps_the_search_out_of_the_url(
    client, navigator, lopez_and_silva, q
):
    lopez, _ = lopez_and_silva
    client.force_login(navigator.user)

    # When the navigator types, htmx posts the form with a non-PHI filter
    response = client.post(WORKLIST, {"q": q, "status": "assigned", "sort": "name"}, **HTMX)

    # Then only the match is listed
    assert response.status_code == 200
    assert [c.pk for c in response.context["cases"]] == [lopez.pk]
    # And the address the browser shows keeps the filters but not the search
    url = response.get("HX-Push-Url") or response.get("HX-Replace-Url")
    assert url == "/worklist/?status=assigned&sort=name"
    # And nothing in the answer would send a name, MRN or phone in a URL
    fragment = response.content.decode()
    for attribute in re.findall(r'(?:href|hx-get|hx-post|action)="([^"]*)"', fragment):
        if attribute.startswith("tel:"):
            continue
        for secret in ["Lopez", "lop", "CHE100123", "0101", "Maria"]:
            assert secret.lower() not in attribute.lower(), attribute


def test_typing_replaces_the_address_rather_than_piling_up_history(
    client, navigator, lopez_and_silva
):
    client.force_login(navigator.user)

    response = client.post(
        WORKLIST,
        {"q": "lop", "status": "assigned"},
        HTTP_HX_CURRENT_URL="http://testserver/worklist/?status=assigned",
        **HTMX,
    )

    assert response["HX-Replace-Url"] == "/worklist/?status=assigned"
    assert "HX-Push-Url" not in response


def test_the_search_works_without_javascript(client, navigator, lopez_and_silva):
    lopez, _ = lopez_and_silva
    client.force_login(navigator.user)

    response = client.post(WORKLIST, {"q": "Lopez"})

    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert [c.pk for c in response.context["cases"]] == [lopez.pk]
    assert 'value="Lopez"' in response.content.decode()


def test_a_search_post_needs_the_csrf_token(navigator, lopez_and_silva):
    client = Client(enforce_csrf_checks=True)
    client.force_login(navigator.user)

    assert client.post(WORKLIST, {"q": "Lopez"}).status_code == 403


def test_a_bad_search_typed_is_said_in_the_rows_the_box_does_not_lose(client, navigator):
    client.force_login(navigator.user)

    response = client.post(WORKLIST, {"q": "13/45/2020"}, **HTMX)

    results = html.unescape(response.content.decode().split('id="worklist-results"', 1)[1])
    assert response.status_code == 200
    assert "is not a date" in results


def test_the_next_page_of_a_search_is_a_button_of_the_form_not_a_link(client, navigator):
    for _ in range(51):
        quiet_case(navigator, patient__family_name="Lopez")
    client.force_login(navigator.user)

    response = client.post(WORKLIST, {"q": "Lopez"}, **HTMX)
    page_two = client.post(WORKLIST, {"q": "Lopez", "page": "2"}, **HTMX)

    fragment = response.content.decode()
    assert 'form="worklist-filter-form" name="page" value="2"' in fragment
    assert "?page=" not in fragment
    assert len(page_two.context["cases"]) == 1
    # A page of a search is not put in the address (it would be a page of another list)
    assert (page_two.get("HX-Push-Url") or page_two.get("HX-Replace-Url")) == "/worklist/"


def test_a_page_without_a_search_keeps_its_number_in_the_address(client, navigator):
    for _ in range(51):
        quiet_case(navigator)
    client.force_login(navigator.user)

    response = client.post(WORKLIST, {"page": "2", "sort": "name"}, **HTMX)

    assert response["HX-Push-Url"] == "/worklist/?sort=name&page=2"


def test_a_link_to_the_filtered_list_still_opens_it(client, navigator, lopez_and_silva):
    client.force_login(navigator.user)

    response = client.get(WORKLIST, {"status": "assigned"})

    assert response.status_code == 200
    assert len(response.context["cases"]) == 2


# --- The filters fold away --------------------------------------------------------------


def test_the_filters_are_folded_unless_one_is_in_use(client, navigator):
    quiet_case(navigator)
    client.force_login(navigator.user)

    folded = client.get(WORKLIST).content.decode()
    unfolded = client.get(WORKLIST, {"status": "assigned"}).content.decode()
    refused = client.get(WORKLIST, {"program": "nope"}).content.decode()

    assert '<details class="worklist-filters__more" data-testid="worklist-filters">' in folded
    assert '<details class="worklist-filters__more" open data-testid="worklist-filters">' in (
        unfolded
    )
    assert '<details class="worklist-filters__more" open' in refused


# --- Calls due today, and done -------------------------------------------------------------


def test_the_count_says_how_many_calls_are_due_today_and_done(client, navigator):
    user = navigator.user
    # Due: a follow-up due yesterday, one due today, one nobody has contacted yet
    due_case(navigator)
    due_today = factories.CaseFactory(navigator=navigator, next_follow_up=TODAY)
    factories.ContactAttemptFactory(case=due_today, attempted_at=NOW - dt.timedelta(days=3))
    factories.CaseFactory(navigator=navigator, next_follow_up=None)
    # Due and done: due yesterday, called by the navigator this morning (follow-up moved on)
    called = due_case(navigator)
    call_without_reaching(called, at=boston(TODAY, 9))
    # Due and done: never contacted before today, reached this morning
    first_call = factories.CaseFactory(navigator=navigator, next_follow_up=None)
    attempt_log(case=first_call, channel="phone", outcome="reached", actor=user,
                attempted_at=boston(TODAY, 10))  # fmt: skip
    # Not due: nothing until next week
    quiet_case(navigator)
    # Not due: a colleague called it this morning and moved its follow-up on
    colleague = factories.NavigatorFactory()
    by_colleague = due_case(navigator)
    call_without_reaching(by_colleague, at=boston(TODAY, 9), actor=colleague.user)
    # Not counted: a closed case, and another navigator's case
    due_case(navigator, status=CaseStatus.CLOSED)
    due_case(colleague)
    # Not done: an attempt of the navigator's yesterday evening
    yesterday = due_case(navigator)
    factories.ContactAttemptFactory(
        case=yesterday, attempted_at=boston(TODAY - dt.timedelta(days=1), 23, 30)
    )

    counts = worklist_calls_today(
        user=user,
        navigators=[navigator],
        caller=user,
        moment=rules.Moment.current(),
    )
    assert (counts.due, counts.done) == (6, 2)

    client.force_login(user)
    page = client.get(WORKLIST).content.decode()
    assert "Calls due today: <strong>6</strong> · done: <strong>2</strong>" in page
    assert 'id="calls-today-definition"' in page
    assert "logged today by you" in page


def test_filters_do_not_change_the_count(client, navigator):
    due_case(navigator)
    client.force_login(navigator.user)

    page = client.get(WORKLIST, {"status": "contacting"}).content.decode()

    assert "Calls due today: <strong>1</strong>" in page


def test_a_manager_looking_on_sees_the_navigators_count(client, manager, navigator):
    called = due_case(navigator)
    call_without_reaching(called, at=boston(TODAY, 9))
    client.force_login(manager)

    page = client.get(WORKLIST, {"navigator": navigator.pk}).content.decode()

    assert "Calls due today: <strong>1</strong> · done: <strong>1</strong>" in page
    assert f"logged today by {navigator.user.get_full_name()}" in page
