"""The daily reminder task through a real Celery worker, a real Redis and PostgreSQL.

The test process writes committed rows to the test database, starts `celery worker` as a
subprocess pointed at that database and at a Redis database of its own, and sends the
task by name, as beat would. The worker creates the reminders and enqueues one email task
per reminder on commit; that second hop goes through Redis and the worker too.
"""

from __future__ import annotations

import datetime as dt
import email
import re
import time
from pathlib import Path

import pytest
from django.utils import timezone

from outreach.models import FollowUpReminder
from tests import factories
from tests.support.celery_worker import SITE_URL, messages_waiting, wait_for

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.redis,
    # The worker only sees committed rows. The flush after this test empties the seeded
    # programs and barriers; serialized_rollback restores them before it starts, whatever
    # ran earlier (pytest-django runs transactional tests after all the others).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DAILY_TASK = "outreach.tasks.create_follow_up_reminders"
EMAIL_TASK = "outreach.tasks.send_follow_up_reminder_email"


# --- Reading what the worker did ------------------------------------------------------------


def sent_messages(mail_dir: Path) -> list[email.message.Message]:
    """The messages Django's file-based email backend wrote (several may share a file)."""
    separator = b"\n" + b"-" * 79 + b"\n"
    messages = []
    for path in sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []:
        for chunk in path.read_bytes().split(separator):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk))
    return messages


def body(message: email.message.Message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def reminders_state() -> str:
    """What the database holds, without PHI: ids and dates only."""
    rows = FollowUpReminder.objects.order_by("pk").values_list("case_id", "due_on", "emailed_at")
    return f"reminders (case, due, emailed): {list(rows)}"


# --- The test -------------------------------------------------------------------------------


def test_it_reminds_each_due_case_once_through_a_real_worker(
    worker, celery_client, worker_redis_url
):
    # Given a navigator with an email, two open cases due (today, overdue) and one not yet
    navigator = factories.NavigatorFactory()
    assert navigator.user.email
    today = timezone.localdate()
    due = [
        factories.CaseFactory(navigator=navigator, next_follow_up=today),
        factories.CaseFactory(navigator=navigator, next_follow_up=today - dt.timedelta(days=3)),
    ]
    future = factories.CaseFactory(navigator=navigator, next_follow_up=today + dt.timedelta(1))
    patients = [case.patient for case in [*due, future]]
    for number, patient in enumerate(patients):
        patient.given_name, patient.family_name = f"Marisol{number}", f"Quintanilla{number}"
        patient.save(update_fields=["given_name", "family_name"])

    def describe() -> str:
        return f"{reminders_state()}\n{worker.describe()}"

    # When the daily task is sent by name to the worker, as beat sends it
    started_at = time.monotonic()
    first = celery_client.send_task(DAILY_TASK)

    # Then the worker creates the two reminders and, through a second task each, emails them
    def all_emailed() -> bool:
        reminders = list(FollowUpReminder.objects.all())
        return len(reminders) >= 2 and all(r.emailed_at for r in reminders)

    wait_for(all_emailed, "two reminders, emailed", describe)
    round_trip = time.monotonic() - started_at
    assert worker.succeeded(first.id) == "2", describe()

    reminders = list(FollowUpReminder.objects.all())
    assert sorted(r.case_id for r in reminders) == sorted(case.pk for case in due), describe()
    assert not FollowUpReminder.objects.filter(case=future).exists()
    assert {r.due_on for r in reminders} == {today}
    assert all(r.navigator_id == navigator.pk for r in reminders)
    assert all(r.emailed_at is not None for r in reminders)

    # And exactly two emails went to the navigator, each with its case's link, no patient named
    messages = sent_messages(worker.mail_dir)
    assert len(messages) == 2, describe()
    assert all(message["To"] == navigator.user.email for message in messages)
    links = sorted(re.findall(rf"{re.escape(SITE_URL)}/cases/(\d+)/", "".join(map(body, messages))))
    assert links == sorted(str(case.pk) for case in due)
    identifiers = [
        value
        for patient in patients
        for value in (patient.given_name, patient.family_name, patient.mrn)
    ]
    naming_a_patient = [
        index
        for index, message in enumerate(messages)
        if any(value in body(message) or value in message["Subject"] for value in identifiers)
    ]
    assert naming_a_patient == [], "an email names a patient (minimum necessary)"

    # When the daily task is sent twice more the same day
    again = [celery_client.send_task(DAILY_TASK), celery_client.send_task(DAILY_TASK)]

    # Then the worker runs both, and they create nothing
    wait_for(
        lambda: all(worker.succeeded(result.id) is not None for result in again),
        "the repeated daily tasks to finish",
        describe,
    )
    assert [worker.succeeded(result.id) for result in again] == ["0", "0"], describe()
    # And nothing more was queued (an email task would be, on commit, before they returned)
    time.sleep(0.5)
    assert messages_waiting(worker_redis_url) == 0, describe()
    assert FollowUpReminder.objects.count() == 2, describe()
    assert len(sent_messages(worker.mail_dir)) == 2, describe()
    assert worker.log().count(f"Task {EMAIL_TASK}[") == 2 * 2, describe()  # received, succeeded

    print(f"worker round trip (daily task, 2 reminders, 2 emails): {round_trip:.2f}s")
