"""Merging two records of one patient moves their coaching with their cases
(navigator/intake/patient_merge.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from navigator.intake.patient_merge import patient_merge
from navigator.models import CoachingSession, GroupAttendance, GroupEnrolment
from tests import factories
from tests.navigator.test_patient_merge import carlos_twice

pytestmark = pytest.mark.django_db


def test_the_duplicates_sessions_and_roster_places_move_to_the_record_kept(clinic, manager):
    # Given a duplicate record with a coaching session and a class attended
    kept, duplicate = carlos_twice(clinic)
    session = factories.CoachingSessionFactory(case__patient=duplicate)
    enrolment = factories.GroupEnrolmentFactory(case=session.case)
    class_session = factories.GroupSessionFactory(series=enrolment.series)
    GroupAttendance.objects.create(
        session=class_session, enrolment=enrolment, patient=duplicate, status="attended",
        minutes=90, recorded_by=manager,
    )  # fmt: skip

    # When the records are merged
    merge = patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)

    # Then the coaching rows name the record kept, as their case does
    assert CoachingSession.objects.get().patient == kept
    assert GroupEnrolment.objects.get().patient == kept
    assert GroupAttendance.objects.get().patient == kept
    assert (merge.moved["coaching_sessions"], merge.moved["group_enrolments"]) == (1, 1)


def test_both_records_on_one_roster_are_refused_until_a_person_settles_it(clinic, manager):
    kept, duplicate = carlos_twice(clinic)
    series = factories.GroupSeriesFactory(name="Vivir bien")
    factories.GroupEnrolmentFactory(series=series, case__patient=kept, case__status="closed")
    factories.GroupEnrolmentFactory(series=series, case__patient=duplicate)

    with pytest.raises(ValidationError) as refused:
        patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)

    assert "roster of Vivir bien" in refused.value.message_dict["duplicate"][0]
    assert GroupEnrolment.objects.filter(patient=duplicate).count() == 1
