"""Reads for patients and referrals. Each model has one scoping function."""

from __future__ import annotations

from django.db.models import QuerySet

from navigator.models import User
from patients.models import Patient, Referral, ScreeningProgram


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """Managers and admins: every patient. Navigators: those they have a case for.
    Clinic staff: their own clinic's patients. Anyone else: none."""
    patients = Patient.objects.all()
    if not user.is_authenticated:
        return patients.none()
    if user.sees_all_cases:
        return patients
    if user.is_navigator:
        return patients.filter(navigation_cases__navigator__user=user).distinct()
    if user.is_clinic_staff and user.clinic_id is not None:
        return patients.filter(clinic_id=user.clinic_id)
    return patients.none()


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    referrals = Referral.objects.all()
    if not user.is_authenticated:
        return referrals.none()
    if user.sees_all_cases:
        return referrals
    if user.is_clinic_staff and user.clinic_id is not None:
        return referrals.filter(clinic_id=user.clinic_id)
    if user.is_navigator:
        return referrals.filter(case__navigator__user=user)
    return referrals.none()


def referral_list(*, user: User) -> QuerySet[Referral]:
    return referrals_visible_to(user).select_related("clinic", "patient", "program", "case")


def programs_active() -> QuerySet[ScreeningProgram]:
    return ScreeningProgram.objects.filter(active=True).prefetch_related("modalities")
