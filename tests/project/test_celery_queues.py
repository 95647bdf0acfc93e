"""Every task goes to a known queue by an explicit route (config/celery_queues.py), and
every beat entry names a task that exists and is routed: past one machine a task
without a route would land on a queue whose workers were not sized for it, and one
routed to a queue nobody consumes would wait for ever."""

from __future__ import annotations

import pytest
from django.conf import settings

from config import celery_queues
from config.celery import app

# Tasks the suite itself registers (tests/project/test_request_id.py) are not the app's.
NOT_THE_APPS = ("celery.", "tests.")


def registered_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith(NOT_THE_APPS))


def celery_queue_of(name: str) -> str:
    """The queue Celery itself would publish `name` to (its router, as a sender uses it)."""
    return app.amqp.router.route({}, name)["queue"].name


def test_the_app_registers_the_tasks_it_is_known_to_have():
    # The list below is read from the app: an empty one would prove nothing.
    names = registered_tasks()
    assert "outreach.tasks.send_patient_message" in names
    assert "patients.tasks.refresh_care_gaps" in names


@pytest.mark.parametrize("name", registered_tasks())
def test_every_registered_task_has_an_explicit_route_to_a_known_queue(name):
    queue = celery_queues.queue_for(name)
    assert queue is not None, (
        f"{name} has no route: add it to config/celery_queues.py TASK_QUEUES "
        f"(one of {', '.join(celery_queues.QUEUE_NAMES)})"
    )
    assert queue in celery_queues.QUEUE_NAMES
    # And Celery's own router, built from the settings, agrees.
    assert celery_queue_of(name) == queue


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_entry_names_a_registered_and_routed_task(entry):
    name = settings.CELERY_BEAT_SCHEDULE[entry]["task"]
    assert name in registered_tasks(), f"beat entry {entry} names no task: {name}"
    assert celery_queues.queue_for(name) in celery_queues.QUEUE_NAMES


def test_each_kind_of_work_goes_to_its_own_queue():
    expected = {
        "outreach.tasks.send_patient_message": "messaging",
        "outreach.tasks.sweep_patient_messages": "messaging",
        "outreach.tasks.send_follow_up_reminder_email": "messaging",
        "patients.tasks.refresh_care_gaps": "caregaps",
        "patients.tasks.refresh_care_gaps_batch": "caregaps",
        "patients.tasks.refresh_care_gaps_for": "caregaps",
        "patients.tasks.send_referral_digests": "reports",
        "patients.tasks.refresh_measure_populations": "reports",
        "navigator.audit.tasks.purge_expired_audit": "celery",
    }
    assert {name: celery_queues.queue_for(name) for name in expected} == expected


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        # Names other helpers' import tasks may take land on the imports queue...
        ("patients.tasks.referral_import_run", "imports"),
        ("patients.tasks.import_referral_batch", "imports"),
        ("patients.tasks.fhir_bulk_import_run", "imports"),
        # ...but the care gaps recomputed after one go with the other care-gap work.
        ("patients.tasks.fhir_bulk_import_care_gaps", "caregaps"),
        ("patients.tasks.recompute_care_gaps_batch", "caregaps"),
        ("navigator.tasks.build_equity_report", "reports"),
    ],
)
def test_a_task_added_later_is_routed_by_what_its_name_says(name, queue):
    assert celery_queues.queue_for(name) == queue
    assert celery_queue_of(name) == queue


def test_a_name_no_route_covers_is_reported_as_unrouted():
    assert celery_queues.queue_for("patients.tasks.something_new") is None


def test_a_worker_started_without_q_consumes_every_queue():
    # `make run` and the tests' workers start one worker for everything.
    assert {queue.name for queue in app.conf.task_queues} == set(celery_queues.QUEUE_NAMES)
    assert app.conf.task_default_queue == "celery"
