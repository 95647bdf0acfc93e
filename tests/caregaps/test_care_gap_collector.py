"""A care-gap recompute pauses Python's cyclic garbage collector while it evaluates and
stores a batch (config/collector.py), and turns it back on after: stored, failed or not."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from patients.models import CareGap
from patients.services import care_gaps
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 1)


def test_the_collector_is_off_while_a_batch_is_evaluated_and_on_after(monkeypatch):
    # Given a patient, and the engine watched for whether the collector is on
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    seen: list[bool] = []
    real = care_gaps.evaluate_prepared

    def watched(**kwargs):
        seen.append(gc.isenabled())
        return real(**kwargs)

    monkeypatch.setattr(care_gaps, "evaluate_prepared", watched)
    assert gc.isenabled()

    # When their gaps are recomputed
    changes = care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=AS_OF)

    # Then every program was evaluated with the collector off, and it is on again
    assert seen and not any(seen)
    assert gc.isenabled()
    assert CareGap.objects.filter(patient=patient).count() == len(changes) == len(seen)


def test_the_collector_is_back_on_after_a_recompute_that_fails(monkeypatch):
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(care_gaps, "evaluate_prepared", broken)

    with pytest.raises(RuntimeError):
        care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=AS_OF)

    assert gc.isenabled()


def test_a_collector_already_off_is_left_off():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    gc.disable()
    try:
        care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=AS_OF)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert CareGap.objects.filter(patient=patient).exists()
