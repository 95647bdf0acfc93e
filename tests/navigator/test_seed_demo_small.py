"""What the demo holds however few patients it makes at random: a second run changes
nothing, María's worklist has a case for every reason and reads as a morning plan,
language access shows interpreter requests in every status and who interpreted, and
the diabetes programme has coaching sessions, group series and attendance.

The demo's structure without its size: as many random patients as these tests always
checked, the EHR feed's every scenario once (not three times), and a small equity
population (its story at full size: test_seed_demo_equity.py; the full demo, as `make
run` seeds it: test_seed_demo.py). It is seeded once for the module, inside a
transaction rolled back at its end; each test runs in a savepoint of its own. Each test
reads the clock as it stood when the seeding finished (time_machine, ticking): as when
each test seeded the demo itself and looked at it at once, which took four seedings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase, override_settings
from django.utils import timezone

from navigator.models import (
    OPEN_STATUSES,
    CaseEvent,
    CoachingGoal,
    CoachingSession,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    NavigationCase,
    SelfCareBehaviour,
    User,
)
from navigator.selectors.worklist import worklist_for, worklist_rows
from navigator.worklist import rules as worklist
from outreach.messaging.sms_backends import ConsoleBackend
from outreach.models import ContactAttempt, InterpretedBy, InterpreterRequest
from patients.models import GAP_STATUSES, CareGap, Patient

pytestmark = pytest.mark.django_db

SMALL_DEMO = ("--patients", "30", "--ehr-patients", "10", "--population-patients", "100")


def seed(*args: str) -> str:
    """Run seed_demo as `make run` does (with DEBUG on: it refuses without), its on-commit
    work done: texts due at once (a recall whose slot has come, by the time of day) go to
    the console backend, as DEBUG's settings would send them."""
    out = StringIO()
    # The patch outlives the capture, whose callbacks run as it closes.
    with (
        override_settings(DEBUG=True),
        mock.patch("outreach.messaging.send.get_sms_backend", return_value=ConsoleBackend(out)),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@dataclass(frozen=True)
class Demo:
    printed: str
    seeded_at: dt.datetime


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[Demo]:
    with django_db_blocker.unblock(), transaction.atomic():
        printed = seed(*SMALL_DEMO)
        yield Demo(printed=printed, seeded_at=dt.datetime.now(tz=dt.UTC))
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def just_after_the_seeding(demo) -> Iterator[None]:
    with time_machine.travel(demo.seeded_at, tick=True):
        yield


def maria_worklist():
    maria = User.objects.get(username="maria")
    moment = worklist.Moment.current()
    return worklist_rows(worklist_for(user=maria, moment=moment), user=maria, moment=moment)


def test_running_it_twice_changes_nothing(demo):
    # Given the demo, seeded once
    assert "maria" in demo.printed
    counts = (Patient.objects.count(), NavigationCase.objects.count(), CaseEvent.objects.count(),
              User.objects.count())  # fmt: skip

    # When it is seeded again
    printed = seed(*SMALL_DEMO)

    # Then nothing changed, and the logins are printed again
    assert "nothing changed" in printed
    assert "maria" in printed
    assert counts == (Patient.objects.count(), NavigationCase.objects.count(),
                      CaseEvent.objects.count(), User.objects.count())  # fmt: skip


def test_the_demo_navigators_worklist_has_a_case_for_every_reason(demo):
    # Given the demo, however few patients it makes at random

    # Then María's worklist has a case topped by each reason it ranks by
    rows = maria_worklist()
    top_reasons = {row.reasons[0].code for row in rows if row.reasons}
    assert top_reasons == {rule.code for rule in worklist.RULES}


def test_the_demo_worklist_is_a_morning_plan(demo):
    # Then María's worklist has a case she tried this morning, last of all, and a
    # patient whose wrong mobile leaves the home phone as the number to call
    rows = maria_worklist()
    tried = [row for row in rows if row.tried_today_label]
    assert [row.patient.mrn for row in tried] == ["CHE700001"]
    assert rows[-1].pk == tried[0].pk
    abdullahi = next(row for row in rows if row.patient.mrn == "CHE700002")
    assert abdullahi.phone_to_call.e164 == "+16175557202"
    assert abdullahi.patient.best_contact_times == "After 6 pm, not Fridays"


def test_the_demo_shows_interpreter_requests_and_who_interpreted(demo):
    # (Moved from test_seed_demo_interpreters.py, which seeded the same demo again.)
    statuses = set(InterpreterRequest.objects.values_list("status", flat=True))
    assert statuses == {"requested", "confirmed", "done", "cancelled"}
    answers = list(ContactAttempt.objects.values_list("interpreted_by", flat=True))
    assert set(answers) == set(InterpretedBy.values)
    assert answers.count(InterpretedBy.AD_HOC) == 2
    # María's worklist shows one interpreter arranged (the confirmed request ahead)
    assert sum(row.interpreter_arranged for row in maria_worklist()) == 1


def test_the_demo_has_individual_coaching_sessions_of_every_outcome_with_goals(demo):
    # Given the diabetes control programme's coached patients
    sessions = CoachingSession.objects.filter(case__program__code="diabetes")

    # Then their sessions were attended, missed or cancelled, and some are ahead
    statuses = set(sessions.values_list("status", flat=True))
    assert {"attended", "missed"} <= statuses <= {"attended", "missed", "cancelled", "scheduled"}
    now = timezone.now()
    assert not sessions.filter(status="scheduled", scheduled_at__lte=now).exists()
    assert not sessions.exclude(status="scheduled").filter(scheduled_at__gt=now).exists()
    # each on ADCES7 self-care behaviours, attended ones with the minutes given
    assert all(s.topics and set(s.topics) <= set(SelfCareBehaviour.values) for s in sessions)
    assert all(s.minutes_spent for s in sessions.filter(status="attended"))
    # and goals set in one session and reviewed in a later one
    reviewed = CoachingGoal.objects.exclude(outcome="")
    assert reviewed.exists() and CoachingGoal.objects.filter(outcome="").exists()
    assert all(g.reviewed_in.scheduled_at > g.set_in.scheduled_at for g in reviewed)


def test_the_demo_has_a_spanish_group_series_with_attendance_and_a_make_up(demo):
    # Given the demo's group classes of one curriculum
    series = {s.name: s for s in GroupSeries.objects.all()}
    autumn = series["Diabetes: tomando el control (otoño)"]
    spring = series["Diabetes: tomando el control (primavera)"]
    english = series["Living well with diabetes"]
    assert (autumn.language, spring.language, english.language) == ("es", "es", "en")
    assert "es" in autumn.facilitator.navigator_profile.languages

    # Then this autumn's Spanish series has sessions past and ahead
    now = timezone.now()
    assert autumn.sessions.filter(starts_at__lt=now).count() == 4
    assert autumn.sessions.filter(starts_at__gt=now).count() == 2
    # attendance taken at each past session (some absent), none at those ahead
    taken = GroupAttendance.objects.filter(session__series=autumn)
    assert set(taken.values_list("session__number", flat=True)) == {1, 2, 3, 4}
    assert taken.filter(status="attended").exists()
    spring_attendance = GroupAttendance.objects.filter(session__series=spring)
    assert {"attended", "absent"} <= set(spring_attendance.values_list("status", flat=True))
    # and a spring patient who missed session 4 made it up in the autumn series
    makeup = GroupAttendance.objects.get(makeup_for__isnull=False)
    assert makeup.session.series == autumn and makeup.makeup_for.series == spring
    assert makeup.session.number == makeup.makeup_for.number == 4
    assert spring_attendance.get(enrolment=makeup.enrolment, session__number=4).status == "absent"
    # spring's roster completed the series; every enrolled patient has a diabetes case
    assert set(spring.enrolments.values_list("status", flat=True)) == {"completed"}
    assert all(e.case.program.code == "diabetes" for e in GroupEnrolment.objects.all())
    # and the English series runs as well
    assert english.sessions.count() == 6


def test_todays_diabetes_gaps_have_cases_assigned_by_language(demo):
    # Every patient in a diabetes gap today has an open case, from the care-gap list
    gaps = CareGap.objects.filter(program__code="diabetes", status__in=GAP_STATUSES)
    assert gaps.exists()
    cases = NavigationCase.objects.filter(program__code="diabetes", status__in=OPEN_STATUSES)
    assert set(gaps.values_list("patient_id", flat=True)) <= set(
        cases.values_list("patient_id", flat=True)
    )
    assert not cases.filter(navigator__isnull=True).exists()
