"""Two beat processes (or two workers) running the rules at the same moment, on
PostgreSQL: the unique keys per rule, subject and slot mean no task and no message
is made twice, whoever wins each race."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone

from outreach.messaging.patient_reminders import recall_messages_schedule
from outreach.models import CaseTask, PatientMessage
from outreach.services.navigator_tasks import case_tasks_scan
from patients.models import CareGap, CareGapStatus
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def run_together(at_once):
    def run(job: Callable[[], object], times: int = 3) -> list[BaseException]:
        """Run `job` in `times` threads released at once; the exceptions they raised."""
        outcomes = at_once([job] * times, timeout=60)
        return [outcome.error for outcome in outcomes if outcome.error is not None]

    return run


def test_three_task_scans_at_once_open_each_task_once(require_postgres, run_together):
    # Given 15 appointments tomorrow with no prep call, and 10 no-shows today
    now = timezone.now()
    for _ in range(15):
        factories.AppointmentFactory(scheduled_at=now + dt.timedelta(days=1))
    for _ in range(10):
        factories.AppointmentFactory(scheduled_at=now - dt.timedelta(hours=1), status="no_show")

    # When three scans run at the same moment
    errors = run_together(case_tasks_scan)

    # Then none failed, and every task exists once
    assert errors == []
    assert CaseTask.objects.filter(kind="prep_call").count() == 15
    assert CaseTask.objects.filter(kind="no_show").count() == 10


def test_three_recall_runs_at_once_write_to_each_patient_once(require_postgres, run_together):
    today = timezone.localdate()
    for number in range(12):
        patient = factories.PatientFactory(sms_consent=True, phone=f"+1617555{4000 + number}")
        CareGap.objects.create(
            patient=patient,
            program=factories.program(),
            status=CareGapStatus.UP_TO_DATE,
            as_of=today,
            summary="Up to date",
            next_due_on=today + dt.timedelta(days=10),
            rule_version=1,
        )

    errors = run_together(lambda: recall_messages_schedule(today=today))

    assert errors == []
    assert PatientMessage.objects.filter(kind="recall").count() == 12
