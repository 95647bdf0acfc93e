"""Hand work to Celery once the current transaction commits, by task name.

Services sit below the Celery task modules (a task takes ids and calls one
service), so a service never imports a task: it names it. The task runs only
if the transaction that asked for it commits, so a worker never sees a row
that was rolled back, and a rolled-back request enqueues nothing. A task sent
while a request is handled carries its id (config.request_id) into the worker's logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

from config.celery import REQUEST_ID_HEADER, app
from config.request_id import current_request_id


def task_named(name: str) -> Task:
    """The registered task called `name`.

    A worker imports every app's `tasks` module when it starts; a web process
    has not, so the first lookup there asks Celery's own autodiscovery to.
    """
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue_now(name: str, *args: Any) -> None:
    """Send task `name` now, carrying the current request's id (its log lines share it)."""
    request_id = current_request_id()
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    task_named(name).apply_async(args, headers=headers)


def enqueue_many_now(name: str, calls: Sequence[tuple[Any, ...]]) -> None:
    """Send task `name` once per args tuple in `calls`, now, over one producer.

    One broker connection taken from the pool for them all, rather than one
    acquired and released per message: the sweep hands out thousands a minute.
    """
    if not calls:
        return
    task = task_named(name)
    request_id = current_request_id()
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    with app.producer_or_acquire() as producer:
        for args in calls:
            task.apply_async(args, headers=headers, producer=producer)


def enqueue_many_on_commit(name: str, calls: Sequence[tuple[Any, ...]]) -> None:
    """`enqueue_many_now` when the transaction commits (at once outside one)."""
    transaction.on_commit(partial(enqueue_many_now, name, list(calls)))


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Send task `name` with `args` when the transaction commits (at once outside one)."""
    transaction.on_commit(partial(enqueue_now, name, *args))
