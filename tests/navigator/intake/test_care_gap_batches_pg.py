"""Two batches of the nightly care-gap run at the same moment on PostgreSQL, as two
`caregaps` worker processes run them: different patients, every one needing a case.
Each batch locks its own patients, then the navigators in pk order (`cases_open_many`),
so the second waits for the first to commit rather than deadlocking with it, and then
counts the first's cases in the navigators' loads."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import partial

import pytest
from django.db.models import Count
from django.utils import timezone

# As in a worker, which imports every tasks module when it starts: the batch queues
# its populations refresh by name (config.enqueue), from both threads at once.
import patients.tasks  # noqa: F401
from navigator.intake.care_gaps import care_gaps_refresh_batch
from navigator.models import CaseEventKind, NavigationCase
from patients.models import CareGap
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PER_BATCH = 25


def test_two_batches_at_once_open_every_case_once_with_every_load_counted(
    require_postgres, at_once
):
    # Given two navigators alike and two batches of 25 men of 60 (one clinic), each due
    # for colorectal screening only and with no case: 25 cases a batch, an odd number
    first, second = factories.NavigatorFactory(), factories.NavigatorFactory()
    clinic = factories.ClinicFactory()
    born = timezone.localdate() - dt.timedelta(days=365 * 60)
    ids = [
        factories.PatientFactory(clinic=clinic, sex="male", birth_date=born).pk
        for _ in range(2 * PER_BATCH)
    ]
    batches = [ids[:PER_BATCH], ids[PER_BATCH:]]
    today = timezone.localdate()

    # When two workers refresh one batch each at the same moment
    outcomes = at_once(
        [partial(care_gaps_refresh_batch, patient_ids=batch, as_of=today) for batch in batches],
        timeout=60,
    )

    # Then both finished (no deadlock, no duplicate), each opening its batch's cases
    results = [outcome.result() for outcome in outcomes]
    assert [(r.patients, r.cases_opened, r.cases_closed) for r in results] == [
        (PER_BATCH, PER_BATCH, 0),
        (PER_BATCH, PER_BATCH, 0),
    ]
    assert CareGap.objects.filter(patient_id__in=ids, program__code="colorectal").count() == 50
    # And every case was opened exactly once: one case per patient, one OPENED event each
    cases = NavigationCase.objects.filter(patient_id__in=ids)
    assert sorted(cases.values_list("patient_id", flat=True)) == sorted(ids)
    assert set(cases.values_list("program__code", flat=True)) == {"colorectal"}
    opened = Counter(cases.filter(events__kind=CaseEventKind.OPENED).values_list("pk", flat=True))
    assert sorted(opened.values()) == [1] * 50
    # And the batch that went second counted the first's cases: 25 and 25. Had both read
    # the loads before either committed, each would have given 13 to one navigator and
    # 12 to the other, the same one both times: 26 and 24.
    loads = dict(
        cases.values("navigator_id").annotate(n=Count("pk")).values_list("navigator_id", "n")
    )
    assert loads == {first.pk: PER_BATCH, second.pk: PER_BATCH}
