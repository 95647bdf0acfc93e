"""The embedded default's Celery broker (kombu's SQLAlchemy transport on a SQLite file)
with a real worker and a real beat running together: every message runs exactly once.

A worker (solo pool, as Procfile.dev starts it) and beat (publishing every half second)
run as processes on the embedded default's settings, in a temporary folder, while three
publishers send 60 messages each, as web requests do; half way through, the worker is
stopped warmly and started again (honcho's restart loop, or Ctrl-C and `make run`). Each
message the task runs appends its label and task id to a file. The filesystem broker this
replaces let the worker read a half-written message and die (JSONDecodeError).
(60 messages a publisher, down from 150 to keep the suite short: the publishers, beat
and the worker still overlap throughout, and the restart still falls mid-stream.)

Not covered, by design: a worker killed outright loses the one task it was running
(config/settings.py says why, and which sweeps make up for it).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.embedded import start_python
from tests.support.embedded_tasks import PROCESSED_FILE

pytestmark = pytest.mark.celery_worker

PUBLISHERS = 3
MESSAGES = 60
SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.support.embedded_settings"}
WORKER = [
    "-m",
    "celery",
    "-A",
    "config",
    "worker",
    "--pool=solo",
    "--concurrency=1",
    "--loglevel=INFO",
]
BEAT = ["-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]


def processed(folder: Path) -> list[tuple[str, str]]:
    path = folder / "run" / PROCESSED_FILE
    lines = path.read_text().splitlines() if path.exists() else []
    return [tuple(line.split(" ", 1)) for line in lines]  # type: ignore[misc]


def beat_sent(folder: Path) -> int:
    log = (folder / "beat.log").read_text()
    return len(re.findall(r"Sending due task tick ", log))


def stop(process: subprocess.Popen) -> None:
    """A warm stop (SIGTERM, as honcho and Ctrl-C send), then whatever is left, killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_until(condition, what: str, folder: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    logs = "\n".join(
        f"--- {path.name} ---\n{path.read_text()[-3000:]}" for path in sorted(folder.glob("*.log"))
    )
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def test_worker_and_beat_on_the_embedded_broker_run_every_message_exactly_once(tmp_path):
    started: list[subprocess.Popen] = []

    def start(*args: str, log: str) -> subprocess.Popen:
        process = start_python(tmp_path, *args, log=tmp_path / log, **SETTINGS)
        started.append(process)
        return process

    try:
        # Given a worker and beat on the embedded broker
        worker = start(*WORKER, log="worker-1.log")
        beat = start(*BEAT, log="beat.log")
        wait_until(lambda: processed(tmp_path), "the worker to run beat's first tick", tmp_path)

        # When three publishers send their messages while beat publishes its own
        publishers = [
            start("-m", "tests.support.embedded_publisher", f"p{n}", str(MESSAGES), log=f"p{n}.log")
            for n in range(PUBLISHERS)
        ]
        # And the worker is stopped warmly half way through, and started again
        wait_until(
            lambda: len(processed(tmp_path)) > PUBLISHERS * MESSAGES // 2,
            "half the messages to run",
            tmp_path,
        )
        stop(worker)
        worker = start(*WORKER, log="worker-2.log")
        for publisher in publishers:
            assert publisher.wait(timeout=120) == 0
        stop(beat)
        ticks = beat_sent(tmp_path)

        # Then every message runs, once: each publisher's, and each of beat's ticks
        expected = PUBLISHERS * MESSAGES + ticks
        wait_until(lambda: len(processed(tmp_path)) >= expected, "every message to run", tmp_path)
        time.sleep(2)  # a duplicate delivered late would show now
        stop(worker)
        runs = processed(tmp_path)
        labels = Counter(label for label, _ in runs)
        sent = {f"p{p}-{n}" for p in range(PUBLISHERS) for n in range(MESSAGES)}
        assert {label for label in labels if label != "tick"} == sent
        assert [label for label, count in labels.items() if label != "tick" and count != 1] == []
        assert labels["tick"] == ticks
        assert ticks >= 5
        # And no task id ran twice
        assert len({task_id for _, task_id in runs}) == len(runs)
        # And neither the worker nor beat logged an error
        for log in ("worker-1.log", "worker-2.log", "beat.log"):
            text = (tmp_path / log).read_text()
            assert "ERROR" not in text and "Traceback" not in text, text[-3000:]
    finally:
        for process in reversed(started):
            stop(process)
