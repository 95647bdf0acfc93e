"""The demo's results and what they led to (used by the seed_demo command): a test
recorded in one of its program's categories, drawn with realistic odds; most
abnormal results of a finished case followed up, some not; and, for María, one
case in each state of the safety net (overdue, proposed for closing, closed with
a manager's confirmation, handed to treatment).

Everything goes through the services, as a navigator and a manager would."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import F
from django.utils import timezone

from navigator.models import (
    FollowUpCloseReason,
    NavigationCase,
    ResultFollowUp,
    User,
)
from navigator.selectors.cases import open_follow_up
from navigator.services import appointments, follow_ups, screenings
from outreach.models import Outcome
from outreach.services.attempts import attempt_log
from patients.models import ResultMeaning, ScreeningModality
from patients.result_pathways import result_categories_for

# Of screening results: most normal, some abnormal, a few inadequate (a positive FIT
# runs at about 5-10% in US programmes).
MEANING_ODDS = ([ResultMeaning.NORMAL, ResultMeaning.ABNORMAL, ResultMeaning.INADEQUATE],
                [0.85, 0.1, 0.05])  # fmt: skip
# Of finished demo cases whose result called for a follow-up: how many got it.
FOLLOWED_UP = 0.6


def category_drawn(rng: random.Random, modality: ScreeningModality, meaning: str = "") -> str:
    """A category code for this test's result: of `meaning`, or drawn with MEANING_ODDS."""
    categories = list(result_categories_for(modality))
    meaning = meaning or rng.choices(*MEANING_ODDS)[0]
    matching = [c for c in categories if c.meaning == meaning]
    normal = [c for c in categories if c.meaning == ResultMeaning.NORMAL]
    return rng.choice(matching or normal or categories).code


def result_record(
    *, case: NavigationCase, modality: ScreeningModality, actor: User, rng: random.Random,
    finished: bool,
) -> None:  # fmt: skip
    """Record the case's test with a drawn result; a finished case's follow-up is, most
    of the time, done and normal (the loop closed), else left open."""
    screenings.case_record_screening(
        case=case,
        modality=modality,
        performed_on=timezone.localdate(),
        result=category_drawn(rng, modality),
        actor=actor,
    )
    follow_up = open_follow_up(case)
    if follow_up is None or not finished or rng.random() > FOLLOWED_UP:
        return
    screenings.case_record_screening(
        case=case.pk,
        modality=follow_up.next_modality,
        performed_on=timezone.localdate(),
        result=category_drawn(rng, follow_up.next_modality, ResultMeaning.NORMAL),
        actor=actor,
    )


def results_shift(case: NavigationCase, shift: dt.timedelta) -> None:
    """Move a backdated case's results and follow-ups back with it."""
    case.screenings.update(
        performed_on=F("performed_on") - shift, resulted_on=F("resulted_on") - shift
    )
    ResultFollowUp.objects.filter(case=case).update(
        result_on=F("result_on") - shift,
        due_on=F("due_on") - shift,
        limit_on=F("limit_on") - shift,
        done_on=F("done_on") - shift,
        created_at=F("created_at") - shift,
    )


def safety_net_states(
    *, referred, colorectal, maria: User, manager: User, today: dt.date, first_index: int
) -> None:
    """María's cases in each state of an abnormal result: overdue, proposed for closing
    (a manager decides), closed for a listed reason with a manager's confirmation, and a
    cancer found and handed to treatment navigation. `referred(index)` refers and
    assigns one of her patients."""
    now = timezone.now()
    fit = colorectal.modalities.get(code="fit")
    colonoscopy = colorectal.modalities.get(code="colonoscopy")

    def abnormal_fit(index: int, days_ago: int) -> NavigationCase:
        case = referred(index)
        attempt_log(case=case, channel="phone", outcome=Outcome.REACHED, actor=maria,
                    attempted_at=now - dt.timedelta(days=days_ago + 8))  # fmt: skip
        screenings.case_record_screening(
            case=case, modality=fit, performed_on=today, result="abnormal", actor=maria
        )
        results_shift(case, dt.timedelta(days=days_ago))
        case.refresh_from_db()
        return case

    # Overdue: a positive FIT 75 days ago, colonoscopy still not booked.
    abnormal_fit(first_index, 75)
    # Proposed for closing: the patient declined after an informed discussion.
    case = abnormal_fit(first_index + 1, 40)
    follow_ups.follow_up_close_propose(
        case=case,
        reason=FollowUpCloseReason.DECLINED_INFORMED,
        note="Discussed twice with an interpreter what a positive FIT means; he declines.",
        actor=maria,
    )
    # Closed with a confirmed reason: the colonoscopy was done at another hospital.
    case = abnormal_fit(first_index + 2, 50)
    follow_ups.follow_up_close_propose(
        case=case,
        reason=FollowUpCloseReason.DONE_ELSEWHERE,
        note="Colonoscopy at Mercy Hospital on the 3rd; report scanned into the chart.",
        actor=maria,
    )
    follow_ups.follow_up_close_confirm(case=case, actor=manager)
    # A colonoscopy booked for the follow-up, a week ahead.
    case = abnormal_fit(first_index + 3, 20)
    appointments.appointment_book(
        case=case,
        scheduled_at=timezone.make_aware(
            dt.datetime.combine(today + dt.timedelta(days=7), dt.time(9, 30))
        ),
        site="Endoscopy Suite, 3rd floor",
        actor=maria,
        purpose="diagnostic",
    )
    # Followed up and cancer found: handed to treatment navigation.
    case = abnormal_fit(first_index + 4, 45)
    screenings.case_record_screening(
        case=case,
        modality=colonoscopy,
        performed_on=today - dt.timedelta(days=10),
        result="cancer",
        actor=maria,
    )
