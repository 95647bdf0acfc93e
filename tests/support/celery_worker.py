"""Real Celery workers for tests: a private Redis database, worker processes, a client.

The test process writes committed rows to the pytest-django test database (PostgreSQL),
starts `celery -A config worker` subprocesses pointed at that database and at a Redis
database of their own, and sends tasks by name, as beat would.

The fixtures built on these (`worker_redis_url`, `celery_client`, `start_worker`,
`worker`) are in tests/fixtures/celery_worker.py. A test that uses them needs
`django_db(transaction=True, serialized_rollback=True)`: a worker only sees committed rows.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.conf import settings

from config.celery_queues import QUEUE_NAMES

WAIT_SECONDS = 30
SITE_URL = "https://equinav.test"
# Redis databases a test may take for its own, highest first; one is locked per test.
REDIS_DATABASES = range(15, 7, -1)
REDIS_LOCK_KEY = "equinav:test-celery-worker:lock"
# Variables of the test's own environment a worker must not inherit: it gets its own.
WORKER_ENV_PREFIXES = ("CELERY_", "DJANGO_", "DATABASE_", "REDIS_", "EMAIL_", "EQUINAV_", "TWILIO_")


def wait_for(
    condition: Callable[[], object],
    what: str,
    describe: Callable[[], str],
    timeout: float = WAIT_SECONDS,
    interval: float = 0.2,
):
    """Poll `condition` until it is truthy, for at most `timeout` seconds; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{describe()}")


# --- A Redis database, a client ---------------------------------------------------------------


def celery_client_for(redis_url: str) -> Celery:
    """A bare Celery app on a broker: it sends tasks by name, as beat does."""
    client = Celery("equinav-test-client", broker=redis_url, set_as_current=False)
    client.conf.broker_connection_retry_on_startup = True
    return client


def messages_waiting(redis_url: str) -> int:
    """Messages in the worker's queue or delivered to a worker and not yet acknowledged."""
    import redis

    with redis.Redis.from_url(redis_url) as client:
        # kombu's Redis transport: a list per queue (config/celery_queues.py: the sweep's
        # sends go to "messaging"), a hash of unacknowledged messages
        waiting = sum(client.llen(queue) for queue in QUEUE_NAMES)
        return waiting + client.hlen("unacked")


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


# --- Workers --------------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen
    node_name: str
    log_path: Path
    mail_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    startup_seconds: float = 0.0
    launched_at: float = 0.0
    redis_url: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

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

    def received(self, task_name: str) -> int:
        """How many times the worker took a task of this name from the broker."""
        return len(re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] received", self.log()))

    def results(self, task_name: str) -> list[str]:
        """What each finished task of this name returned, in log order."""
        pattern = rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded in [\d.]+s: (.*)$"
        return re.findall(pattern, self.log(), re.MULTILINE)

    def wait_ready(self) -> Worker:
        """Wait until the worker answers a ping (it consumes from then on); the worker."""
        client = celery_client_for(self.redis_url)
        try:

            def answers_ping() -> bool:
                if self.process.poll() is not None:
                    pytest.fail(f"the worker exited while starting\n{self.describe()}")
                return bool(client.control.ping(destination=[self.node_name], timeout=0.3))

            wait_for(answers_ping, "the worker to answer a ping", self.describe, interval=0.05)
            self.startup_seconds = time.monotonic() - self.launched_at
        except BaseException:
            self.stop()
            raise
        finally:
            client.close()
        return self

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (its pool processes too): whatever
        task is in flight dies with it, unacknowledged, as in a power cut or an OOM kill."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a warm shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        # A pool process its parent left behind (a killed parent cannot reap them).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def launch_worker(
    *,
    redis_url: str,
    directory: Path,
    name: str,
    env: Mapping[str, str] | None = None,
    pool: str = "solo",
    concurrency: int = 1,
    queues: str | None = None,
) -> Worker:
    """Start `celery worker` on the test database and `redis_url` (see Worker.wait_ready);
    `queues`: its `-Q`, as a production worker names its own ("caregaps")."""
    node_name = f"equinav-{name}-{uuid.uuid4().hex[:8]}@localhost"
    mail_dir = directory / "mail"
    log_path = directory / f"worker-{name}.log"
    child_env = {
        key: value for key, value in os.environ.items() if not key.startswith(WORKER_ENV_PREFIXES)
    }
    child_env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="celery-worker-test-key-not-used-anywhere-else",
        DEBUG="0",
        ALLOWED_HOSTS="localhost",
        DATABASE_URL=worker_database_url(),
        # Connections close after each task: none is left open when the test flushes.
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=redis_url,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        EQUINAV_RUN_DIR=str(directory / "run"),
        EQUINAV_SITE_URL=SITE_URL,
        TIME_ZONE=settings.TIME_ZONE,
        PYTHONUNBUFFERED="1",
        # Text lines: the helpers below read task results out of the log with regexes.
        EQUINAV_LOG_FORMAT="text",
    )
    child_env.update(env or {})
    # No -Q unless asked: the worker consumes every queue the settings declare
    # (config/celery_queues.py), isolated by the Redis database number.
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=INFO",
        "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", node_name,
    ]  # fmt: skip
    if queues is not None:
        command += ["-Q", queues]
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=settings.BASE_DIR,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Its own process group, so that kill() reaches the pool processes too.
            start_new_session=True,
        )
    started = Worker(
        process=process,
        node_name=node_name,
        log_path=log_path,
        mail_dir=mail_dir,
        env=child_env,
        redis_url=redis_url,
    )
    started.launched_at = time.monotonic()
    return started
