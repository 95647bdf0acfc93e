"""Patient texts under faults, through real Celery workers, a real Redis and PostgreSQL.

Each test commits rows to the test database, starts `celery worker` subprocesses on it
(tests/support/celery_worker.py), breaks something on the way (a worker killed mid-task, a
transaction rolled back, Redis restarted with tasks queued, a failing provider, two
workers sweeping at once, a patient opting out) and checks what the patients got: every
due text exactly once, or none where none may go.

Texts go to `outreach.messaging.sms_backends.FileBackend`, which delivers an idempotency
key once, as a provider honouring the key would, and notes each repeat: so "sent twice"
(two lines) is told apart from "a task ran twice" (a repeat the key absorbed).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from outreach.messaging.schedule import message_schedule
from outreach.messaging.sms_backends import FileBackend
from outreach.messaging.sweep import messages_dispatch_due
from outreach.models import MessageState, PatientMessage, SmsOptOut
from patients.models import Clinic, Patient, PatientPhone
from tests.support.celery_worker import Worker, celery_client_for, messages_waiting, wait_for
from tests.support.services import need

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.redis,
    # Workers only see committed rows; serialized_rollback restores the seed data
    # (templates, programs) that the flush after each test empties.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SEND_TASK = "outreach.tasks.send_patient_message"
# What the sweep enqueues: one task per batch of claimed messages.
BATCH_SEND_TASK = "outreach.tasks.send_patient_messages"
SWEEP_TASK = "outreach.tasks.sweep_patient_messages"
# Zones to pick the patients' from: one where it is now 9:00-19:59, well inside the
# hours texts may go out (8:00-21:00), so no text is deferred to tomorrow.
ZONES = (
    "America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney",
    "Pacific/Honolulu", "Asia/Kolkata", "America/Los_Angeles", "Europe/Berlin",
    "Asia/Dubai", "America/Sao_Paulo", "Asia/Singapore", "Pacific/Auckland",
)  # fmt: skip
CONTEXT = {
    "first_name": "Rosa", "appointment_date": "3 Dec", "appointment_time": "9:30",
    "site": "Chelsea", "program_phone": "(617) 555-0111", "organization": "EquiNav",
    "navigator_name": "María",
}  # fmt: skip


# --- Helpers ------------------------------------------------------------------------------


def daytime_zone() -> str:
    """A real IANA zone where the local hour is now between 9 and 19."""
    now = timezone.now()
    for name in ZONES:
        if 9 <= now.astimezone(ZoneInfo(name)).hour <= 19:
            return name
    pytest.fail(f"no zone among {ZONES} is in daytime at {now:%H:%M} UTC")


def sms_env(path: Path, **extra: str) -> dict[str, str]:
    return {
        "EQUINAV_SMS_BACKEND": "outreach.messaging.sms_backends.FileBackend",
        "EQUINAV_SMS_FILE_PATH": str(path),
        **extra,
    }


def patients_with_mobiles(count: int, *, zone: str, prefix: str = "P") -> list[Patient]:
    """`count` committed patients with SMS consent and a mobile each, in bulk."""
    clinic, _ = Clinic.objects.get_or_create(code="faults", defaults={"name": "Faults Clinic"})
    patients = Patient.objects.bulk_create(
        Patient(
            clinic=clinic, mrn=f"{prefix}{index:05d}", given_name="Test", family_name=f"P{index}",
            birth_date=dt.date(1970, 1, 1), sex="female", preferred_language="en",
            sms_consent=True, sms_consent_at=timezone.now(), time_zone=zone,
        )
        for index in range(count)
    )  # fmt: skip
    PatientPhone.objects.bulk_create(
        PatientPhone(patient=patient, number=mobile(index), kind="mobile")
        for index, patient in enumerate(patients)
    )
    return patients


def mobile(index: int) -> str:
    """A distinct mobile number per index (up to 10,000), E.164."""
    return f"+1617555{index:04d}"


def due_messages(patients: list[Patient], *, rule_key: str = "fault-1") -> list[PatientMessage]:
    """One committed SMS reminder per patient, due a minute ago, waiting in "scheduled"."""
    due_at = timezone.now() - dt.timedelta(minutes=1)
    mobiles = mobiles_of(patients)
    return PatientMessage.objects.bulk_create(
        PatientMessage(
            patient=patient, kind="appointment_reminder", channel="sms",
            recipient=mobiles[patient.pk], language="en",
            body="A reminder of your appointment tomorrow at 9:30.",
            rule_key=rule_key, subject_key=f"appointment:{patient.pk}",
            slot=due_at.astimezone(ZoneInfo(patient.time_zone)).date(),
            due_at=due_at, state=MessageState.SCHEDULED, idempotency_key=uuid.uuid4(),
        )
        for patient in patients
    )  # fmt: skip


def mobiles_of(patients: list[Patient]) -> dict[int, str]:
    """Each patient's mobile number, E.164."""
    phones = PatientPhone.objects.filter(patient__in=patients, kind="mobile")
    return {phone.patient_id: str(phone.number) for phone in phones}


def states() -> dict[str, int]:
    return dict(Counter(PatientMessage.objects.values_list("state", flat=True)))


def tail(worker: Worker, lines: int = 40) -> str:
    state = "running" if worker.process.poll() is None else f"exited {worker.process.returncode}"
    text = "\n".join(worker.log().splitlines()[-lines:])
    return f"--- worker {worker.node_name} ({state}), last {lines} lines ---\n{text}"


def describer(sms: FileBackend, workers: list[Worker]):
    def describe() -> str:
        lines = sms.read_all()
        keys = Counter(line["idempotency_key"] for line in lines)
        twice = sum(1 for n in keys.values() if n > 1)
        return "\n".join(
            [
                f"message states: {states()}",
                f"texts: {len(lines)} lines, {len(keys)} keys, {twice} keys twice, "
                f"{len(sms.repeats())} repeats absorbed",
                *(tail(worker) for worker in workers),
            ]
        )

    return describe


def received(workers: list[Worker], task: str = SEND_TASK) -> int:
    return sum(worker.received(task) for worker in workers)


def all_in(state: str, count: int) -> bool:
    return PatientMessage.objects.filter(state=state).count() == count


# --- 1. Workers killed mid-task -------------------------------------------------------------


# The killed-worker test: 25 batches of 16 reminders. What it proves (each sent exactly
# once through three kills, at a quarter, half and three quarters, one batch task per
# claimed batch) needs as many batches, not as many rows: 1,000 in batches of 40 gave the
# same 25 batches and took about 30 s.
REMINDERS = 400
FAULT_BATCH = 16


def test_hundreds_of_reminders_all_go_out_once_though_the_worker_is_killed_three_times(
    start_worker, celery_client, tmp_path, capsys
):
    # Given 400 reminders due now, each to its own patient, and a worker whose broker
    # hands a dead worker's unacknowledged tasks on after 3 s and whose sweep reclaims a
    # message left "sending" for 3 s
    patients = patients_with_mobiles(REMINDERS, zone=daytime_zone())
    messages = due_messages(patients)
    sms = FileBackend(tmp_path / "sms.jsonl")
    env = sms_env(
        sms.path,
        CELERY_VISIBILITY_TIMEOUT="3",
        EQUINAV_MESSAGE_LEASE_SECONDS="3",
        # A sweep claims one batch of 16 (well within what a worker sends in the 3 s lease).
        EQUINAV_SWEEP_BATCH=str(FAULT_BATCH),
        EQUINAV_SWEEP_SECONDS="0",
        # Each pool process keeps its connection (a killed one's dies with it).
        DATABASE_CONN_MAX_AGE="60",
    )
    workers = [start_worker(env=env, pool="prefork", concurrency=4)]
    describe = describer(sms, workers)

    # When the sweep is sent by name, as beat would (every quarter second while fewer
    # than 20 tasks wait, like a beat whose period keeps pace with the workers), and the
    # worker's whole process group is SIGKILLed (the tasks in flight die unacknowledged)
    # when a quarter, half and three quarters of the texts are out, and started again
    kill_at = [REMINDERS // 4, REMINDERS // 2, REMINDERS * 3 // 4]
    kills = []
    sweeps = 0
    started = time.monotonic()
    deadline = started + 150
    while not all_in(MessageState.SENT, REMINDERS):
        if time.monotonic() > deadline:
            pytest.fail(f"not all sent in 150 s\n{describe()}")
        if messages_waiting(celery_client.conf.broker_url) < 20:
            celery_client.send_task(SWEEP_TASK)
            sweeps += 1
        out = len(sms.read_all())
        if kill_at and out >= kill_at[0]:
            workers[-1].kill()
            kills.append((kill_at.pop(0), out, states().get(MessageState.SENDING, 0)))
            workers.append(start_worker(env=env, pool="prefork", concurrency=4))
        time.sleep(0.25)
    elapsed = time.monotonic() - started

    # Then every reminder is sent, and the provider got each exactly once: 0 lost, 0 twice
    assert len(kills) == 3, describe()
    rows = PatientMessage.objects.all()
    assert rows.count() == REMINDERS
    assert all(row.state == MessageState.SENT and row.sent_at for row in rows), describe()
    lines = sms.read_all()
    keys = [line["idempotency_key"] for line in lines]
    assert len(lines) == REMINDERS, describe()
    assert len(set(keys)) == REMINDERS, describe()
    assert set(keys) == {str(message.idempotency_key) for message in messages}
    # And what the key absorbed were tasks for messages already delivered
    assert set(sms.repeats()) <= set(keys)

    # The sweep hands each claimed batch (16 here) to one batch task: at least 25 ran
    executions = received(workers, BATCH_SEND_TASK)
    assert executions >= REMINDERS // FAULT_BATCH, describe()
    with capsys.disabled():
        print(
            f"\n[faults] {REMINDERS} reminders, 3 SIGKILLs (at sent/sending: "
            f"{', '.join(f'{out}/{sending}' for _, out, sending in kills)}): "
            f"{executions} batch send-task executions, {len(sms.repeats())} repeats absorbed by "
            f"the idempotency key, {sweeps} sweeps, {elapsed:.1f}s (worker startups "
            f"{', '.join(f'{w.startup_seconds:.1f}s' for w in workers)})"
        )


# --- 2. Transactions that roll back ---------------------------------------------------------


class RolledBack(Exception):
    """Raised inside a transaction to roll it back."""


@pytest.fixture
def django_app_on(worker_redis_url) -> Iterator[str]:
    """Django's Celery app (config.celery.app, what `.delay()` uses in this process) sending
    to the worker's Redis database, then back to what it was.

    The test settings run tasks eagerly, in this process: that is turned off. The app
    caches its broker connection pool and producer pool, built from the broker URL on
    first use, and kombu keeps them in its process-wide registry keyed by that URL: both
    are closed and dropped, from the app and from the registry, on the way in and out,
    so the next send builds them again from the URL then current. (Closing them but
    leaving them registered handed every later test on the same URL a closed pool.)
    """
    from kombu import pools

    from config.celery import app

    def drop_pools() -> None:
        pools.reset()  # closes every registered pool and forgets them
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url, app.conf.task_always_eager
    drop_pools()
    app.conf.broker_url, app.conf.task_always_eager = worker_redis_url, False
    try:
        yield worker_redis_url
    finally:
        drop_pools()
        app.conf.broker_url, app.conf.task_always_eager = previous


def schedule_due_now(patient: Patient) -> PatientMessage:
    message, created = message_schedule(
        patient=patient, kind="appointment_reminder", channel="sms", rule_key="appt-now",
        subject_key=f"appointment:{patient.pk}", due_at=timezone.now(), context=CONTEXT,
    )  # fmt: skip
    assert created and message.state == MessageState.SCHEDULED, message.state_reason
    return message


def test_a_rolled_back_transaction_sends_nothing_and_a_committed_one_sends_once(
    start_worker, celery_client, django_app_on, tmp_path
):
    # Given 100 patients who may be texted now, and a worker on the broker this process
    # enqueues to
    patients = patients_with_mobiles(100, zone=daytime_zone())
    sms = FileBackend(tmp_path / "sms.jsonl")
    worker = start_worker(env=sms_env(sms.path))
    describe = describer(sms, [worker])

    # When 100 transactions schedule a text due now (enqueued on commit) and roll back
    for patient in patients:
        with pytest.raises(RolledBack), transaction.atomic():
            schedule_due_now(patient)
            raise RolledBack

    # Then nothing was queued: a sweep sent behind them (the queue is FIFO, the worker
    # takes one task at a time) finds nothing due, and no send task reached the worker
    sweep = celery_client.send_task(SWEEP_TASK)
    wait_for(lambda: worker.succeeded(sweep.id) is not None, "the sweep", describe)
    assert worker.succeeded(sweep.id) == "0", describe()
    assert worker.received(SEND_TASK) == worker.received(BATCH_SEND_TASK) == 0, describe()
    assert messages_waiting(django_app_on) == 0
    assert PatientMessage.objects.count() == 0
    assert sms.read_all() == []

    # When 100 transactions schedule the same texts and commit
    for patient in patients:
        with transaction.atomic():
            schedule_due_now(patient)

    # Then each commit enqueued one task, and each patient got one text
    wait_for(lambda: all_in(MessageState.SENT, 100), "100 texts sent", describe)
    wait_for(lambda: worker.received(SEND_TASK) >= 100, "100 send tasks", describe)
    time.sleep(0.5)  # room for a 101st task to show
    assert worker.received(SEND_TASK) == 100, describe()
    assert PatientMessage.objects.count() == 100
    lines = sms.read_all()
    assert len(lines) == 100, describe()
    assert {line["idempotency_key"] for line in lines} == {
        str(key) for key in PatientMessage.objects.values_list("idempotency_key", flat=True)
    }
    assert sorted(line["to"] for line in lines) == sorted(mobiles_of(patients).values())
    assert sms.repeats() == []


# --- 3. Redis restarted with tasks queued -----------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own, without persistence: a restart loses the queue."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(  # noqa: S603
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                with redis.Redis.from_url(self.url, socket_timeout=0.5) as client:
                    return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, "the private Redis to answer", lambda: f"redis on {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    executable = shutil.which("redis-server")
    need("redis-server", executable is not None, "it is not on PATH")
    server = PrivateRedis(executable, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def send_by_name(client, ids: list[int]) -> None:
    for message_id in ids:
        client.send_task(SEND_TASK, args=[message_id])


def test_texts_whose_tasks_redis_lost_in_a_restart_go_out_once_after_their_lease(
    start_worker, private_redis, tmp_path, capsys
):
    # Given 50 due texts the sweep has claimed ("sending") and queued a task each for,
    # in a Redis without persistence, while no worker runs
    patients = patients_with_mobiles(50, zone=daytime_zone())
    messages = due_messages(patients)
    client = celery_client_for(private_redis.url)
    try:
        dispatched = messages_dispatch_due(enqueue=lambda ids: send_by_name(client, ids))
    finally:
        client.close()
    assert dispatched == 50
    assert all_in(MessageState.SENDING, 50)
    assert messages_waiting(private_redis.url) == 50

    # When Redis is killed and started again: the queued tasks are gone
    private_redis.kill()
    private_redis.start()
    assert messages_waiting(private_redis.url) == 0

    # And a worker starts whose sweep reclaims a text "sending" for more than 2 s, and
    # the sweep is sent every half second
    sms = FileBackend(tmp_path / "sms.jsonl")
    worker = start_worker(
        env=sms_env(sms.path, EQUINAV_MESSAGE_LEASE_SECONDS="2"), redis_url=private_redis.url
    )
    describe = describer(sms, [worker])
    client = celery_client_for(private_redis.url)
    try:
        deadline = time.monotonic() + 30
        while not all_in(MessageState.SENT, 50):
            if time.monotonic() > deadline:
                pytest.fail(f"not all sent in 30 s\n{describe()}")
            client.send_task(SWEEP_TASK)
            time.sleep(0.5)
    finally:
        client.close()

    # Then every text went out, exactly once, on its first try
    lines = sms.read_all()
    assert len(lines) == 50, describe()
    assert {line["idempotency_key"] for line in lines} == {
        str(message.idempotency_key) for message in messages
    }
    assert sms.repeats() == [], describe()
    assert set(PatientMessage.objects.values_list("tries", flat=True)) == {1}
    with capsys.disabled():
        print(
            f"\n[faults] Redis restart: 50 lost tasks, {worker.received(SEND_TASK)} "
            f"send-task executions after the restart"
        )


# --- 4. A provider that fails, then hangs, then answers --------------------------------------


class TwilioLike(BaseHTTPRequestHandler):
    """Twilio's Messages API, scripted: each request takes the next (status, delay)."""

    script: list[tuple[int, float]] = []
    requests: list[dict[str, str]] = []

    def do_POST(self):  # noqa: N802 - the http.server naming
        length = int(self.headers["Content-Length"])
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        type(self).requests.append(
            {
                "path": self.path,
                "idempotency": self.headers.get("I-Twilio-Idempotency-Token", ""),
                "authorization": self.headers.get("Authorization", ""),
                "to": form.get("To", ""),
            }
        )
        status, delay = type(self).script.pop(0) if type(self).script else (201, 0.0)
        time.sleep(delay)
        number = len(type(self).requests)
        payload = (
            {"sid": f"SM{number:032d}", "status": "queued"}
            if status == 201
            else {"code": 20500, "message": "Internal Server Error", "status": status}
        )
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting and hung up

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio_like() -> Iterator[tuple[type[TwilioLike], str]]:
    TwilioLike.script, TwilioLike.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), TwilioLike)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TwilioLike, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_text_the_provider_fails_then_times_out_on_is_sent_on_the_third_try_with_one_key(
    start_worker, celery_client, twilio_like
):
    # Given a due text, and a provider that answers 500, then takes longer than the
    # worker waits (1 s), then accepts
    provider, url = twilio_like
    provider.script = [(500, 0.0), (201, 2.5), (201, 0.0)]
    (patient,) = patients_with_mobiles(1, zone=daytime_zone())
    (message,) = due_messages([patient])
    account = "AC" + "0" * 32
    worker = start_worker(
        env={
            "EQUINAV_SMS_BACKEND": "outreach.messaging.sms_backends.TwilioBackend",
            "EQUINAV_SMS_API_URL": url,
            "TWILIO_ACCOUNT_SID": account,
            "TWILIO_AUTH_TOKEN": "fault-test-token",
            "EQUINAV_SMS_FROM": "+16175550000",
            "EQUINAV_SMS_TIMEOUT": "1",
            "EQUINAV_MESSAGE_RETRY_SECONDS": "1",
        }
    )

    def describe() -> str:
        message.refresh_from_db()
        return (
            f"message: {message.state} tries={message.tries} due={message.due_at} "
            f"reason={message.state_reason!r} error={message.last_error!r}\n"
            f"provider requests: {len(provider.requests)}\n{tail(worker)}"
        )

    # When the sweep is sent every half second until the text is sent
    deadline = time.monotonic() + 30
    while not all_in(MessageState.SENT, 1):
        if time.monotonic() > deadline:
            pytest.fail(f"not sent in 30 s\n{describe()}")
        celery_client.send_task(SWEEP_TASK)
        time.sleep(0.5)

    # Then it was sent once, on the third try, and the row keeps the last failure
    message.refresh_from_db()
    assert message.tries == 3, describe()
    assert message.provider_id == f"SM{3:032d}", describe()
    assert "did not answer in time" in message.last_error, describe()
    # And the provider saw three requests, all for this text, all with its idempotency key
    assert len(provider.requests) == 3, describe()
    assert {request["idempotency"] for request in provider.requests} == {
        str(message.idempotency_key)
    }
    assert {request["path"] for request in provider.requests} == {
        f"/2010-04-01/Accounts/{account}/Messages.json"
    }
    assert {request["to"] for request in provider.requests} == {message.recipient}
    assert all(request["authorization"].startswith("Basic ") for request in provider.requests)


# --- 5. Two workers sweeping at once --------------------------------------------------------


def test_two_workers_sweeping_at_once_send_each_of_300_texts_once(
    start_worker, celery_client, tmp_path, capsys
):
    # Given 300 due texts and two workers whose sweeps claim 10 at a time
    patients = patients_with_mobiles(300, zone=daytime_zone())
    messages = due_messages(patients)
    sms = FileBackend(tmp_path / "sms.jsonl")
    env = sms_env(sms.path, EQUINAV_SWEEP_BATCH="10")
    workers = [start_worker(env=env, wait=False), start_worker(env=env, wait=False)]
    for worker in workers:
        worker.wait_ready()
    describe = describer(sms, workers)

    # When the sweep is sent 20 times at once, so both workers sweep at the same time
    sweeps = [celery_client.send_task(SWEEP_TASK) for _ in range(20)]

    def result(task_id: str) -> str | None:
        return next((r for w in workers if (r := w.succeeded(task_id)) is not None), None)

    wait_for(lambda: all_in(MessageState.SENT, 300), "300 texts sent", describe, timeout=60)
    wait_for(lambda: all(result(s.id) is not None for s in sweeps), "the sweeps", describe)

    # Then the sweeps claimed disjoint sets covering all 300, one batch task per
    # claimed batch of 10
    by_worker = [sum(int(r) for r in w.results(SWEEP_TASK)) for w in workers]
    assert sum(by_worker) == 300, describe()
    assert received(workers, BATCH_SEND_TASK) == 30, describe()
    # And every patient got exactly one text
    lines = sms.read_all()
    assert len(lines) == 300, describe()
    assert {line["idempotency_key"] for line in lines} == {
        str(message.idempotency_key) for message in messages
    }
    assert sms.repeats() == [], describe()
    with capsys.disabled():
        print(f"\n[faults] two sweeping workers dispatched {by_worker} of 300")


# --- 6. A patient opting out while texts are queued --------------------------------------------


def test_texts_queued_before_a_patient_opted_out_are_suppressed_not_sent(
    start_worker, celery_client, worker_redis_url, tmp_path
):
    # Given two due texts each for two patients and one for a third, claimed by the sweep
    # with a task queued each, while no worker runs
    withdrawing, stopping, other = patients_with_mobiles(3, zone=daytime_zone())
    opting_out = [
        *due_messages([withdrawing, stopping], rule_key="fault-1"),
        *due_messages([withdrawing, stopping], rule_key="fault-2"),
    ]
    (control,) = due_messages([other], rule_key="fault-1")
    assert messages_dispatch_due(enqueue=lambda ids: send_by_name(celery_client, ids)) == 5
    assert messages_waiting(worker_redis_url) == 5

    # When one patient withdraws consent and the other's number texts STOP
    withdrawing.sms_consent = False
    withdrawing.save(update_fields=["sms_consent"])
    SmsOptOut.objects.create(number=mobiles_of([stopping])[stopping.pk], keyword="STOP")

    # And a worker starts
    sms = FileBackend(tmp_path / "sms.jsonl")
    worker = start_worker(env=sms_env(sms.path))
    describe = describer(sms, [worker])
    wait_for(
        lambda: not PatientMessage.objects.filter(state=MessageState.SENDING).exists(),
        "the queued tasks to run",
        describe,
    )

    # Then none of their texts went out: all four are suppressed, with the reason
    reasons = {
        message.pk: (message.state, message.state_reason)
        for message in PatientMessage.objects.filter(pk__in=[m.pk for m in opting_out])
    }
    expected = {
        message.pk: (
            MessageState.SUPPRESSED,
            "SMS consent withdrawn"
            if message.patient_id == withdrawing.pk
            else "the number texted STOP",
        )
        for message in opting_out
    }
    assert reasons == expected, describe()
    # And only the third patient's text was sent, by the same worker and queue
    control.refresh_from_db()
    assert control.state == MessageState.SENT, describe()
    lines = sms.read_all()
    assert [line["idempotency_key"] for line in lines] == [str(control.idempotency_key)]
    assert worker.received(SEND_TASK) == 5, describe()
