"""Reads for patients and referrals. Each model has one scoping function."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from navigator.models import User
from patients.builtin_codes import normalise_system
from patients.models import (
    CareGap,
    CodeConcept,
    ConceptCode,
    Patient,
    PatientSourceLink,
    Referral,
    ScreeningProgram,
    ValueSetCode,
)


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


# --- Codes ---------------------------------------------------------------------------


def concept_codes(keys: Iterable[str] | None = None) -> dict[str, frozenset[tuple[str, str]]]:
    """Each concept's codes: its loaded official value sets, else its starter codes.

    Three queries whatever the number of concepts.
    """
    concepts = CodeConcept.objects.all()
    if keys is not None:
        concepts = concepts.filter(key__in=list(keys))
    urls_by_concept = {
        key: list(urls or []) for key, urls in concepts.values_list("key", "value_set_urls")
    }
    all_urls = {url for urls in urls_by_concept.values() for url in urls}
    loaded: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for url, system, code in ValueSetCode.objects.filter(value_set__url__in=all_urls).values_list(
        "value_set__url", "system", "code"
    ):
        loaded[url].add((normalise_system(system), code))
    starter: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for key, system, code in ConceptCode.objects.filter(
        concept__key__in=list(urls_by_concept)
    ).values_list("concept__key", "system", "code"):
        starter[key].add((normalise_system(system), code))
    answer: dict[str, frozenset[tuple[str, str]]] = {}
    for key, urls in urls_by_concept.items():
        official = [loaded[url] for url in urls if url in loaded]
        answer[key] = frozenset().union(*official) if official else frozenset(starter[key])
    return answer


# --- Care gaps --------------------------------------------------------------------------


def care_gaps_for(patient: Patient) -> QuerySet[CareGap]:
    return (
        CareGap.objects.filter(patient=patient)
        .select_related("program", "last_modality")
        .order_by("program__name")
    )


def feed_ids_for(patient: Patient) -> QuerySet[PatientSourceLink]:
    return PatientSourceLink.objects.filter(patient=patient).select_related("source")
