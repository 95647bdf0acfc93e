"""Whose figures each role counts on the disparities dashboard."""

from __future__ import annotations

import pytest

from navigator.equity.scope import ALL_DIMENSIONS, equity_scope
from navigator.models import NavigationCase
from patients.models import Patient
from tests.factories import (
    AdminFactory,
    CaseFactory,
    ClinicFactory,
    ClinicStaffFactory,
    CoverageFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_clinics():
    """Clinic A and B, each with a patient and a case; navigator 1 has A's case,
    navigator 2 has B's case and covers for navigator 1."""
    clinic_a, clinic_b = ClinicFactory(), ClinicFactory()
    nav_1, nav_2 = NavigatorFactory(), NavigatorFactory()
    case_a = CaseFactory(patient=PatientFactory(clinic=clinic_a), navigator=nav_1)
    case_b = CaseFactory(patient=PatientFactory(clinic=clinic_b), navigator=nav_2)
    CoverageFactory(absent=nav_1, covering=nav_2)
    unnavigated = PatientFactory(clinic=clinic_a)
    return clinic_a, clinic_b, nav_1, nav_2, case_a, case_b, unnavigated


def _patients(scope):
    return set(Patient.objects.filter(scope.patient_q()).values_list("pk", flat=True))


def _cases(scope):
    return set(NavigationCase.objects.filter(scope.cases_q).values_list("pk", flat=True))


def test_a_manager_and_an_admin_count_every_patient_and_case_by_every_dimension(two_clinics):
    *_, case_a, case_b, unnavigated = two_clinics
    for user in (ManagerFactory(), AdminFactory()):
        scope = equity_scope(user)
        assert _patients(scope) == {case_a.patient_id, case_b.patient_id, unnavigated.pk}
        assert _cases(scope) == {case_a.pk, case_b.pk}
        assert scope.dimensions == ALL_DIMENSIONS


def test_clinic_staff_count_only_their_own_clinics_patients_and_never_by_navigator(two_clinics):
    clinic_a, _, _, _, case_a, _, unnavigated = two_clinics
    scope = equity_scope(ClinicStaffFactory(clinic=clinic_a))
    assert _patients(scope) == {case_a.patient_id, unnavigated.pk}
    assert _cases(scope) == {case_a.pk}
    assert not scope.allows("navigator")
    assert scope.allows("race")


def test_a_navigator_counts_their_own_caseload_not_the_one_they_cover(two_clinics):
    # Given navigator 2 covers navigator 1's caseload this week
    _, _, _, nav_2, _, case_b, _ = two_clinics
    # When navigator 2 opens the dashboard
    scope = equity_scope(nav_2.user)
    # Then only their own case and its patient count: covering is work, not ownership
    assert _cases(scope) == {case_b.pk}
    assert _patients(scope) == {case_b.patient_id}
    assert not scope.allows("navigator")
    assert not scope.allows("clinic")


def test_the_patient_filter_works_through_a_prefix(two_clinics):
    clinic_a, _, _, _, case_a, _, _ = two_clinics
    scope = equity_scope(ClinicStaffFactory(clinic=clinic_a))
    assert set(
        NavigationCase.objects.filter(scope.patient_q("patient__")).values_list("pk", flat=True)
    ) == {case_a.pk}


def test_an_inactive_user_sees_nothing(two_clinics):
    user = ManagerFactory(is_active=False)
    scope = equity_scope(user)
    assert scope.sees_nothing
    assert _patients(scope) == set()
    assert _cases(scope) == set()


def test_a_user_without_a_role_that_sees_figures_sees_nothing(two_clinics):
    user = UserFactory(role="clinic_staff", clinic=ClinicFactory())
    user.clinic = None  # not saved: the constraint forbids it; a half-made user object
    scope = equity_scope(user)
    assert scope.sees_nothing
