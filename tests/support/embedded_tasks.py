"""A task for the embedded broker's test: it appends what it ran to a file in RUN_DIR, one
line a message (its label and its task id), so the test counts every run of every message."""

from __future__ import annotations

import os

from celery import shared_task
from django.conf import settings

PROCESSED_FILE = "processed.txt"


@shared_task(bind=True)
def record(self, label: str) -> str:
    line = f"{label} {self.request.id}\n".encode()
    # One write with O_APPEND: a whole line or nothing, whoever else appends.
    descriptor = os.open(settings.RUN_DIR / PROCESSED_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return label
