"""Navigator tasks and manager escalations: every rule, once per subject, scoped by role."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from navigator.models import CaseEvent, CaseEventKind, CaseStatus
from outreach.messaging.send import message_send
from outreach.models import CaseTask, MessageState, PatientMessage, TaskKind, TaskRule
from outreach.services.navigator_tasks import case_task_done, case_tasks_scan
from tests import factories

# A Tuesday, 15:00 UTC: 10:00 in Boston.
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def case(**kwargs):
    kwargs.setdefault("patient", factories.PatientFactory(time_zone="America/New_York"))
    return factories.CaseFactory(**kwargs)


def tasks(kind: str) -> list[CaseTask]:
    return list(CaseTask.objects.filter(kind=kind))


# --- Prep call ------------------------------------------------------------------------------


def test_it_asks_for_a_prep_call_three_days_before_an_appointment():
    # Given an appointment in two days, booked with no prep call since
    appointment = factories.AppointmentFactory(
        case=case(status=CaseStatus.SCHEDULED),
        scheduled_at=NOW + dt.timedelta(days=2),
        modality=factories.modality("colonoscopy"),
    )

    # When the rules run
    opened = case_tasks_scan()

    # Then its navigator has one prep-call task about that appointment, due today
    [task] = tasks(TaskKind.PREP_CALL)
    assert opened[TaskKind.PREP_CALL] == 1
    assert task.case == appointment.case and not task.for_manager
    assert task.subject_key == f"appointment:{appointment.pk}"
    assert task.due_on == dt.date(2026, 11, 24)
    assert task.summary == "Prep call before Colonoscopy on Thu 26 Nov"


def test_it_asks_for_no_prep_call_when_one_was_logged_after_the_booking():
    appointment = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=2))
    factories.ContactAttemptFactory(case=appointment.case, purpose="prep_call", outcome="reached")

    case_tasks_scan()

    assert tasks(TaskKind.PREP_CALL) == []


def test_it_waits_with_the_prep_call_until_the_rules_days_before():
    # Given an appointment in five days and the default rule of three days
    factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=5))

    case_tasks_scan()

    assert tasks(TaskKind.PREP_CALL) == []


# --- No-show --------------------------------------------------------------------------------


def test_it_asks_to_rebook_a_no_show_the_same_day():
    appointment = factories.AppointmentFactory(
        scheduled_at=NOW - dt.timedelta(hours=2), status="no_show"
    )

    case_tasks_scan()

    [task] = tasks(TaskKind.NO_SHOW)
    assert task.subject_key == f"appointment:{appointment.pk}"
    assert task.summary == "No-show on Tue 24 Nov: call to re-book"
    assert task.due_on == dt.date(2026, 11, 24)


def test_it_asks_nothing_about_a_no_show_already_rebooked():
    missed = factories.AppointmentFactory(
        scheduled_at=NOW - dt.timedelta(hours=2), status="no_show"
    )
    factories.AppointmentFactory(case=missed.case, scheduled_at=NOW + dt.timedelta(days=9))

    case_tasks_scan()

    assert tasks(TaskKind.NO_SHOW) == []


# --- Result missing -------------------------------------------------------------------------


def test_it_chases_a_result_still_missing_seven_days_after_the_appointment():
    appointment = factories.AppointmentFactory(
        case=case(status=CaseStatus.SCHEDULED),
        scheduled_at=NOW - dt.timedelta(days=7, hours=1),
        status="kept",
        modality=factories.modality("colonoscopy"),
    )

    case_tasks_scan()

    [task] = tasks(TaskKind.RESULT_MISSING)
    assert task.subject_key == f"appointment:{appointment.pk}"
    assert "no result after 7 days" in task.summary


def test_it_does_not_chase_a_result_before_seven_days():
    factories.AppointmentFactory(scheduled_at=NOW - dt.timedelta(days=6), status="kept")

    case_tasks_scan()

    assert tasks(TaskKind.RESULT_MISSING) == []


def test_it_does_not_chase_a_result_that_came_back():
    appointment = factories.AppointmentFactory(
        scheduled_at=NOW - dt.timedelta(days=8), status="kept"
    )
    factories.ScreeningEventFactory(
        case=appointment.case, performed_on=(NOW - dt.timedelta(days=8)).date()
    )

    case_tasks_scan()

    assert tasks(TaskKind.RESULT_MISSING) == []


# --- Abnormal result without follow-up -----------------------------------------------------


def test_it_chases_an_abnormal_result_with_no_colonoscopy_booked_after_fourteen_days():
    screening = factories.result_recorded(
        case(status=CaseStatus.CONTACTING), performed_on=dt.date(2026, 11, 10)
    )

    case_tasks_scan()

    [task] = tasks(TaskKind.ABNORMAL_NO_FOLLOW_UP)
    assert task.subject_key == f"screening:{screening.pk}"
    assert task.summary.startswith("Abnormal FIT (fecal immunochemical test) on Tue 10 Nov")
    assert "diagnostic colonoscopy not booked after 14 days (due Sat 9 Jan)" in task.summary


def test_it_leaves_an_abnormal_result_alone_once_the_colonoscopy_is_booked():
    screening = factories.result_recorded(
        case(status=CaseStatus.CONTACTING), performed_on=dt.date(2026, 11, 1)
    )
    factories.AppointmentFactory(
        case=screening.case, purpose="diagnostic", scheduled_at=NOW + dt.timedelta(days=4)
    )

    case_tasks_scan()

    assert tasks(TaskKind.ABNORMAL_NO_FOLLOW_UP) == []


# --- Escalations ----------------------------------------------------------------------------


def test_it_escalates_a_case_with_no_attempt_in_fourteen_days_to_the_managers():
    with time_machine.travel(NOW - dt.timedelta(days=20), tick=False):
        quiet = case()
        factories.ContactAttemptFactory(case=quiet)
    active = case()
    factories.ContactAttemptFactory(case=active, attempted_at=NOW - dt.timedelta(days=3))

    case_tasks_scan()

    [task] = tasks(TaskKind.NO_ATTEMPT)
    assert task.case == quiet and task.for_manager
    assert task.summary.startswith("No contact attempt since Wed 4 Nov (14+ days)")


def test_it_escalates_a_message_that_failed_for_good(django_capture_on_commit_callbacks):
    # Given a text the provider refuses outright
    patient = factories.PatientFactory(
        time_zone="America/New_York", sms_consent=True, phone="+16175550123"
    )
    navigated = case(patient=patient)
    message = PatientMessage.objects.create(
        patient=patient,
        case=navigated,
        kind="appointment_reminder",
        channel="sms",
        recipient="+16175550123",
        language="en",
        body="Hi",
        rule_key="rule:1",
        subject_key="appointment:1",
        slot=NOW.date(),
        due_at=NOW,
    )

    class Refusing:
        def send(self, sms):
            from outreach.messaging.sms_backends import SmsPermanentError

            raise SmsPermanentError("the provider refused the number", code="21211")

    from unittest import mock

    # (the escalation follows the send's commit, in a transaction of its own)
    with (
        mock.patch("outreach.messaging.send.get_sms_backend", return_value=Refusing()),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message_send(message_id=message.pk)

    # Then the managers have an escalation and the timeline says why
    message.refresh_from_db()
    assert message.state == MessageState.FAILED
    [task] = tasks(TaskKind.MESSAGE_FAILED)
    assert task.for_manager and task.subject_key == f"message:{message.pk}"
    assert "the provider refused the number" in task.summary
    assert CaseEvent.objects.filter(case=navigated, kind=CaseEventKind.MESSAGE_FAILED).exists()


# --- Once, and as data ---------------------------------------------------------------------


def test_running_the_rules_twice_opens_each_task_once():
    factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))
    factories.AppointmentFactory(scheduled_at=NOW - dt.timedelta(hours=1), status="no_show")

    first = case_tasks_scan()
    second = case_tasks_scan()

    assert sum(first.values()) == 2
    assert sum(second.values()) == 0
    assert CaseTask.objects.count() == 2


def test_a_rule_switched_off_opens_nothing_and_its_days_are_data():
    factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=5))
    TaskRule.objects.filter(kind=TaskKind.NO_SHOW).update(active=False)
    TaskRule.objects.filter(kind=TaskKind.PREP_CALL).update(days=6)
    factories.AppointmentFactory(scheduled_at=NOW - dt.timedelta(hours=1), status="no_show")

    case_tasks_scan()

    assert len(tasks(TaskKind.PREP_CALL)) == 1
    assert tasks(TaskKind.NO_SHOW) == []


def test_a_closed_case_gets_no_task():
    factories.AppointmentFactory(
        case=case(status=CaseStatus.DECLINED), scheduled_at=NOW + dt.timedelta(days=1)
    )

    case_tasks_scan()

    assert CaseTask.objects.count() == 0


def test_a_new_task_is_on_the_case_timeline():
    appointment = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))

    case_tasks_scan()

    event = CaseEvent.objects.get(case=appointment.case, kind=CaseEventKind.TASK_CREATED)
    assert event.summary.startswith("Task: Prep call before")


# --- Done, and who may see what ------------------------------------------------------------


def test_a_navigator_closes_their_task_with_what_they_did():
    appointment = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))
    case_tasks_scan()
    task = CaseTask.objects.get()
    navigator = appointment.case.navigator.user

    case_task_done(task=task, actor=navigator, note="Went over the prep with her")
    case_task_done(task=task, actor=navigator, note="again")  # already done: no change

    task.refresh_from_db()
    assert task.done_by == navigator and task.done_note == "Went over the prep with her"
    assert CaseEvent.objects.filter(case=task.case, kind=CaseEventKind.TASK_DONE).count() == 1


def test_another_navigator_cannot_close_a_task_on_a_case_they_do_not_work():
    factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))
    case_tasks_scan()
    stranger = factories.NavigatorFactory().user

    with pytest.raises(PermissionDenied):
        case_task_done(task=CaseTask.objects.get(), actor=stranger)

    assert CaseTask.objects.get().done_at is None


def test_the_tasks_api_shows_navigators_their_own_tasks_and_managers_the_escalations():
    # Given a prep call for Ana's case, one for Luis's, and an escalation on Ana's
    ana_case = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1)).case
    factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))
    with time_machine.travel(NOW - dt.timedelta(days=20), tick=False):
        quiet = case(navigator=ana_case.navigator)
    case_tasks_scan()
    api = APIClient()

    # When Ana lists her tasks
    api.force_authenticate(ana_case.navigator.user)
    mine = api.get(reverse("api:task-list")).json()["results"]

    # Then she sees her prep call only: not Luis's, not the escalation about her
    assert [(task["case"], task["kind"]) for task in mine] == [(ana_case.pk, "prep_call")]

    # And a manager sees all three, the escalation among them
    api.force_authenticate(factories.ManagerFactory())
    every = api.get(reverse("api:task-list")).json()["results"]
    assert {(task["case"], task["kind"]) for task in every} >= {(quiet.pk, "no_attempt")}
    assert len(every) == 3


def test_the_tasks_api_closes_a_task_and_refuses_one_outside_the_caseload():
    appointment = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))
    case_tasks_scan()
    task = CaseTask.objects.get()
    api = APIClient()

    api.force_authenticate(factories.NavigatorFactory().user)
    refused = api.post(reverse("api:task-done", args=[task.pk]), {"note": "x"}, format="json")
    api.force_authenticate(appointment.case.navigator.user)
    done = api.post(reverse("api:task-done", args=[task.pk]), {"note": "Called"}, format="json")

    assert refused.status_code == 404
    assert done.status_code == 200 and done.json()["done_note"] == "Called"
    assert dt.datetime.fromisoformat(done.json()["done_at"]) == timezone.now()
