"""The Celery application. Its configuration lives in settings (CELERY_*).

A task sent through config.enqueue during a request carries the request's id in a
message header; the worker makes it current while the task runs, so the task's log
lines carry it too (config.request_id, config.log_format).
"""

import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

from config.request_id import set_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

REQUEST_ID_HEADER = "equinav_request_id"

app = Celery("equinav")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_request_id(task: Task) -> str:
    """The request id a task was sent with: a message header, which Celery puts on the
    task's request (a worker) or in its `headers` (eager, in tests)."""
    request = task.request
    value = getattr(request, REQUEST_ID_HEADER, None) or (request.headers or {}).get(
        REQUEST_ID_HEADER
    )
    return value if isinstance(value, str) else ""


@task_prerun.connect(dispatch_uid="equinav-task-request-id")
def _task_started(task: Task | None = None, **kwargs: Any) -> None:
    if task is not None:
        request_id = task_request_id(task)
        if request_id:
            set_request_id(request_id)


@task_postrun.connect(dispatch_uid="equinav-task-request-id-clear")
def _task_finished(**kwargs: Any) -> None:
    # Not in eager mode's request: a task run inline must leave the request's id alone.
    task = kwargs.get("task")
    if task is not None and not task.request.is_eager:
        set_request_id("")
