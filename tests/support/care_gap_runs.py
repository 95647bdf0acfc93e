"""The nightly care-gap run as beat starts it, its batch tasks included: the nightly
task hands each batch to `patients.tasks.refresh_care_gaps_batch` once it commits, and
the test settings run that task at once, in this process (CELERY_TASK_ALWAYS_EAGER)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from patients import tasks


@dataclass
class NightlyRun:
    """What the nightly task answered, what each batch task was sent (its patient ids
    and day, in order) and answered."""

    nightly: dict[str, int]
    sent: list[tuple[list[int], str]] = field(default_factory=list)
    batches: list[dict[str, int]] = field(default_factory=list)
    # What each publication asked of Celery beyond its arguments (a queue, say).
    options: list[dict[str, Any]] = field(default_factory=list)

    def total(self, key: str) -> int:
        """A count summed over the batches ("patients", "cases_opened", "cases_closed")."""
        return sum(batch[key] for batch in self.batches)


def nightly_care_gaps_run(
    capture_on_commit: Callable[..., AbstractContextManager[Any]],
) -> NightlyRun:
    """Run the nightly task and, once it commits, its batch tasks; `capture_on_commit`:
    pytest-django's `django_capture_on_commit_callbacks` (a test's transaction never
    commits, so its on-commit work is run by hand)."""
    task = tasks.refresh_care_gaps_batch
    original = task.apply_async
    run = NightlyRun(nightly={})

    def publish(args: tuple[Any, ...], *more: Any, **options: Any) -> Any:
        outcome = original(args, *more, **options)
        run.sent.append((list(args[0]), args[1]))
        # Eager: the batch has run; its answer, without Celery's guard against waiting
        # inside a task (set for the whole process once a test has started a worker).
        run.batches.append(outcome.get(disable_sync_subtasks=False))
        run.options.append({k: v for k, v in options.items() if k not in {"headers", "producer"}})
        return outcome

    with (
        mock.patch.object(task, "apply_async", side_effect=publish),
        capture_on_commit(execute=True),
    ):
        run.nightly = tasks.refresh_care_gaps()
    return run
