"""The demo's outreach extras (used by the seed_demo command): a manager's edit of a
call guide, so its page shows two versions; and two more of María's patients for the
worklist as a morning plan (tried today; a wrong number, so the home phone is best)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.utils import timezone

from navigator.intake.referrals import referral_create
from navigator.models import NavigatorProfile, User
from navigator.services import assignment
from outreach.models import Outcome
from outreach.services.attempts import attempt_log
from outreach.services.call_guides import CallGuideText, call_guide_snapshot, call_guide_update
from patients.services.patients import PatientInput, PhoneInput


def call_guide_edited(programs) -> None:
    """The migration seeds every program's call guides (English, Spanish); Grace has
    edited the colorectal prep call once, so its page shows two versions."""
    guide = programs["colorectal"].call_guides.get(step="prep_call", language="en")
    text = CallGuideText(**call_guide_snapshot(guide))
    extra = "\n- Ask them to bring a list of their medicines, their ID and insurance card."
    call_guide_update(
        guide=guide, text=replace(text, talking_points=text.talking_points + extra),
        summary="What to bring", actor=User.objects.get(username="manager"),
        expected_version=guide.version,
    )  # fmt: skip


def morning_plan(clinic, programs, referrer: User, today: dt.date) -> None:
    """Two more of María's patients for the worklist as a morning plan, with the
    best time to call: one called this morning without an answer ("Tried today",
    below the untried), one whose mobile proved wrong (the row offers the home phone)."""
    maria = NavigatorProfile.objects.get(user__username="maria")
    zone, now = timezone.get_current_timezone(), timezone.now()
    morning = dt.datetime.combine(today, dt.time(9, 10), tzinfo=zone)
    cases = []
    for index, best in [(1, "Weekday mornings"), (2, "After 6 pm, not Fridays")]:
        phones = [PhoneInput(number=f"+1617555710{index}")]
        phones += [PhoneInput(number="+16175557202", kind="home")] if index == 2 else []
        patient = PatientInput(
            mrn=f"{clinic.code[:3].upper()}7{index:05d}", sex="female",
            given_name=["Thanh", "Amina"][index - 1],
            family_name=["Nguyen", "Abdullahi"][index - 1],
            birth_date=today - dt.timedelta(days=365 * (61 + index) + 90),
            preferred_language=["vi", "so"][index - 1], english_proficiency="not_well",
            interpreter_needed=True, phones=phones, best_contact_times=best,
        )  # fmt: skip
        referral = referral_create(
            clinic=clinic, program=programs["colorectal"], patient_data=patient,
            referring_clinician="Dr. Alvarez", reason="Overdue for colorectal screening",
            actor=referrer,
        )  # fmt: skip
        cases.append(assignment.case_assign(case=referral.case, navigator=maria, actor=None))
    # (h) No answer at 9:10 this morning (or as early today as the clock allows).
    at = max(dt.datetime.combine(today, dt.time.min, tzinfo=zone), min(morning, now))
    attempt_log(case=cases[0], channel="phone", outcome=Outcome.NO_ANSWER, actor=maria.user,
                attempted_at=at)  # fmt: skip
    # (i) A wrong number last week: the home phone is the one to call today.
    wrong = cases[1].patient.phones.get(rank=0)
    attempt_log(case=cases[1], channel="phone", outcome=Outcome.WRONG_NUMBER, phone=wrong,
                actor=maria.user, attempted_at=now - dt.timedelta(days=6),
                next_follow_up=today)  # fmt: skip
