"""Publishes COUNT messages of the embedded test task, as a web process does, through the
embedded default's broker: `python -m tests.support.embedded_publisher NAME COUNT`.
Prints how many it sent."""

from __future__ import annotations

import sys
import time

import django


def main(name: str, count: int) -> None:
    django.setup()
    from config.celery import app

    for number in range(count):
        app.send_task("tests.support.embedded_tasks.record", args=[f"{name}-{number}"])
        # Spread over a few seconds, so that beat's and the others' publishes interleave.
        time.sleep(0.02)
    print(f"sent {count}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
