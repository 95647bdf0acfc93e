"""The sweep hands claimed messages to workers in batches: each still sent exactly once."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from outreach import tasks
from outreach.messaging.schedule import message_schedule
from outreach.messaging.send import MessageOutcome, messages_send
from outreach.messaging.sms_backends import FileBackend
from outreach.messaging.sweep import messages_claim_due, messages_dispatch_due
from outreach.models import MessageState, PatientMessage
from tests import factories

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
NOON = dt.datetime(2026, 12, 2, 12, 0, tzinfo=NEW_YORK)
CONTEXT = {
    "first_name": "Rosa", "appointment_date": "3 Dec", "appointment_time": "9:30",
    "site": "Chelsea", "program_phone": "(617) 555-0111", "organization": "EquiNav",
    "navigator_name": "María",
}  # fmt: skip


@pytest.fixture
def sms_file(settings, tmp_path):
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.FileBackend"
    settings.EQUINAV_SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return FileBackend(tmp_path / "sms.jsonl")


def due_messages(count: int) -> list[PatientMessage]:
    """One due SMS reminder for each of `count` consenting patients in New York."""
    messages = []
    for index in range(count):
        patient = factories.PatientFactory(
            sms_consent=True, time_zone="America/New_York", phone=f"+1617555{index:04d}"
        )
        message, _ = message_schedule(
            patient=patient, kind="appointment_reminder", channel="sms", rule_key="appt-1d",
            subject_key=f"appointment:{index}", due_at=NOON, context=CONTEXT,
        )  # fmt: skip
        messages.append(message)
    return messages


def test_a_batch_task_run_twice_sends_each_of_its_messages_once(sms_file):
    # Given three claimed messages
    messages = due_messages(3)
    ids = messages_claim_due(now=NOON)
    assert sorted(ids) == sorted(m.pk for m in messages)

    # When their batch task runs, and then runs again (redelivered by the broker)
    first = messages_send(message_ids=ids, now=NOON)
    again = messages_send(message_ids=ids, now=NOON)

    # Then each went out once, and the second run skipped them all
    assert first == {MessageOutcome.SENT: 3}
    assert again == {MessageOutcome.SKIPPED: 3}
    assert sorted(sent["to"] for sent in sms_file.read_all()) == sorted(
        m.recipient for m in messages
    )
    assert set(PatientMessage.objects.values_list("state", flat=True)) == {MessageState.SENT}


def test_a_message_whose_batch_task_was_lost_is_claimed_again_after_its_lease_and_sent_once(
    sms_file, settings
):
    # Given two messages claimed by a sweep whose batch task the broker lost
    settings.EQUINAV_MESSAGE_LEASE_SECONDS = 600
    messages = due_messages(2)
    lost = messages_claim_due(now=NOON)
    assert len(lost) == 2

    # When the sweep runs again within the lease, then after it
    within = messages_claim_due(now=NOON + dt.timedelta(seconds=599))
    after = messages_claim_due(now=NOON + dt.timedelta(seconds=601))

    # Then nobody claims them within it; after it they are claimed again, and their
    # new batch task sends each once
    assert within == []
    assert sorted(after) == sorted(m.pk for m in messages)
    outcome = messages_send(message_ids=after, now=NOON + dt.timedelta(seconds=602))
    assert outcome == {MessageOutcome.SENT: 2}
    assert len(sms_file.read_all()) == 2


def test_the_sweep_enqueues_one_task_per_batch_of_messages_after_each_claim_commits(
    sms_file, settings, django_capture_on_commit_callbacks, time_machine
):
    # Given five due messages, sent three to a task, claimed two at a time
    time_machine.move_to(NOON, tick=False)
    settings.EQUINAV_SEND_TASK_BATCH = 3
    messages = due_messages(5)

    # When the sweep runs (the test settings run the tasks at once, in this process)
    task = tasks.send_patient_messages
    with (
        mock.patch.object(task, "apply_async", wraps=task.apply_async) as published,
        django_capture_on_commit_callbacks(execute=True),
    ):
        dispatched = messages_dispatch_due(enqueue=tasks.enqueue_sends, batch=2)

    # Then each claimed batch (2, 2, 1) went to one task carrying its ids, and every
    # message was sent once
    assert dispatched == 5
    batches = [call.args[0][0] for call in published.call_args_list]
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert sorted(pk for batch in batches for pk in batch) == sorted(m.pk for m in messages)
    assert len(sms_file.read_all()) == 5


def test_a_claimed_batch_larger_than_a_task_is_split_across_tasks_published_on_commit(
    settings, django_capture_on_commit_callbacks
):
    # Given seven claimed message ids and tasks of three
    settings.EQUINAV_SEND_TASK_BATCH = 3

    # When they are enqueued, nothing is published until the transaction commits
    with (
        mock.patch.object(tasks.send_patient_messages, "apply_async") as published,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        tasks.enqueue_sends([1, 2, 3, 4, 5, 6, 7])
        assert published.call_count == 0

    # Then, once it has, three tasks carry them, in order, each id once
    assert len(callbacks) == 1
    assert [call.args[0] for call in published.call_args_list] == [
        ([1, 2, 3],),
        ([4, 5, 6],),
        ([7],),
    ]


@pytest.mark.parametrize("count", [2, 6])
def test_claiming_a_batch_takes_three_queries_whatever_its_size(count, django_assert_num_queries):
    # Given `count` due messages
    due_messages(count)

    # When a batch is claimed, its queries are the same for 2 as for 6 messages
    # (the savepoints are the test's transaction; the sweep runs in none):
    # 1. SAVEPOINT
    # 2. SELECT ... FOR UPDATE SKIP LOCKED: "sending" past their lease (none here)
    # 3. SELECT ... FOR UPDATE SKIP LOCKED: "scheduled" and due, oldest first
    # 4. UPDATE them to "sending", claimed now
    # 5. RELEASE SAVEPOINT
    with django_assert_num_queries(5):
        ids = messages_claim_due(now=NOON, limit=10)
    assert len(ids) == count


def test_enqueueing_a_claimed_batch_makes_no_query(
    django_assert_num_queries, django_capture_on_commit_callbacks, settings
):
    settings.EQUINAV_SEND_TASK_BATCH = 2
    with (
        mock.patch.object(tasks.send_patient_messages, "apply_async"),
        django_capture_on_commit_callbacks(execute=True),
        # The ids are all a task needs: nothing is read to publish them.
        django_assert_num_queries(0),
    ):
        tasks.enqueue_sends([1, 2, 3, 4, 5])


@pytest.mark.parametrize("count", [1, 3])
def test_a_batch_task_makes_the_same_queries_for_each_of_its_messages(
    count, sms_file, django_assert_num_queries
):
    # Given `count` claimed messages
    due_messages(count)
    ids = messages_claim_due(now=NOON)

    # When their batch task sends them, each message costs the same queries,
    # in its own transaction (a savepoint inside the test's):
    # 1. SAVEPOINT
    # 2. SELECT the message FOR UPDATE SKIP LOCKED, with its patient
    # 3. SELECT whether the number texted STOP
    # 4. SELECT the patient's messages sent this week (the caps)
    # 5. UPDATE the message: sent
    # 6. RELEASE SAVEPOINT
    with django_assert_num_queries(6 * count):
        assert messages_send(message_ids=ids, now=NOON) == {MessageOutcome.SENT: count}
