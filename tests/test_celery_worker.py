"""The daily reminder task through a real Celery worker, a real Redis and PostgreSQL.

The test process writes committed rows to the test database, starts `celery worker` as a
subprocess pointed at that database and at a Redis database of its own, and sends the
task by name, as beat would. The worker creates the reminders and enqueues one email task
per reminder on commit; that second hop goes through Redis and the worker too.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from outreach.models import FollowUpReminder
from tests import factories

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
SITE_URL = "https://equinav.test"
WAIT_SECONDS = 30
# Redis databases this test may take for its own, highest first; one is locked per run.
REDIS_DATABASES = range(15, 7, -1)
REDIS_LOCK_KEY = "equinav:test-celery-worker:lock"


def wait_for(condition: Callable[[], object], what: str, describe: Callable[[], str]):
    """Poll `condition` until it is truthy, for at most WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {WAIT_SECONDS}s waiting for {what}\n{describe()}")


# --- Fixtures: a Redis database, a worker, a client -----------------------------------------


@pytest.fixture
def worker_redis_url(require_redis) -> Iterator[str]:
    """A Redis URL on a database number locked for this run, emptied before and after."""
    import redis

    base = urlparse(require_redis)
    token = uuid.uuid4().hex
    for number in REDIS_DATABASES:
        url = urlunparse(base._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        try:
            locked = client.set(REDIS_LOCK_KEY, token, nx=True, ex=600)
        except redis.ResponseError:  # the server has fewer databases than that
            client.close()
            continue
        if locked:
            break
        client.close()
    else:
        pytest.fail(f"no free Redis database among {list(REDIS_DATABASES)}")
    # Empty what a crashed earlier run may have left, but keep the lock.
    for key in client.scan_iter():
        if key != REDIS_LOCK_KEY.encode():
            client.delete(key)
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def worker_database_url() -> str:
    """A URL for the database this test process uses: Django's test database."""
    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


@dataclass
class Worker:
    process: subprocess.Popen
    node_name: str
    log_path: Path
    mail_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def describe(self) -> str:
        state = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
        return f"--- worker {self.node_name} ({state}) output ---\n{self.log()}"

    def succeeded(self, task_id: str) -> str | None:
        """The result a task's success line in the log shows, or None before it succeeded."""
        pattern = rf"\[{re.escape(task_id)}\] succeeded in [\d.]+s: (.*)$"
        match = re.search(pattern, self.log(), re.MULTILINE)
        return match.group(1) if match else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a warm shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def celery_client(worker_redis_url) -> Iterator[Celery]:
    """A bare Celery app on the worker's broker: sends by name, as beat does."""
    client = Celery("equinav-test-client", broker=worker_redis_url, set_as_current=False)
    client.conf.broker_connection_retry_on_startup = True
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def worker(
    require_postgres, transactional_db, worker_redis_url, celery_client, tmp_path
) -> Iterator[Worker]:
    """A `celery worker` process on the test database; stopped before the database is flushed.

    It depends on transactional_db, so its teardown (stopping the worker, closing its
    database connection) runs before pytest-django flushes the database.
    """
    node_name = f"equinav-test-{uuid.uuid4().hex[:8]}@localhost"
    mail_dir = tmp_path / "mail"
    log_path = tmp_path / "worker.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "DJANGO_", "DATABASE_", "REDIS_", "EMAIL_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="celery-worker-test-key-not-used-anywhere-else",
        DEBUG="0",
        ALLOWED_HOSTS="localhost",
        DATABASE_URL=worker_database_url(),
        # Connections close after each task: none is left open when the test flushes.
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=worker_redis_url,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        EQUINAV_RUN_DIR=str(tmp_path / "run"),
        EQUINAV_SITE_URL=SITE_URL,
        TIME_ZONE=settings.TIME_ZONE,
        PYTHONUNBUFFERED="1",
    )
    # The settings read no queue name: the worker consumes the default queue ("celery"),
    # which is isolated by the Redis database number.
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--loglevel=INFO", "--without-heartbeat", "--without-gossip",
        "--without-mingle", "-n", node_name,
    ]  # fmt: skip
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    started = Worker(process=process, node_name=node_name, log_path=log_path, mail_dir=mail_dir)
    try:

        def answers_ping() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the worker exited while starting\n{started.describe()}")
            return bool(celery_client.control.ping(destination=[node_name], timeout=0.5))

        wait_for(answers_ping, "the worker to answer a ping", started.describe)
        yield started
    finally:
        started.stop()


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


def messages_waiting(redis_url: str) -> int:
    """Messages in the worker's queue or delivered to it and not yet acknowledged."""
    import redis

    with redis.Redis.from_url(redis_url) as client:
        # kombu's Redis transport: a list per queue, a hash of unacknowledged messages
        return client.llen("celery") + client.hlen("unacked")


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
