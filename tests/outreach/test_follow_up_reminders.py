"""The daily task: one reminder per due case and day, emailed once, shown on the worklist."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from navigator.cases import case_transition
from navigator.models import CaseStatus
from outreach import tasks
from outreach.models import FollowUpReminder
from outreach.services import follow_up_reminders as services
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_cases(navigator):
    today = timezone.localdate()
    return {
        "today": factories.CaseFactory(navigator=navigator, next_follow_up=today),
        "overdue": factories.CaseFactory(
            navigator=navigator, next_follow_up=today - dt.timedelta(3)
        ),
        "future": factories.CaseFactory(
            navigator=navigator, next_follow_up=today + dt.timedelta(1)
        ),
        "closed": factories.CaseFactory(
            navigator=navigator, next_follow_up=today, status=CaseStatus.DECLINED
        ),
        "unassigned": factories.CaseFactory(
            navigator=None, next_follow_up=today, status=CaseStatus.NEW
        ),
    }


def test_it_creates_one_reminder_per_due_open_assigned_case(
    due_cases, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = tasks.create_follow_up_reminders()

    assert created == 2
    reminded = set(FollowUpReminder.objects.values_list("case_id", flat=True))
    assert reminded == {due_cases["today"].pk, due_cases["overdue"].pk}


def test_running_it_again_the_same_day_creates_and_sends_nothing_more(
    due_cases, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.create_follow_up_reminders()
        tasks.create_follow_up_reminders()
        tasks.create_follow_up_reminders()

    assert FollowUpReminder.objects.count() == 2
    assert len(mail.outbox) == 2


def test_the_next_day_brings_a_new_reminder_for_a_case_still_due(
    due_cases, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.create_follow_up_reminders()
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)), \
            django_capture_on_commit_callbacks(execute=True):  # fmt: skip
        tasks.create_follow_up_reminders()

    # The two due cases and the one that came due overnight, each remembered per day
    assert FollowUpReminder.objects.filter(case=due_cases["overdue"]).count() == 2
    assert FollowUpReminder.objects.filter(case=due_cases["future"]).count() == 1


def test_the_email_goes_to_the_navigator_and_names_no_patient(
    due_cases, navigator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.create_follow_up_reminders()

    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.to == [navigator.user.email]
    case = (
        due_cases["today"]
        if str(due_cases["today"].pk) in message.subject
        else due_cases["overdue"]
    )
    assert f"/cases/{case.pk}/" in message.body
    assert case.patient.family_name not in message.body + message.subject
    assert case.patient.mrn not in message.body + message.subject
    assert FollowUpReminder.objects.filter(emailed_at=None).count() == 0


def test_sending_a_reminder_email_twice_sends_it_once(due_cases):
    (reminder_id,) = services.follow_up_reminders_create(today=timezone.localdate())[:1]

    assert tasks.send_follow_up_reminder_email(reminder_id) is True
    assert tasks.send_follow_up_reminder_email(reminder_id) is False
    assert len(mail.outbox) == 1


def test_no_task_is_enqueued_when_the_transaction_rolls_back(due_cases):
    # Given the reminders are created in a transaction that is rolled back
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        services.follow_up_reminders_create(today=timezone.localdate())
        raise Rollback

    # Then nothing was written and no email went out
    assert FollowUpReminder.objects.count() == 0
    assert mail.outbox == []


def test_the_sweep_resends_emails_whose_task_was_lost(due_cases):
    # Given reminders created with their email tasks lost (on_commit never ran)
    services.follow_up_reminders_create(today=timezone.localdate())
    assert mail.outbox == []

    # When the sweep runs later
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=30)):
        swept = tasks.sweep_unsent_reminder_emails()

    # Then each reminder is emailed once
    assert swept == 2
    assert len(mail.outbox) == 2
    assert tasks.sweep_unsent_reminder_emails() == 0


def test_the_sweep_leaves_dismissed_and_stale_reminders_alone(due_cases):
    # Given two reminders whose email tasks were lost
    first, second = services.follow_up_reminders_create(today=timezone.localdate())
    # One is dismissed: the navigator already acted on the case
    FollowUpReminder.objects.filter(pk=first).update(dismissed_at=timezone.now())

    # When the sweep runs two days later, the other is stale too
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        swept = tasks.sweep_unsent_reminder_emails()

    # Then nothing is emailed days late
    assert swept == 0
    assert mail.outbox == []


def test_logging_an_attempt_dismisses_the_cases_reminder(
    due_cases, navigator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.create_follow_up_reminders()
    case = due_cases["today"]
    client = api_as(navigator.user)
    row = next(r for r in client.get("/api/worklist/").json()["results"] if r["id"] == case.pk)
    assert row["has_pending_reminder"] is True

    client.post(f"/api/cases/{case.pk}/attempts/", {"channel": "phone", "outcome": "reached"})

    row = next(r for r in client.get("/api/worklist/").json()["results"] if r["id"] == case.pk)
    assert row["has_pending_reminder"] is False
    assert FollowUpReminder.objects.get(case=case).dismissed_at is not None


def test_no_email_goes_out_for_a_reminder_dismissed_or_a_case_closed_meanwhile(due_cases):
    # Given two reminders whose emails are still queued
    first, second = services.follow_up_reminders_create(today=timezone.localdate())
    # When one is dismissed and the other's case is closed before the tasks run
    FollowUpReminder.objects.filter(pk=first).update(dismissed_at=timezone.now())
    case = FollowUpReminder.objects.get(pk=second).case
    case_transition(case=case, to_status=CaseStatus.DECLINED, actor=None)

    # Then neither email is sent
    assert tasks.send_follow_up_reminder_email(first) is False
    assert tasks.send_follow_up_reminder_email(second) is False
    assert mail.outbox == []
