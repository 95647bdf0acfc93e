"""Outreach protocols as data: the next step for each outcome, the cadence, wrong
numbers, proposing a case as unreachable and a manager's decision, and the page
where managers edit a program's protocol."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from navigator.cases import StaleCaseError
from navigator.models import CaseEvent, CaseEventKind, CaseStatus
from outreach.models import (
    UNSUCCESSFUL_OUTCOMES,
    Channel,
    Direction,
    MessageTemplate,
    Outcome,
    OutreachProtocol,
    ProtocolStep,
)
from outreach.services.attempts import attempt_log
from outreach.services.protocol_next_step import Attempt, Cadence, Phone, Step, next_step
from outreach.services.unreachable import (
    case_unreachable_confirm,
    case_unreachable_dismiss,
    case_unreachable_propose,
)
from patients.models import PatientPhone, ScreeningProgram
from tests import factories
from tests.support.api import api_as

ZONE = ZoneInfo("America/New_York")
TODAY = dt.date(2026, 11, 23)  # a Monday
HTMX = {"HTTP_HX_REQUEST": "true"}

DEFAULT = Cadence(
    steps=(
        Step(1, 0, Channel.PHONE),
        Step(2, 2, Channel.PHONE),
        Step(3, 7, Channel.LETTER),
        Step(4, 14, Channel.SMS),
    ),
    unreachable_after_attempts=4,
    unreachable_after_days=14,
    reached_follow_up_days=7,
)
MOBILE, HOME = Phone(pk=1, kind="mobile"), Phone(pk=2, kind="home")


def on(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZONE)


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def call(day: dt.date, outcome: str = Outcome.NO_ANSWER, channel: str = Channel.PHONE, **kw):
    return Attempt(at=on(day), outcome=outcome, channel=channel, **kw)


# --- The pure rules -----------------------------------------------------------------------

# After an unanswered call on day 0 (21 Nov), the navigator calls again on day 2
# (today) on the mobile number: what comes next, for each outcome of that call.
# (on, channel, phone, words in the explanation, needs interpreter)
EVERY_OUTCOME = {
    Outcome.REACHED: (days(7), Channel.PHONE, 1, "reached: next phone on 30 Nov, in 7 days", False),
    Outcome.NO_ANSWER: (
        days(5),
        Channel.LETTER,
        None,
        "next: letter on 28 Nov, step 3 of 4",
        False,
    ),
    Outcome.LEFT_VOICEMAIL: (days(5), Channel.LETTER, None, "step 3 of 4", False),
    Outcome.CALL_BLOCKED: (days(5), Channel.LETTER, None, "step 3 of 4", False),
    Outcome.WRONG_NUMBER: (TODAY, Channel.PHONE, 2, "next phone today on the home number", False),
    Outcome.DISCONNECTED: (TODAY, Channel.PHONE, 2, "disconnected: next phone today", False),
    Outcome.LANGUAGE_BARRIER: (days(1), Channel.PHONE, 1, "with an interpreter", True),
    Outcome.REFUSED: (None, "", None, "consider closing the case as declined", False),
    Outcome.SCREENED_ELSEWHERE: (days(7), "", None, "ask for the record", False),
    Outcome.MOVED: (None, "", None, "record the new address or number", False),
    Outcome.DECEASED: (None, "", None, "close the case as ineligible", False),
    Outcome.OTHER: (days(1), Channel.PHONE, 1, "“other”: not counted; next: phone on", False),
}


def test_every_outcome_has_a_rule():
    assert set(EVERY_OUTCOME) == set(Outcome.values)


@pytest.mark.parametrize("outcome", Outcome.values)
def test_the_next_step_follows_from_each_outcome(outcome):
    expected_on, channel, phone, words, interpreter = EVERY_OUTCOME[outcome]
    # Given an unanswered call on day 0 and a second call today with this outcome
    attempts = [call(days(-2)), call(TODAY, outcome, phone=1)]
    # (a wrong or disconnected number is marked bad before the protocol is asked)
    mobile_bad = outcome in {Outcome.WRONG_NUMBER, Outcome.DISCONNECTED}
    phones = [Phone(pk=1, kind="mobile", is_bad=mobile_bad), HOME]

    # When the protocol is asked what comes next
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=phones, today=TODAY)

    # Then the date, channel, number and reason are the rule's
    assert (step.on, step.channel, step.phone) == (expected_on, channel, phone)
    assert words in step.explanation
    assert step.needs_interpreter is interpreter
    assert step.propose_unreachable is False


def test_it_walks_the_whole_cadence_then_keeps_the_last_channel_and_proposes_unreachable():
    attempts: list[Attempt] = []
    seen = []
    # Given a patient who never answers, tried each time on the day the protocol says
    day = TODAY
    for _ in range(5):
        channel = seen[-1].channel if seen else Channel.PHONE
        attempts.append(call(day, channel=channel))
        step = next_step(
            cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=day, sms_consent=True
        )
        seen.append(step)
        day = step.on

    # Then each step comes on its day by its channel, then the last channel every 7 days
    assert [(s.on, s.channel, s.step) for s in seen] == [
        (days(2), Channel.PHONE, 2),
        (days(7), Channel.LETTER, 3),
        (days(14), Channel.SMS, 4),
        (days(21), Channel.SMS, None),
        (days(28), Channel.SMS, None),
    ]
    assert seen[0].explanation == "next: phone on 25 Nov, step 2 of 4"
    assert seen[3].explanation.startswith("all 4 steps done: next sms on 14 Dec, every 7 days")
    # And the 4th unsuccessful attempt, on day 14, proposes closing as unreachable
    assert [s.propose_unreachable for s in seen] == [False, False, False, True, True]
    assert "4 unsuccessful attempts over 14 days: proposed for closing" in seen[3].explanation


def test_a_step_whose_day_has_passed_goes_out_tomorrow():
    # Given a first call on day 0 and the second only on day 9 (step 3 was due on day 7)
    attempts = [call(days(-9)), call(TODAY)]

    step = next_step(cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=TODAY)

    assert (step.on, step.channel) == (days(1), Channel.LETTER)
    assert step.explanation == "next: letter on tomorrow (24 Nov), step 3 of 4, due 21 Nov"


def test_a_step_the_protocol_puts_on_the_same_day_may_go_today():
    cadence = Cadence(steps=(Step(1, 0, Channel.PHONE), Step(2, 0, Channel.SMS)))
    step = next_step(cadence=cadence, attempts=[call(TODAY)], phones=[MOBILE], today=TODAY)
    assert (step.on, step.channel) == (TODAY, Channel.SMS)


def test_reaching_the_patient_starts_the_cadence_again():
    # Given three unanswered calls, a conversation, and an unanswered call after it
    attempts = [
        call(days(-20)),
        call(days(-18)),
        call(days(-13)),
        call(days(-6), Outcome.REACHED),
        call(TODAY),
    ]
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=TODAY)
    # Then the call after it was attempt 1 of a new run: step 2 follows, nothing is proposed
    assert (step.on, step.step, step.unsuccessful) == (days(2), 2, 1)
    assert step.propose_unreachable is False


def test_a_wrong_number_moves_to_the_next_good_number_today():
    attempts = [call(TODAY, Outcome.WRONG_NUMBER, phone=1)]
    phones = [Phone(1, "mobile", is_bad=True), Phone(3, "work", is_bad=True), HOME]
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=phones, today=TODAY)
    assert (step.on, step.channel, step.phone) == (TODAY, Channel.PHONE, 2)


def test_a_wrong_number_with_no_good_number_left_moves_to_the_next_channel_today():
    # Given the patient's only number turns out wrong on the first call
    attempts = [call(TODAY, Outcome.WRONG_NUMBER, phone=1)]
    phones = [Phone(1, "mobile", is_bad=True)]

    step = next_step(cadence=DEFAULT, attempts=attempts, phones=phones, today=TODAY)

    # Then the next step without a phone (the letter, step 3) goes out today
    assert (step.on, step.channel, step.phone, step.step) == (TODAY, Channel.LETTER, None, 3)
    assert step.explanation == "wrong number: no good number left: next letter today, step 3 of 4"


def test_with_every_number_bad_calls_and_texts_are_skipped_for_good():
    # Given the letter went out after the numbers all proved wrong
    attempts = [
        call(days(-7), Outcome.WRONG_NUMBER, phone=1),
        call(TODAY, Outcome.NO_ANSWER, channel=Channel.LETTER),
    ]
    phones = [Phone(1, "mobile", is_bad=True)]

    step = next_step(cadence=DEFAULT, attempts=attempts, phones=phones, today=TODAY)

    # Then the SMS step is skipped and letters continue
    assert step.channel == Channel.LETTER
    assert step.explanation.startswith("skipping calls and texts: no good number; all 4 steps")


def test_after_the_last_number_fails_on_the_second_call_the_letter_then_letters_follow():
    # Given the second call finds the only number disconnected
    attempts = [call(days(-2)), call(TODAY, Outcome.DISCONNECTED, phone=1)]
    phones = [Phone(1, "mobile", is_bad=True)]
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=phones, today=TODAY)
    # Then the letter (step 3) goes out today
    assert (step.on, step.channel, step.step) == (TODAY, Channel.LETTER, 3)

    # And after it, with no number for the text (step 4), a letter every 7 days
    attempts.append(call(TODAY, channel=Channel.LETTER))
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=phones, today=TODAY)
    assert (step.on, step.channel, step.step) == (days(7), Channel.LETTER, None)


def test_a_letter_sent_first_does_not_skip_the_calls_while_the_numbers_are_good():
    attempts = [call(TODAY, channel=Channel.LETTER)]
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=TODAY)
    assert (step.on, step.channel, step.step) == (days(2), Channel.PHONE, 2)


def test_without_sms_consent_the_text_step_is_skipped():
    attempts = [call(days(-7)), call(days(-5)), call(TODAY, channel=Channel.LETTER)]
    step = next_step(
        cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=TODAY, sms_consent=False
    )
    assert step.channel == Channel.LETTER
    assert "skipping texts: no SMS consent" in step.explanation


@pytest.mark.parametrize(
    ("attempt_days", "proposed"),
    [
        ((0, 2, 7, 14), True),  # N = 4 attempts over M = 14 days
        ((0, 2, 7, 13), False),  # 4 attempts over 13 days
        ((0, 7, 14), False),  # 3 attempts over 14 days
        ((0, 1, 2, 3, 20), True),  # more than N, over more than M
    ],
)
def test_it_proposes_unreachable_at_n_attempts_over_m_days(attempt_days, proposed):
    start = days(-max(attempt_days))
    attempts = [call(start + dt.timedelta(days=d)) for d in attempt_days]
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=TODAY)
    assert step.propose_unreachable is proposed


def test_a_managers_decision_to_keep_trying_restarts_the_count():
    attempts = [call(days(d)) for d in (-30, -28, -23, -16, -2)]
    since = on(days(-10))
    step = next_step(
        cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=TODAY, counting_since=since
    )
    assert (step.unsuccessful, step.propose_unreachable) == (1, False)


def test_inbound_contacts_that_did_not_reach_the_patient_are_not_counted():
    attempts = [call(days(-2)), call(TODAY, Outcome.NO_ANSWER, direction=Direction.INBOUND)]
    step = next_step(cadence=DEFAULT, attempts=attempts, phones=[MOBILE], today=TODAY)
    assert step.explanation.startswith("inbound no answer or busy: not counted; next: phone")
    assert step.unsuccessful == 0


def test_unsuccessful_outcomes_are_those_the_model_lists():
    # The protocol and the unreachable count agree with outreach.models on what "not reached" is.
    assert {o for o in Outcome.values if call(TODAY, o).unsuccessful} == set(UNSUCCESSFUL_OUTCOMES)


# --- The default protocols (migration) ----------------------------------------------------


@pytest.mark.django_db
def test_every_program_starts_with_the_default_protocol_and_letters_in_three_languages():
    for program in ScreeningProgram.objects.all():
        protocol = OutreachProtocol.objects.get(program=program)
        assert (
            protocol.unreachable_after_attempts,
            protocol.unreachable_after_days,
            protocol.reached_follow_up_days,
        ) == (4, 14, 7)
        assert [(s.order, s.day, s.channel) for s in protocol.steps.all()] == [
            (1, 0, "phone"),
            (2, 2, "phone"),
            (3, 7, "letter"),
            (4, 14, "sms"),
        ]
    languages = MessageTemplate.objects.filter(kind="outreach_letter", program=None)
    assert sorted(languages.values_list("language", flat=True)) == ["en", "es", "pt"]


# --- attempt_log applies the protocol -----------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(on(TODAY, 15), tick=False) as traveller:
        yield traveller


@pytest.fixture
def case(db, frozen, navigator):
    case = factories.CaseFactory(navigator=navigator, patient__sms_consent=True)
    mobile = PatientPhone.objects.create(patient=case.patient, number="+16175550101", rank=0)
    PatientPhone.objects.create(patient=case.patient, number="+16175550102", rank=1, kind="home")
    case.mobile = mobile
    return case


def log(case, outcome=Outcome.NO_ANSWER, *, at=None, **kwargs):
    kwargs.setdefault("channel", Channel.PHONE)
    return attempt_log(
        case=case, outcome=outcome, actor=case.navigator.user, attempted_at=at, **kwargs
    )


def refreshed(case):
    case.refresh_from_db()
    return case


def attempt_event(case) -> CaseEvent:
    return CaseEvent.objects.filter(case=case, kind=CaseEventKind.ATTEMPT_LOGGED).latest("pk")


def test_logging_an_attempt_sets_the_protocols_date_and_channel_and_says_why(case):
    # Given an unanswered call five days ago, when today's call goes unanswered too
    log(case, at=on(days(-5)))
    log(case)

    # Then the letter (step 3, day 7 after the first call) is next, on the timeline in words
    case = refreshed(case)
    assert (case.next_follow_up, case.next_channel) == (days(2), Channel.LETTER)
    event = attempt_event(case)
    assert event.summary == "Outbound phone: no answer or busy; next: letter on 25 Nov, step 3 of 4"
    assert event.data["channel_to"] == "letter"
    assert event.data["protocol_step"] == 3


def test_an_explicit_follow_up_date_wins_but_the_channel_is_still_proposed(case):
    log(case, next_follow_up=days(10))
    case = refreshed(case)
    assert (case.next_follow_up, case.next_channel) == (days(10), Channel.PHONE)
    assert (
        "2026-12-03 (set by hand); protocol: next: phone on 25 Nov" in attempt_event(case).summary
    )


def test_a_program_without_a_protocol_keeps_the_settings_default(case, settings):
    OutreachProtocol.objects.filter(program=case.program).delete()
    settings.EQUINAV_FOLLOW_UP_DAYS_NOT_REACHED = 3
    log(case, channel=Channel.SMS)
    case = refreshed(case)
    assert (case.next_follow_up, case.next_channel) == (days(3), "")
    assert attempt_event(case).summary.endswith("; next follow-up 2026-11-26")


def test_a_wrong_number_is_marked_bad_and_the_next_number_is_called_today(case):
    # When the mobile number turns out wrong
    log(case, Outcome.WRONG_NUMBER, phone=case.mobile)

    # Then it is marked bad, on the timeline with its old and new value
    case.mobile.refresh_from_db()
    assert case.mobile.is_bad is True
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.PHONE_MARKED_BAD)
    assert event.summary == "Mobile number ending 0101 marked bad: wrong number"
    assert (event.data["is_bad_from"], event.data["is_bad_to"]) == (False, True)
    assert event.actor == case.navigator.user
    # And the home number is to be called today
    case = refreshed(case)
    assert (case.next_follow_up, case.next_channel) == (TODAY, Channel.PHONE)
    assert "next phone today on the home number" in attempt_event(case).summary


def test_the_last_number_disconnected_moves_to_the_letter_today(case):
    case.patient.phones.exclude(pk=case.mobile.pk).delete()
    log(case, Outcome.DISCONNECTED, phone=case.mobile)
    case = refreshed(case)
    assert (case.next_follow_up, case.next_channel) == (TODAY, Channel.LETTER)


def test_a_wrong_number_without_the_number_marks_the_only_good_one_and_guesses_no_other(case):
    # With two good numbers and none recorded on the attempt, none is guessed at
    log(case, Outcome.WRONG_NUMBER)
    assert not PatientPhone.objects.filter(patient=case.patient, is_bad=True).exists()
    assert not CaseEvent.objects.filter(case=case, kind=CaseEventKind.PHONE_MARKED_BAD).exists()

    # With one good number left, that one is meant
    case.patient.phones.exclude(pk=case.mobile.pk).delete()
    log(case, Outcome.WRONG_NUMBER)
    case.mobile.refresh_from_db()
    assert case.mobile.is_bad is True


def test_a_number_already_marked_bad_is_not_marked_again(case):
    log(case, Outcome.WRONG_NUMBER, phone=case.mobile)
    log(case, Outcome.DISCONNECTED, phone=case.mobile)
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.PHONE_MARKED_BAD).count() == 1


def test_a_language_barrier_flags_the_case_for_an_interpreter_and_calls_tomorrow(case):
    log(case, Outcome.LANGUAGE_BARRIER, phone=case.mobile)
    case = refreshed(case)
    assert case.needs_interpreter is True
    assert (case.next_follow_up, case.next_channel) == (days(1), Channel.PHONE)
    event = attempt_event(case)
    assert event.summary.endswith("with an interpreter; interpreter needed from now on")
    assert event.data["needs_interpreter_to"] is True


def test_a_refusal_leaves_no_automatic_follow_up_and_suggests_closing_as_declined(case):
    log(case, Outcome.REFUSED)
    case = refreshed(case)
    assert case.next_follow_up is None
    assert "consider closing the case as declined" in attempt_event(case).summary


def unreachable_run(case):
    """Four unanswered attempts on days 0, 2, 7 and 14 (today)."""
    for offset in (-14, -12, -7):
        log(case, at=on(days(offset)))
    log(case)


def test_the_protocol_proposes_unreachable_once_after_n_attempts_over_m_days(case):
    # Given three unanswered attempts over 7 days, nothing is proposed yet
    for offset in (-14, -12, -7):
        log(case, at=on(days(offset)))
    assert refreshed(case).unreachable_proposed_at is None

    # When the 4th, on day 14, goes unanswered too
    log(case)

    # Then the case is proposed, once, with the reason in words
    case = refreshed(case)
    assert case.unreachable_proposed_at is not None
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.UNREACHABLE_PROPOSED)
    assert event.summary == (
        "Proposed for closing as unreachable by the outreach protocol: 4 unsuccessful "
        "attempts over 14 days; a manager confirms"
    )
    assert event.data["attempts"] == 4
    assert event.data["proposed_from"] is None
    log(case, channel=Channel.SMS)
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.UNREACHABLE_PROPOSED).count() == 1


def test_reaching_the_patient_withdraws_the_proposal(case):
    unreachable_run(case)
    log(case, Outcome.REACHED)
    case = refreshed(case)
    assert case.unreachable_proposed_at is None
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.UNREACHABLE_DISMISSED)
    assert event.summary == "Kept open (reached the patient)"


# --- A manager decides --------------------------------------------------------------------


def test_a_manager_confirms_and_the_case_closes_as_unreachable(case, manager):
    unreachable_run(case)
    closed = case_unreachable_confirm(case=case, actor=manager, note="No other contact")
    assert closed.status == CaseStatus.CLOSED_UNREACHABLE
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.STATUS_CHANGED, actor=manager)
    assert event.data["to"] == CaseStatus.CLOSED_UNREACHABLE
    assert event.data["note"] == "confirmed the proposal of 2026-11-23; No other contact"


def test_a_navigator_cannot_confirm_or_dismiss(case):
    unreachable_run(case)
    before = refreshed(case).version
    for decide in (case_unreachable_confirm, case_unreachable_dismiss):
        with pytest.raises(PermissionDenied, match="Only a program manager"):
            decide(case=case, actor=case.navigator.user)
    case = refreshed(case)
    assert (case.status, case.version) == (CaseStatus.CONTACTING, before)


def test_confirming_a_case_that_is_not_proposed_or_already_closed_is_refused(case, manager):
    with pytest.raises(ValidationError, match="Nothing proposes closing this case"):
        case_unreachable_confirm(case=case, actor=manager)
    with pytest.raises(ValidationError, match="nothing to dismiss"):
        case_unreachable_dismiss(case=case, actor=manager)

    unreachable_run(case)
    case_unreachable_confirm(case=case, actor=manager)
    version = refreshed(case).version
    with pytest.raises(ValidationError, match="it can no longer change"):
        case_unreachable_confirm(case=case, actor=manager)
    assert refreshed(case).version == version


def test_a_decision_from_a_stale_page_is_refused_and_writes_nothing(case, manager):
    unreachable_run(case)
    seen = refreshed(case).version
    log(case, channel=Channel.SMS)  # someone logs an attempt meanwhile
    with pytest.raises(StaleCaseError, match="This case changed after you opened it"):
        case_unreachable_confirm(case=case, actor=manager, expected_version=seen)
    case = refreshed(case)
    assert case.status == CaseStatus.CONTACTING
    assert case.unreachable_proposed_at is not None


def test_a_manager_keeps_trying_and_the_count_starts_again(case, manager, frozen):
    unreachable_run(case)
    case_unreachable_dismiss(case=case, actor=manager, note="New address from the clinic")
    case = refreshed(case)
    assert case.unreachable_proposed_at is None
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.UNREACHABLE_DISMISSED)
    assert event.actor == manager
    assert (
        event.summary == "Kept open (a manager decided to keep trying): New address from the clinic"
    )
    assert event.data["proposed_to"] is None

    # Another unanswered attempt a week later does not propose the case again at once
    frozen.shift(dt.timedelta(days=7))
    log(case, channel=Channel.SMS)
    assert refreshed(case).unreachable_proposed_at is None


def test_a_navigator_proposes_by_hand_with_what_was_tried(case):
    with pytest.raises(ValidationError, match="Say what was tried"):
        case_unreachable_propose(case=case, actor=case.navigator.user, note=" ")
    case_unreachable_propose(case=case, actor=case.navigator.user, note="Shelter has no record")
    case = refreshed(case)
    assert case.unreachable_proposed_at is not None
    with pytest.raises(ValidationError, match="already proposed"):
        case_unreachable_propose(case=case, actor=case.navigator.user, note="again")


# --- Pages and API --------------------------------------------------------------------------


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_the_case_page_shows_a_manager_the_decision_and_a_navigator_the_explanation(
    case, client, manager
):
    unreachable_run(case)
    url = reverse("navigator:case_detail", args=[case.pk])

    client.force_login(case.navigator.user)
    html = client.get(url).content.decode()
    assert "Proposed for closing as unreachable by the outreach protocol" in html
    assert "A program manager will confirm it" in html
    assert "Close as unreachable" not in html

    client.force_login(manager)
    html = client.get(url).content.decode()
    assert 'data-testid="unreachable-decision-form"' in html
    assert "Close as unreachable" in html and "Keep trying" in html


def test_a_manager_confirms_from_the_case_page_with_htmx(case, manager_client):
    unreachable_run(case)
    version = refreshed(case).version
    response = manager_client.post(
        reverse("outreach:unreachable_confirm", args=[case.pk]),
        {"version": version, "note": ""},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Case closed as unreachable." in html
    assert refreshed(case).status == CaseStatus.CLOSED_UNREACHABLE


def test_a_stale_decision_on_the_page_is_shown_and_nothing_is_saved(case, manager_client):
    unreachable_run(case)
    stale = refreshed(case).version - 1
    response = manager_client.post(
        reverse("outreach:unreachable_dismiss", args=[case.pk]), {"version": stale}, **HTMX
    )
    assert response.status_code == 200
    assert "This case changed after you opened it" in response.content.decode()
    assert refreshed(case).unreachable_proposed_at is not None
    # Without htmx, the same refusal is a 409
    response = manager_client.post(
        reverse("outreach:unreachable_dismiss", args=[case.pk]), {"version": stale}
    )
    assert response.status_code == 409


def test_a_navigator_cannot_post_a_decision(case, client):
    unreachable_run(case)
    client.force_login(case.navigator.user)
    for name in ("outreach:unreachable_confirm", "outreach:unreachable_dismiss"):
        assert client.post(reverse(name, args=[case.pk]), {}).status_code == 403
    assert refreshed(case).status == CaseStatus.CONTACTING


def test_a_navigator_proposes_from_the_case_page(case, client):
    client.force_login(case.navigator.user)
    url = reverse("outreach:unreachable_propose", args=[case.pk])
    response = client.post(url, {"note": "", "version": case.version}, **HTMX)
    assert "Say what was tried" in response.content.decode()
    assert refreshed(case).unreachable_proposed_at is None

    response = client.post(url, {"note": "Tried all numbers", "version": case.version}, **HTMX)
    assert "Proposed for closing as unreachable; a manager decides." in response.content.decode()
    assert refreshed(case).unreachable_proposed_at is not None


def test_the_api_confirms_for_managers_only(case, manager):
    unreachable_run(case)
    url = f"/api/cases/{case.pk}/unreachable/confirm/"
    assert api_as(case.navigator.user).post(url, {}, format="json").status_code == 403

    version = refreshed(case).version
    response = api_as(manager).post(url, {"version": version - 1}, format="json")
    assert response.status_code == 409
    assert "version" in response.json()

    response = api_as(manager).post(url, {"version": version, "note": "ok"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == CaseStatus.CLOSED_UNREACHABLE

    response = api_as(manager).post(url, {}, format="json")
    assert response.status_code == 400
    assert "can no longer change" in response.json()["case"][0]


def test_the_api_dismisses_and_refuses_a_case_not_proposed(case, manager):
    url = f"/api/cases/{case.pk}/unreachable/dismiss/"
    response = api_as(manager).post(url, {}, format="json")
    assert response.status_code == 400
    assert "nothing to dismiss" in response.json()["case"][0]
    unreachable_run(case)
    response = api_as(manager).post(url, {"note": "try the clinic"}, format="json")
    assert response.status_code == 200
    assert response.json()["unreachable_proposed_at"] is None


# --- Editing a protocol ---------------------------------------------------------------------


def protocol_post(steps, **thresholds):
    data = {
        "unreachable_after_attempts": 5,
        "unreachable_after_days": 21,
        "reached_follow_up_days": 10,
        "steps-TOTAL_FORMS": len(steps),
        "steps-INITIAL_FORMS": 0,
        "steps-MIN_NUM_FORMS": 0,
        "steps-MAX_NUM_FORMS": 1000,
        **thresholds,
    }
    for i, step in enumerate(steps):
        for key, value in step.items():
            data[f"steps-{i}-{key}"] = value
    return data


def protocol_state(program):
    protocol = OutreachProtocol.objects.get(program=program)
    return (
        protocol.unreachable_after_attempts,
        protocol.unreachable_after_days,
        protocol.reached_follow_up_days,
        list(protocol.steps.values_list("order", "day", "channel")),
    )


@pytest.fixture
def colorectal(db):
    return factories.program("colorectal")


def test_a_manager_changes_a_protocol_and_the_change_is_recorded(
    manager_client, manager, colorectal
):
    url = reverse("outreach:program_protocol", args=["colorectal"])
    assert manager_client.get(url).status_code == 200

    steps = [
        {"order": 1, "day": 0, "channel": "phone"},
        {"order": 2, "day": 3, "channel": "sms"},
        {"order": 3, "day": 10, "channel": "letter"},
        {"order": "", "day": "", "channel": ""},  # the empty row for a new step
        {"order": 4, "day": 14, "channel": "sms", "DELETE": "on"},
    ]
    response = manager_client.post(url, protocol_post(steps))

    assert response.status_code == 302, response.content.decode()
    assert protocol_state(colorectal) == (
        5,
        21,
        10,
        [(1, 0, "phone"), (2, 3, "sms"), (3, 10, "letter")],
    )
    entry = LogEntry.objects.get(object_id=str(colorectal.outreach_protocol.pk))
    assert entry.user == manager
    assert "unreachable after attempts: 4 → 5" in entry.change_message.lower()
    assert "sms on day 14 → phone on day 0, sms on day 3, letter on day 10" in entry.change_message
    page = manager_client.get(url).content.decode()
    assert entry.change_message in page.replace("&gt;", ">")


@pytest.mark.parametrize(
    ("steps", "thresholds", "message"),
    [
        ([], {}, "A protocol needs at least one step."),
        (
            [{"order": 1, "day": 0, "channel": "phone"}, {"order": 3, "day": 2, "channel": "sms"}],
            {},
            "Number the steps 1, 2, 3… with none missing or repeated (got 1, 3).",
        ),
        (
            [{"order": 1, "day": 5, "channel": "phone"}, {"order": 2, "day": 2, "channel": "sms"}],
            {},
            "Step 2 is on day 2, before step 1 (day 5): days must not go back.",
        ),
        (
            [{"order": 1, "day": 0, "channel": "pigeon"}],
            {},
            "Select a valid choice. pigeon is not one of the available choices.",
        ),
        (
            [{"order": 1, "day": 0, "channel": "phone"}],
            {"unreachable_after_attempts": 0},
            "Ensure this value is greater than or equal to 1.",
        ),
    ],
)
def test_a_bad_protocol_is_refused_with_a_clear_error_and_nothing_changes(
    manager_client, colorectal, steps, thresholds, message
):
    before = protocol_state(colorectal)
    url = reverse("outreach:program_protocol", args=["colorectal"])

    response = manager_client.post(url, protocol_post(steps, **thresholds))

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert protocol_state(colorectal) == before
    assert not LogEntry.objects.exists()


def test_the_page_as_served_saves_unchanged_with_its_blank_row(manager_client, colorectal):
    # Given the page as a browser would submit it, nothing touched
    url = reverse("outreach:program_protocol", args=["colorectal"])
    form = manager_client.get(url).context["steps"]
    data = {
        "unreachable_after_attempts": 4,
        "unreachable_after_days": 14,
        "reached_follow_up_days": 7,
        **{
            f"{f.prefix}-{name}": value
            for f in [form.management_form, *form.forms]
            for name, value in (f.initial or {}).items()
        },
    }
    data.update({f"steps-4-{name}": "" for name in ("order", "day", "channel")})
    response = manager_client.post(url, data, follow=True)
    assert "Nothing changed." in response.content.decode()


def test_saving_the_same_protocol_changes_nothing(manager_client, colorectal):
    url = reverse("outreach:program_protocol", args=["colorectal"])
    steps = [
        {"order": o, "day": d, "channel": c}
        for o, d, c in [(1, 0, "phone"), (2, 2, "phone"), (3, 7, "letter"), (4, 14, "sms")]
    ]
    data = protocol_post(
        steps, unreachable_after_attempts=4, unreachable_after_days=14, reached_follow_up_days=7
    )
    response = manager_client.post(url, data, follow=True)
    assert "Nothing changed." in response.content.decode()
    assert not LogEntry.objects.exists()


def test_navigators_cannot_open_the_protocol_page_and_an_unknown_program_is_404(
    client, navigator, manager_client
):
    assert manager_client.get("/programs/nonesuch/protocol/").status_code == 404
    client.force_login(navigator.user)
    assert client.get("/programs/colorectal/protocol/").status_code == 403


def test_a_program_added_later_gets_its_first_protocol_from_the_page(manager_client):
    program = ScreeningProgram.objects.create(code="skin", name="Skin cancer", min_age=40,
                                              max_age=80)  # fmt: skip
    url = reverse("outreach:program_protocol", args=["skin"])
    assert "This program has no protocol yet" in manager_client.get(url).content.decode()
    response = manager_client.post(url, protocol_post([{"order": 1, "day": 0, "channel": "phone"}]))
    assert response.status_code == 302
    assert ProtocolStep.objects.filter(protocol__program=program).count() == 1


def test_the_api_marks_the_number_named_on_a_wrong_number_attempt(case):
    home = case.patient.phones.get(kind="home")
    client = api_as(case.navigator.user)
    other = PatientPhone.objects.create(
        patient=factories.PatientFactory(), number="+16175550199", rank=0
    )

    # A number not among the cases the navigator sees is refused as unknown
    response = client.post(
        f"/api/cases/{case.pk}/attempts/",
        {"channel": "phone", "outcome": "wrong_number", "phone": other.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "phone" in response.json()

    response = client.post(
        f"/api/cases/{case.pk}/attempts/",
        {"channel": "phone", "outcome": "wrong_number", "phone": home.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    home.refresh_from_db()
    assert home.is_bad is True
    assert response.json()["next_channel"] == Channel.PHONE
    assert response.json()["next_follow_up"] == TODAY.isoformat()


def test_managers_find_the_cases_awaiting_their_decision(case, manager_client, manager):
    unreachable_run(case)
    other = factories.CaseFactory(navigator=case.navigator)

    response = manager_client.get(reverse("navigator:case_list"), {"unreachable_proposed": "on"})
    assert [c.pk for c in response.context["cases"]] == [case.pk]

    response = api_as(manager).get("/api/cases/", {"unreachable_proposed": "true"})
    assert [row["id"] for row in response.json()["results"]] == [case.pk]
    response = api_as(manager).get("/api/cases/", {"unreachable_proposed": "false"})
    assert other.pk in [row["id"] for row in response.json()["results"]]
    assert case.pk not in [row["id"] for row in response.json()["results"]]
