"""The nightly care-gap run through a real `caregaps` worker (`-Q caregaps`, two
processes, as docker-compose.yml runs it), a real Redis and PostgreSQL: the nightly
task, sent to its queue as beat sends it, queues a batch task per 1,000 patients due on
`caregaps`, where the worker's processes take them; each batch's stored population
measures' refresh waits on `reports`, for the reports worker this one is not."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import redis
from django.db.models import Count
from django.utils import timezone

from navigator.models import NavigationCase
from patients.models import Patient
from tests import factories
from tests.support.celery_worker import wait_for

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NIGHTLY = "patients.tasks.refresh_care_gaps"
BATCH = "patients.tasks.refresh_care_gaps_batch"
POPULATIONS = "patients.tasks.refresh_measure_populations_for"
PATIENTS = 2001


def test_the_nightly_run_fans_out_over_a_caregaps_worker_and_opens_each_case_once(
    start_worker, celery_client, worker_redis_url
):
    # Given 2,001 men of 60, due for colorectal screening only, and two navigators alike
    navigators = [factories.NavigatorFactory(), factories.NavigatorFactory()]
    clinic = factories.ClinicFactory()
    born = timezone.localdate() - dt.timedelta(days=365 * 60)
    Patient.objects.bulk_create(
        factories.PatientFactory.build_batch(PATIENTS, clinic=clinic, sex="male", birth_date=born)
    )
    # And a worker on the caregaps queue only, two processes
    worker = start_worker(pool="prefork", concurrency=2, queues="caregaps")

    # When the nightly task is sent to its queue, as beat sends it
    nightly = celery_client.send_task(NIGHTLY, queue="caregaps")

    # Then it queued ceil(2,001 / 1,000) = 3 batches, and the worker ran them all
    wait_for(
        lambda: len(worker.results(BATCH)) == 3, "three batches done", worker.describe, timeout=120
    )
    assert worker.succeeded(nightly.id) == "{'patients': 2001, 'batches': 3}", worker.describe()
    batches = [eval_dict(text) for text in worker.results(BATCH)]
    assert sorted(b["patients"] for b in batches) == [1, 1000, 1000]
    assert sum(b["cases_opened"] for b in batches) == PATIENTS
    # And every patient has exactly one case, the navigators' loads even
    cases = NavigationCase.objects.all()
    assert cases.count() == PATIENTS
    assert cases.values("patient_id").distinct().count() == PATIENTS
    loads = sorted(cases.values("navigator_id").annotate(n=Count("pk")).values_list("n", flat=True))
    assert loads == [1000, 1001]
    assert {n.pk for n in navigators} == set(cases.values_list("navigator_id", flat=True))
    # And each batch's populations refresh waits on `reports`, for its own workers
    with redis.Redis.from_url(worker_redis_url) as client:
        waiting = [json.loads(raw)["headers"]["task"] for raw in client.lrange("reports", 0, -1)]
    assert waiting == [POPULATIONS] * 3
    assert worker.received(POPULATIONS) == 0


def eval_dict(text: str) -> dict[str, int]:
    """A task's result as the worker's log prints it: {'patients': 1000, ...}."""
    return {key: int(value) for key, value in re.findall(r"'(\w+)': (\d+)", text)}
